/**
 * fast-check generators for the property tests: OCI specs written as JSON
 * text (big integers, odd number spellings, unknown fields, hostile keys,
 * any key order and whitespace) and runc/crun command lines built from a
 * model, so that each test knows what the runtime will read from them.
 *
 * @module
 */

import fc from "fast-check";

// ---------------------------------------------------------------- JSON text

/** A JSON value as written: numbers keep their source spelling. */
export type JsonNode =
  | { readonly obj: readonly (readonly [string, JsonNode])[] }
  | { readonly arr: readonly JsonNode[] }
  | { readonly num: string }
  | { readonly str: string }
  | { readonly lit: "true" | "false" | "null" };

/** Any JSON number spelling, canonical or not, beyond 2^53 included. */
export const numberSource: fc.Arbitrary<string> = fc.oneof(
  fc.integer().map(String),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String),
  fc.constantFrom(
    "18446744073709551615",
    "9223372036854775807",
    "-9223372036854775808",
    "-0",
    "0.0",
    "1.0",
    "1e400",
    "-1e-400",
    "1E+2",
    "2.50",
    "123456789012345678901234567890",
  ),
  fc.tuple(
    fc.constantFrom("", "-"),
    fc.oneof(fc.constant("0"), fc.stringMatching(/^[1-9][0-9]{0,20}$/)),
    fc.option(fc.stringMatching(/^[0-9]{1,20}$/), { nil: undefined }),
    fc.option(
      fc.tuple(fc.constantFrom("e", "E"), fc.constantFrom("", "+", "-"), fc.nat(400)),
      { nil: undefined },
    ),
  ).map(([sign, int, frac, exp]) =>
    `${sign}${int}${frac === undefined ? "" : `.${frac}`}${exp === undefined ? "" : exp.join("")}`
  ),
);

/** Strings with any code units but NUL (which no argv or file name can carry). */
const anyText = (maxLength = 12) =>
  fc.string({ unit: "binary", maxLength }).filter((s) => !s.includes("\0"));

/** Keys that break naive object handling, plus arbitrary text. */
const hostileKey = fc.oneof(
  anyText(10),
  fc.constantFrom(
    "__proto__",
    "constructor",
    "toString",
    "rawJSON",
    "additionalGids",
    "hard",
    "",
    "\u017fomething",
  ),
);

const leaf: fc.Arbitrary<JsonNode> = fc.oneof(
  numberSource.map((num) => ({ num })),
  anyText().map((str) => ({ str })),
  fc.constantFrom("true", "false", "null").map((lit) => ({ lit } as JsonNode)),
);

/** Any JSON value, a few levels deep. */
export const jsonNode: fc.Arbitrary<JsonNode> = fc.letrec<{ value: JsonNode }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    leaf,
    fc.array(tie("value"), { maxLength: 4 }).map((arr) => ({ arr })),
    fc.array(fc.tuple(hostileKey, tie("value")), { maxLength: 4 }).map((obj) => ({ obj })),
  ),
})).value;

/** How a document is laid out. */
export interface Layout {
  /** Inserted after `{`, `[`, `,` and `:`. */
  readonly space: string;
  /** Write `/` as `\/` and some letters as `\uXXXX`. */
  readonly escapes: boolean;
}

export const layout: fc.Arbitrary<Layout> = fc.record({
  space: fc.constantFrom("", " ", "\n  ", "\t", "\r\n"),
  escapes: fc.boolean(),
});

/**
 * Writes a node as JSON text.
 *
 * @param node The node.
 * @param how Whitespace and escapes.
 * @returns The text.
 */
export function renderJson(node: JsonNode, how: Layout): string {
  const s = how.space;
  if ("num" in node) return node.num;
  if ("lit" in node) return node.lit;
  if ("str" in node) {
    if (!how.escapes) return JSON.stringify(node.str);
    // One UTF-16 unit at a time: a pair written as two escapes is still the same string.
    let text = "";
    for (let i = 0; i < node.str.length; i++) {
      const unit = node.str[i]!;
      text += unit === "/"
        ? "\\/"
        : /[aeiou]/.test(unit)
        ? `\\u${unit.charCodeAt(0).toString(16).padStart(4, "0")}`
        : JSON.stringify(unit).slice(1, -1);
    }
    return `"${text}"`;
  }
  if ("arr" in node) return `[${s}${node.arr.map((n) => renderJson(n, how)).join(`,${s}`)}]`;
  const entries = node.obj.map(([key, value]) =>
    `${renderJson({ str: key }, how)}:${s}${renderJson(value, how)}`
  );
  return `{${s}${entries.join(`,${s}`)}}`;
}

