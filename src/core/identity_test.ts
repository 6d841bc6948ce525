import { deepEqual, equal } from "assert";
import {
  type AppliedIdentity,
  crunRules,
  execIdentity,
  type ExecInput,
  keptGidFlags,
  type RuntimeRules,
} from "./identity.ts";

const RUNC: RuntimeRules = { flavour: "runc" };
const CRUN_1_8 = crunRules("crun version 1.8.1\n")!;
const CRUN_1_17 = crunRules("crun version 1.17\n")!;
const CRUN_1_21 = crunRules("crun version 1.21\n")!;

const CREATE = { uid: 1000, gid: 1000, additionalGids: [1000, 60000] };
const FILE_USER = { uid: 1000, gid: 1000, additionalGids: [1000, 50000, 60000] };

/** One row per case: rules, the exec's words, and the identity that runs. */
const ROWS: [string, RuntimeRules, Partial<ExecInput>, AppliedIdentity][] = [
  [
    "runc: a process file's user is used as is and rewritten in the file",
    RUNC,
    { processFile: { user: FILE_USER }, userFlag: { uid: 7 }, gidFlags: [5] },
    { user: FILE_USER, from: "process file", fixedGids: 0, rewrite: "spec-file" },
  ],
  [
    "runc: a process file without user runs as uid 0, gid 0, no groups",
    RUNC,
    { processFile: { user: undefined } },
    {
      user: { uid: 0, gid: 0, additionalGids: [] },
      from: "runtime default",
      fixedGids: 0,
      rewrite: "none",
    },
  ],
  [
    "runc: no process file re-reads config.json",
    RUNC,
    {},
    { user: CREATE, from: "create-time spec", fixedGids: 2, rewrite: "gid-flags" },
  ],
  [
    "runc: -u uid keeps config.json's gid",
    RUNC,
    { userFlag: { uid: 2000 } },
    {
      user: { uid: 2000, gid: 1000, additionalGids: [1000, 60000] },
      from: "create-time spec",
      fixedGids: 2,
      rewrite: "gid-flags",
    },
  ],
  [
    "runc: -u uid:gid and -g append to config.json's list",
    RUNC,
    { userFlag: { uid: 2000, gid: 3000 }, gidFlags: [3000, 50000] },
    {
      user: { uid: 2000, gid: 3000, additionalGids: [1000, 60000, 3000, 50000] },
      from: "create-time spec",
      fixedGids: 2,
      rewrite: "gid-flags",
    },
  ],
  [
    "crun: a process file's user is used as is",
    CRUN_1_8,
    { processFile: { user: FILE_USER }, userFlag: { uid: 7 } },
    { user: FILE_USER, from: "process file", fixedGids: 0, rewrite: "spec-file" },
  ],
  [
    "crun 1.8: a process file without user runs as root with no groups",
    CRUN_1_8,
    { processFile: { user: undefined } },
    {
      user: { uid: 0, gid: 0, additionalGids: [] },
      from: "runtime default",
      fixedGids: 0,
      rewrite: "none",
    },
  ],
  [
    "crun 1.17: a process file without user inherits the create-time user, groups included",
    CRUN_1_17,
    { processFile: { user: undefined } },
    { user: CREATE, from: "create-time spec", fixedGids: 2, rewrite: "none" },
  ],
  [
    "crun 1.8: no process file and no -u runs as root",
    CRUN_1_8,
    {},
    {
      user: { uid: 0, gid: 0, additionalGids: [] },
      from: "runtime default",
      fixedGids: 0,
      rewrite: "none",
    },
  ],
  [
    "crun 1.17: no process file and no -u inherits the create-time user",
    CRUN_1_17,
    {},
    { user: CREATE, from: "create-time spec", fixedGids: 2, rewrite: "none" },
  ],
  [
    "crun: -u uid sets gid 0 and no groups",
    CRUN_1_17,
    { userFlag: { uid: 1000 } },
    {
      user: { uid: 1000, gid: 0, additionalGids: [] },
      from: "runtime default",
      fixedGids: 0,
      rewrite: "none",
    },
  ],
  [
    "crun: -u uid:gid sets both and no groups",
    CRUN_1_8,
    { userFlag: { uid: 1000, gid: 3000 } },
    {
      user: { uid: 1000, gid: 3000, additionalGids: [] },
      from: "runtime default",
      fixedGids: 0,
      rewrite: "none",
    },
  ],
  [
    "crun 1.19 to 1.26: -u uid without gid runs as root (CVE-2026-30892)",
    CRUN_1_21,
    { userFlag: { uid: 1000 } },
    {
      user: { uid: 0, gid: 0, additionalGids: [] },
      from: "runtime default",
      fixedGids: 0,
      rewrite: "none",
    },
  ],
];

for (const [name, rules, words, expected] of ROWS) {
  Deno.test(`execIdentity(): ${name}`, () => {
    deepEqual(execIdentity(rules, { createUser: CREATE, gidFlags: [], ...words }), expected);
  });
}

Deno.test("crunRules() tells the inheritance and the -u bug apart by version", () => {
  const table: [string, boolean, boolean][] = [
    ["crun version 1.8.1", false, false],
    ["crun version 1.16", false, false],
    ["crun version 1.16.1", true, false],
    ["crun version 1.19", true, true],
    ["crun version 1.26.3", true, true],
    ["crun version 1.27", true, false],
    ["crun version 2.0", true, false],
  ];
  for (const [text, inherits, bareUidIsRoot] of table) {
    const rules = crunRules(`${text}\ncommit: abc\n`);
    deepEqual(
      rules?.flavour === "crun" && [rules.inheritsUser, rules.bareUidIsRoot],
      [inherits, bareUidIsRoot],
      text,
    );
  }
  equal(crunRules("runc version 1.1.5\n"), undefined);
});

Deno.test("keptGidFlags() keeps a -g once, and only when the Pod entitles it", () => {
  deepEqual(keptGidFlags([], [5, 5, 6], new Set([5])), [true, false, false]);
  deepEqual(keptGidFlags([5], [5], new Set([5])), [false]);
});
