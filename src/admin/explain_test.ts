/**
 * One table of cases through the wrapper's path (`enforce` on a fake node)
 * and through `explain`: both must write the same decision record, row by
 * row, and each row's verdict is the one the runtime's real behaviour calls
 * for.
 */

import { deepEqual, equal } from "assert";
import { enforceWith, FakeNode, TENANT_A_POD } from "../../tests/support/fake_node.ts";
import { type Config, DEFAULT_CONFIG, parseConfig } from "../config/config.ts";
import type { LogRecord } from "../log/decision_log.ts";
import { flavourOf } from "../runtime/runtime_binary.ts";
import { explain } from "./explain.ts";

const fixture = (name: string) =>
  Deno.readTextFileSync(new URL(`../../tests/testdata/${name}`, import.meta.url));

const CONTAINERD_SPEC = fixture("containerd-config.json");
const CRIO_SPEC = fixture("crio-config.json");
/** The container's spec after a create through the wrapper: only the Pod's gids. */
const CLEAN_SPEC = CONTAINERD_SPEC.replace(/("additionalGids": \[)[^\]]*\]/, "$1 1000, 60000]");
const NO_USER = '{"args":["id"],"cwd":"/","env":["PATH=/bin"]}';

interface Row {
  readonly name: string;
  /** The runtime binary (its name picks the grammar), and crun's version. */
  readonly runtime?: "runc" | "crun";
  readonly crun?: string;
  /** Extra config lines. */
  readonly config?: string;
  /** The bundle's config.json. */
  readonly spec?: string;
  readonly command: "create" | "run" | "exec";
  /** The exec's process file text, -u and -g. */
  readonly process?: string;
  readonly user?: string;
  readonly gids?: string[];
  /** What the record must say. */
  readonly verdict: string;
  readonly identity?: [number, number];
}

const ROWS: Row[] = [
  { name: "runc create drops the image's gid", command: "create", verdict: "rewrite" },
  { name: "runc run in audit", command: "run", config: 'mode = "audit"', verdict: "audit" },
  { name: "runc create in deny", command: "create", config: 'mode = "deny"', verdict: "refuse" },
  {
    name: "crun create of CRI-O's spec",
    runtime: "crun",
    config: 'cri = "cri-o"',
    spec: CRIO_SPEC,
    command: "create",
    verdict: "rewrite",
  },
  {
    name: "a Pod sandbox",
    spec: CONTAINERD_SPEC.replace('container-type": "container"', 'container-type": "sandbox"'),
    command: "create",
    verdict: "untouched",
  },
  {
    name: "a non-Kubernetes container",
    spec: '{"process":{"user":{"uid":0,"gid":0,"additionalGids":[5]}}}',
    command: "create",
    verdict: "untouched",
  },
  {
    name: "a non-Kubernetes container where they are refused",
    spec: '{"process":{"user":{"uid":0,"gid":0,"additionalGids":[5]}}}',
    config: "allow-non-kubernetes = false",
    command: "run",
    verdict: "refuse",
  },
  {
    name: "runc exec with containerd's process file",
    command: "exec",
    spec: CLEAN_SPEC,
    process: fixture("containerd-exec-process.json"),
    verdict: "rewrite",
    identity: [1000, 1000],
  },
  {
    name: "runc exec with a process file without user runs as root",
    command: "exec",
    spec: CLEAN_SPEC,
    process: NO_USER,
    verdict: "unchanged",
    identity: [0, 0],
  },
  {
    name: "crun 1.8 exec with a process file without user runs as root, no groups",
    runtime: "crun",
    crun: "1.8.1",
    command: "exec",
    process: NO_USER,
    verdict: "unchanged",
    identity: [0, 0],
  },
  {
    name: "crun 1.17 exec without user inherits a create-time 50000 and is refused",
    runtime: "crun",
    crun: "1.17",
    command: "exec",
    process: NO_USER,
    verdict: "refuse",
    identity: [1000, 1000],
  },
  {
    name: "crun exec with CRI-O's process file",
    runtime: "crun",
    config: 'cri = "cri-o"',
    spec: CRIO_SPEC,
    command: "exec",
    process: fixture("crio-exec-process.json"),
    verdict: "rewrite",
  },
  {
    name: "crun 1.8 exec -u uid runs with gid 0 and no groups",
    runtime: "crun",
    command: "exec",
    user: "1000",
    verdict: "unchanged",
    identity: [1000, 0],
  },
  {
    name: "runc exec -u with -g of its own group keeps it",
    command: "exec",
    spec: CLEAN_SPEC,
    user: "1000:3000",
    gids: ["3000"],
    verdict: "unchanged",
    identity: [1000, 3000],
  },
  {
    name: "runc exec -g of an image gid drops the flag",
    command: "exec",
    spec: CLEAN_SPEC,
    gids: ["50000", "60000"],
    verdict: "rewrite",
  },
  {
    name: "runc exec -g of an image gid in deny",
    command: "exec",
    spec: CLEAN_SPEC,
    config: 'mode = "deny"',
    gids: ["50000"],
    verdict: "refuse",
  },
  {
    name: "runc exec into a container created with 50000",
    command: "exec",
    verdict: "refuse",
  },
  {
    name: "runc exec into a container created with 50000, in audit",
    command: "exec",
    config: 'mode = "audit"',
    verdict: "audit",
  },
  {
    name: "a root exec under MustRunAsNonRoot",
    command: "exec",
    spec: CLEAN_SPEC,
    process: NO_USER,
    config: '[policy]\nrun-as-user = { rule = "MustRunAsNonRoot" }',
    verdict: "refuse",
    identity: [0, 0],
  },
];