// ---------------------------------------------------------------- OCI specs

/** Folds a key the way Go's encoding/json matches field names (runc reads any such variant). */
function goFold(key: string): string {
  return key.toLowerCase().replaceAll("\u017f", "s").replaceAll("\u212a", "k");
}

const num = (n: number | bigint): JsonNode => ({ num: String(n) });
const str = (s: string): JsonNode => ({ str: s });
const arr = (items: readonly JsonNode[]): JsonNode => ({ arr: items });

/**
 * An object with fixed fields plus unknown extra fields, in any order.
 * Extras never collide with a fixed field or (Go-folded) with a name the
 * wrapper reads at that level.
 */
function objectWith(
  fixed: readonly (readonly [string, JsonNode])[],
  reserved: readonly string[],
): fc.Arbitrary<JsonNode> {
  const taken = new Set([...fixed.map(([key]) => goFold(key)), ...reserved.map(goFold)]);
  const extra = fc.array(fc.tuple(hostileKey, jsonNode), { maxLength: 3 }).map((entries) =>
    entries.filter(([key]) => !taken.has(goFold(key)))
  );
  return extra.chain((more) => {
    const all = [...fixed, ...more];
    return fc.shuffledSubarray(all, { minLength: all.length, maxLength: all.length });
  }).map((obj) => ({ obj }));
}

/** Gids from a small pool (so that Pods and specs share some) or anywhere in uint32. */
export const gid: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(0, 5, 1000, 2000, 50000, 60000, 65534, 2147483647),
  fc.integer({ min: 0, max: 4294967295 }),
);

/** Gids a Pod may declare (the API server caps them at 2^31-1). */
export const podGid: fc.Arbitrary<number> = fc.constantFrom(0, 5, 1000, 2000, 50000, 60000);

/** How a generated spec's process identity was written. */
export interface SpecCase {
  readonly text: string;
  readonly uid: number;
  readonly gid: number;
  /** `undefined` when the list is absent or `null`. */
  readonly additionalGids: readonly number[] | undefined;
}

/** containerd's annotations for a container of Pod tenant-a/app. */
export const TENANT_A_ANNOTATIONS: Readonly<Record<string, string>> = {
  "io.kubernetes.cri.container-type": "container",
  "io.kubernetes.cri.sandbox-namespace": "tenant-a",
  "io.kubernetes.cri.sandbox-name": "app",
  "io.kubernetes.cri.sandbox-uid": "0b6c5a5e-8f4e-4c2a-9d1e-000000000001",
  "io.kubernetes.cri.container-name": "main",
};

/**
 * OCI specs of either kind: a bundle's `config.json` (with containerd's
 * annotations for tenant-a/app) or an exec process file.
 *
 * @param kind Which file.
 * @param ids Where the process gid and the additional gids come from.
 * @returns The generator.
 */
export function ociSpec(kind: "config" | "process", ids = gid): fc.Arbitrary<SpecCase> {
  return fc.record({
    uid: gid,
    gid: ids,
    list: fc.oneof(
      { weight: 6, arbitrary: fc.array(ids, { maxLength: 8 }) },
      fc.constantFrom("absent", "null"),
    ),
    umask: fc.option(fc.nat(0o777), { nil: undefined }),
    how: layout,
    bigLimit: numberSource,
  }).chain(({ uid, gid, list, umask, how, bigLimit }) => {
    const userFields: [string, JsonNode][] = [["uid", num(uid)], ["gid", num(gid)]];
    if (Array.isArray(list)) userFields.push(["additionalGids", arr(list.map(num))]);
    if (list === "null") userFields.push(["additionalGids", { lit: "null" }]);
    if (umask !== undefined) userFields.push(["umask", num(umask)]);
    const user = objectWith(userFields, ["uid", "gid", "additionalGids"]);
    const rlimit = objectWith([
      ["type", str("RLIMIT_NOFILE")],
      ["hard", { num: "18446744073709551615" }],
      ["soft", { num: bigLimit }],
    ], []);
    const processObject = fc.tuple(user, rlimit).chain(([u, r]) =>
      objectWith([
        ["terminal", { lit: "false" }],
        ["user", u],
        ["args", arr([str("sh"), str("-c"), str("id")])],
        ["env", arr([str("PATH=/bin")])],
        ["cwd", str("/")],
        ["rlimits", arr([r])],
      ], ["user"])
    );
    const configObject = fc.tuple(processObject, jsonNode, jsonNode).chain(([p, mount, extra]) =>
      objectWith([
        ["ociVersion", str("1.0.2-dev")],
        ["process", p],
        ["root", { obj: [["path", str("rootfs")], ["readonly", { lit: "true" }]] }],
        ["mounts", arr([mount])],
        [
          "linux",
          {
            obj: [["resources", { obj: [["memory", { obj: [["limit", num(2n ** 63n - 1n)]] }]] }], [
              "x-extra",
              extra,
            ]],
          },
        ],
        [
          "annotations",
          { obj: Object.entries(TENANT_A_ANNOTATIONS).map(([k, v]) => [k, str(v)] as const) },
        ],
      ], ["process", "annotations"])
    );
    return (kind === "config" ? configObject : processObject).map((root) => ({
      text: renderJson(root, how),
      uid,
      gid,
      additionalGids: Array.isArray(list) ? list : undefined,
    }));
  });
}

// ---------------------------------------------------------------- argv

/** One flag the model may place. */
interface FlagModel {
  readonly long: string;
  readonly short?: string;
  /** Absent for bool flags. */
  readonly value?: fc.Arbitrary<string>;
  readonly repeat?: boolean;
  /** How often a repeatable flag is picked against the others. */
  readonly weight?: number;
}

/** A value as a caller writes one: never starting with `-` when it is its own word. */
const wordValue = fc.oneof(
  fc.constantFrom("/run/runc", "b", ".", "/tmp/a b", "create", "exec", "run", "-", "x=y", ""),
  anyText(10).filter((s) => !s.startsWith("-")),
);

/** A gid as `-g` text: mostly valid, sometimes what runc would refuse. */
export const gidText: fc.Arbitrary<string> = fc.oneof(
  { weight: 8, arbitrary: gid.map(String) },
  fc.constantFrom("1,2", "abc", "", "4294967296", "007", " 5"),
);

const userText = fc.tuple(fc.nat(70000), fc.option(podGid, { nil: undefined })).map(([u, g]) =>
  g === undefined ? String(u) : `${u}:${g}`
);

const RUNC_GLOBALS: readonly FlagModel[] = [
  { long: "root", value: wordValue },
  { long: "log", value: wordValue },
  { long: "log-format", value: fc.constantFrom("json", "text") },
  { long: "criu", value: wordValue },
  { long: "rootless", value: fc.constantFrom("true", "false", "auto") },
  { long: "debug" },
  { long: "systemd-cgroup" },
];

const CRUN_GLOBALS: readonly FlagModel[] = [
  { long: "root", value: wordValue },
  { long: "log", value: wordValue },
  { long: "log-format", value: fc.constantFrom("json", "text") },
  { long: "cgroup-manager", value: fc.constantFrom("cgroupfs", "systemd") },
  { long: "debug" },
  { long: "systemd-cgroup" },
];

const CREATE_FLAGS: readonly FlagModel[] = [
  { long: "bundle", short: "b", value: wordValue },
  { long: "console-socket", value: wordValue },
  { long: "pid-file", value: wordValue },
  { long: "preserve-fds", value: fc.nat(9).map(String) },
  { long: "no-pivot" },
  { long: "no-new-keyring" },
];

const RUN_FLAGS: readonly FlagModel[] = [...CREATE_FLAGS, { long: "detach", short: "d" }, {
  long: "keep",
}];