/** The record fields that only time differs in. */
const TIMINGS = ["level", "msg", "startupMs", "elapsedMs", "lookupMs"];

function configFor(row: Row): Config {
  const runtime = row.runtime ?? "runc";
  return row.config === undefined && runtime === "runc"
    ? DEFAULT_CONFIG
    : parseConfig(`runtime = "${runtime}"\n${row.config ?? ""}\n`, "row.toml");
}

function nodeFor(row: Row): FakeNode {
  const node = new FakeNode();
  node.crunVersion = row.crun ?? node.crunVersion;
  node.pods = [TENANT_A_POD];
  node.files.set("/bundles/c1/config.json", row.spec ?? CONTAINERD_SPEC);
  if (row.process !== undefined) node.files.set("/tmp/p.json", row.process);
  return node;
}

function argvFor(row: Row): string[] {
  if (row.command !== "exec") {
    return ["--root", "/run/runc", row.command, "--bundle", "/bundles/c1", "c1"];
  }
  return [
    "--root",
    "/run/runc",
    "exec",
    ...(row.process === undefined ? [] : ["--process", "/tmp/p.json"]),
    ...(row.user === undefined ? [] : ["--user", row.user]),
    ...(row.gids ?? []).flatMap((gid) => ["-g", gid]),
    "c1",
    ...(row.process === undefined ? ["id"] : []),
  ];
}

function withoutTimings(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([key]) => !TIMINGS.includes(key)));
}

for (const row of ROWS) {
  Deno.test(`explain and the wrapper agree: ${row.name}`, async () => {
    const config = configFor(row);
    const node = nodeFor(row);
    await enforceWith(config, argvFor(row), node).catch(() => {});
    const logged = node.logs.filter((record: LogRecord) => record.msg === "decision");
    equal(logged.length, 1, "the wrapper writes one decision record");
    const wrapper = withoutTimings(logged[0]!);

    const explained = nodeFor(row);
    const record = await explain(
      {
        bundle: "/bundles/c1",
        exec: row.command === "exec",
        process: row.process === undefined ? undefined : "/tmp/p.json",
        user: row.user,
        additionalGids: row.gids,
      },
      { ...config, flavour: flavourOf(config.runtime) },
      {
        specs: explained.specs,
        image: explained.image,
        created: explained.created(config.runtime),
        pods: explained.source,
        rules: () => explained.runtime(config.runtime).rules(),
      },
    );
    deepEqual(explained.written, [], "explain writes nothing");
    deepEqual(explained.handed, [], "explain starts nothing");
    // explain judges a run as the create it starts with.
    const expected = row.command === "run" ? { ...wrapper, command: "create" } : wrapper;
    deepEqual(withoutTimings(record as unknown as Record<string, unknown>), expected);
    equal(record.verdict, row.verdict);
    if (row.identity !== undefined && "uid" in record) {
      deepEqual([record.uid, record.gid], row.identity);
    }
  });
}