const RUNC_EXEC_FLAGS: readonly FlagModel[] = [
  { long: "user", short: "u", value: userText },
  { long: "additional-gids", short: "g", value: gidText, repeat: true, weight: 4 },
  { long: "env", short: "e", value: wordValue, repeat: true },
  { long: "cwd", value: wordValue },
  { long: "pid-file", value: wordValue },
  { long: "cap", short: "c", value: wordValue, repeat: true },
  { long: "tty", short: "t" },
  { long: "detach", short: "d" },
];

/** A placed flag: its canonical name, its value, and the argv words it took. */
export interface PlacedFlag {
  readonly name: string;
  readonly value: string | undefined;
  readonly words: readonly string[];
}

/** An identity-setting command line and what the runtime will read from it. */
export interface ArgvCase {
  readonly flavour: "runc" | "crun";
  readonly command: "create" | "run" | "exec";
  readonly argv: readonly string[];
  readonly id: string;
  readonly globals: readonly PlacedFlag[];
  readonly flags: readonly PlacedFlag[];
  /** exec's command after the id. */
  readonly rest: readonly string[];
  /** The argv index range [start, end) of each `-g` occurrence, in order. */
  readonly gidSlices: readonly (readonly [number, number])[];
}

/** Picks flags (each non-repeatable one at most once) and spells each one. */
function placeFlags(
  table: readonly FlagModel[],
  flavour: "runc" | "crun",
): fc.Arbitrary<PlacedFlag[]> {
  const one = (model: FlagModel) => spell(model, flavour);
  const single = table.filter((m) => !m.repeat);
  const repeated = table.filter((m) => m.repeat);
  return fc.tuple(
    fc.subarray([...single]).chain((picked) => fc.tuple(...picked.map(one))),
    fc.array(
      fc.constantFrom(
        ...(repeated.length
          ? repeated.flatMap((m) => Array<FlagModel>(m.weight ?? 1).fill(m))
          : [undefined]),
      ),
      { maxLength: 4 },
    )
      .chain((picked) =>
        fc.tuple(...picked.filter((m): m is FlagModel => m !== undefined).map(one))
      ),
  ).chain(([a, b]) => {
    const all = [...a, ...b];
    return fc.shuffledSubarray(all, { minLength: all.length, maxLength: all.length });
  });
}

/** All the ways runc (Go's flag) or crun (getopt_long) accept a flag. */
function spell(model: FlagModel, flavour: "runc" | "crun"): fc.Arbitrary<PlacedFlag> {
  const names = [model.long, ...(model.short ? [model.short] : [])];
  const name = model.long;
  if (model.value === undefined) {
    const words = flavour === "runc"
      ? names.flatMap((n) => [`--${n}`, `-${n}`])
      : [`--${model.long}`, ...(model.short ? [`-${model.short}`] : [])];
    return fc.constantFrom(...words).map((word) => ({ name, value: undefined, words: [word] }));
  }
  const separate = model.value.filter((v) => !v.startsWith("-") || v === "-");
  const spellings: fc.Arbitrary<PlacedFlag>[] = [];
  for (const n of names) {
    const dashes = flavour === "runc" ? ["--", "-"] : n.length === 1 ? ["-"] : ["--"];
    for (const dash of dashes) {
      spellings.push(separate.map((value) => ({ name, value, words: [`${dash}${n}`, value] })));
      if (dash === "--" || flavour === "runc") {
        spellings.push(
          model.value.map((value) => ({ name, value, words: [`${dash}${n}=${value}`] })),
        );
      }
    }
    if (flavour === "crun" && n.length === 1) {
      // getopt: a short option's value attached to it (`-bDIR`).
      spellings.push(
        model.value.filter((v) => v !== "").map((value) => ({
          name,
          value,
          words: [`-${n}${value}`],
        })),
      );
    }
  }
  return fc.oneof(...spellings);
}

/** Words of every kind, known flags and command words among them, for junk command lines. */
const junkWord = fc.oneof(
  anyText(8),
  fc.constantFrom(
    "--",
    "-",
    "=",
    "--=",
    "-=x",
    "--root",
    "--root=",
    "-root",
    "--log",
    "--log-format=json",
    "create",
    "run",
    "exec",
    "restore",
    "state",
    "-b",
    "--bundle",
    "-g",
    "--additional-gids=",
    "-p",
    "--process",
    "-u",
    "-dp",
    "--det",
    "--help",
    "-v",
    "--config",
    "-f",
  ),
);

const containerId = fc.oneof(
  fc.constantFrom("c1", "create", "exec", "0", "a b", "id=x"),
  anyText(16).filter((s) => s !== "" && !s.startsWith("-")),
);

/**
 * Identity-setting command lines, runc's or crun's, with the words the
 * runtime will read: the globals, the command's flags (runc: also after the
 * id for create/run, and globals after the command), the id and exec's
 * command.
 */
export const identityArgv: fc.Arbitrary<ArgvCase> = fc.record({
  flavour: fc.constantFrom("runc" as const, "crun" as const),
  command: fc.constantFrom("create" as const, "run" as const, "exec" as const),
}).chain(({ flavour, command }) => {
  const globalsTable = flavour === "runc" ? RUNC_GLOBALS : CRUN_GLOBALS;
  const commandTable = command === "exec"
    ? (flavour === "runc"
      ? RUNC_EXEC_FLAGS
      : RUNC_EXEC_FLAGS.filter((m) => m.long !== "additional-gids"))
    : command === "run"
    ? RUN_FLAGS
    : CREATE_FLAGS;
  return fc.record({
    globals: placeFlags(globalsTable, flavour),
    flags: placeFlags(commandTable, flavour),
    id: containerId,
    rest: command === "exec"
      ? fc.array(fc.oneof(anyText(8), junkWord), { minLength: 1, maxLength: 4 })
      : fc.constant([] as string[]),
    // runc only: how many globals move after the command, how many command flags after the id.
    globalsAfter: fc.nat(3),
    flagsAfterId: fc.nat(3),
  }).map(({ globals, flags, id, rest, globalsAfter, flagsAfterId }) => {
    const runc = flavour === "runc";
    const movedGlobals = runc ? Math.min(globalsAfter, globals.length) : 0;
    const afterId = runc && command !== "exec" ? Math.min(flagsAfterId, flags.length) : 0;
    const before = globals.slice(0, globals.length - movedGlobals);
    const commandFlags = [...globals.slice(globals.length - movedGlobals), ...flags];
    const split = commandFlags.length - afterId;
    const argv: string[] = [];
    const gidSlices: [number, number][] = [];
    const put = (placed: readonly PlacedFlag[]) => {
      for (const flag of placed) {
        if (flag.name === "additional-gids") {
          gidSlices.push([argv.length, argv.length + flag.words.length]);
        }
        argv.push(...flag.words);
      }
    };
    put(before);
    argv.push(command);
    put(commandFlags.slice(0, split));
    argv.push(id);
    put(commandFlags.slice(split));
    argv.push(...rest);
    return { flavour, command, argv, id, globals, flags, rest, gidSlices };
  });
});

/** Arbitrary command lines, mostly nonsense. */
export const junkArgv: fc.Arbitrary<string[]> = fc.array(junkWord, { maxLength: 12 });

const PASS_THROUGH_COMMANDS = [
  "start",
  "state",
  "kill",
  "delete",
  "features",
  "ps",
  "events",
  "update",
  "pause",
  "resume",
  "list",
  "checkpoint",
  "spec",
];

/**
 * Command lines that are not identity-setting by construction: known
 * globals (any values, identity command words included), then a command
 * that is not create/run/exec/restore (or none), then any words.
 */
export const passThroughArgv: fc.Arbitrary<string[]> = fc.record({
  globals: placeFlags(RUNC_GLOBALS, "runc"),
  separator: fc.boolean(),
  command: fc.oneof(
    fc.constantFrom(...PASS_THROUGH_COMMANDS),
    fc.constantFrom("--version", "-v", "--help", "-h"),
    anyText(8).filter((s) =>
      s !== "" && !s.startsWith("-") && !["create", "run", "exec", "restore"].includes(s)
    ),
  ),
  rest: fc.array(junkWord, { maxLength: 6 }),
}).map(({ globals, separator, command, rest }) => [
  ...globals.flatMap((flag) => flag.words),
  ...(separator && !command.startsWith("-") ? ["--"] : []),
  command,
  // After `--version` or `--help` the next word would be the command.
  ...(command.startsWith("-") ? [] : rest),
]);
