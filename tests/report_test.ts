/**
 * `strict-supplementalgroups report` on a log the real wrapper wrote on real
 * runc in every mode: enforce (its file rotated and gzip-compressed by the
 * wrapper), audit (rotated to a plain backup), then deny in the text format; with an oversized
 * line in each backup, garbage lines, a decision older than `--since`, and
 * a truncated last line. The text form is compared with a golden file, the
 * `--json` form checked against docs/report.schema.json.
 */

import { Ajv2020 } from "ajv/2020";
import { deepEqual, equal, match } from "assert";
import {
  assertCodes,
  padPastRotation,
  phaseConfig,
  podsOf,
  runWorkloads,
  type Workload,
} from "./support/decision_logs.ts";
import { startKubelet } from "./support/kubelet_standin.ts";
import { makeWorld, type World } from "./support/world.ts";
import {
  announceRootTestsBlocker,
  CLI,
  listDir,
  REPO,
  type RunResult,
  runWrapper,
} from "./support/wrapper.ts";

const blocker = await announceRootTestsBlocker("report tests on runc");

const WEB = "registry.example/tenant-a/web:1.4";
const ENFORCE: Workload[] = [
  { namespace: "tenant-a", pod: "web-7d4b9c8f5-x2k9p", image: WEB },
  { namespace: "tenant-a", pod: "web-7d4b9c8f5-q8w2z", image: WEB },
  {
    namespace: "tenant-a",
    pod: "db-0",
    image: "registry.example/db:16",
    supplementalGroups: [50000, 60000],
  },
  { namespace: "tenant-a", pod: "ghost", image: WEB, known: false },
  {
    namespace: "tenant-d",
    pod: "ready-h7rkz",
    image: "registry.example/ok:2",
    supplementalGroups: [50000, 60000],
  },
];
const AUDIT: Workload[] = [
  { namespace: "tenant-b", pod: "api-5f6d7c8b9-h7rkz", image: "registry.example/api:3" },
  {
    namespace: "tenant-b",
    pod: "root-tool",
    image: "registry.example/tool:1",
    uid: 0,
    supplementalGroups: [50000, 60000],
  },
];
const DENY: Workload[] = [
  { namespace: "tenant-c", pod: "batch-29012345-fq4zl", image: "registry.example/batch:7" },
  {
    namespace: "tenant-d",
    pod: "ready-h7rkz",
    image: "registry.example/ok:2",
    supplementalGroups: [50000, 60000],
  },
];
/** A decision record from long ago, written by hand: `--since` must leave it out. */
const OLD_DECISION = JSON.stringify({
  time: "2020-01-01T00:00:00.000Z",
  level: "info",
  msg: "decision",
  container: "old",
  command: "create",
  verdict: "rewrite",
  mode: "enforce",
  pod: { namespace: "tenant-old", name: "legacy" },
  gids: { before: [1000, 40000], after: [1000], dropped: [40000] },
  policy: { rules: "defaults", violations: [] },
  source: "kubelet",
  lookupMs: 3,
});

/** Writes the log: three phases through the wrapper, then what a damaged log also holds. */
async function writeLog(w: World): Promise<string> {
  const log = `${w.dir}/wrapper.log`;
  const kubelet = await startKubelet(w.pki, podsOf([...ENFORCE, ...AUDIT, ...DENY]));
  try {
    const enforce = await phaseConfig(w, "enforce");
    assertCodes(await runWorkloads(w, enforce, ENFORCE), [0, 0, 0, 1, 0], "enforce");
    await padPastRotation(log);
    // The rotation its first record makes compresses the enforce phase's file.
    const audit = await phaseConfig(w, "audit", { compress: true });
    assertCodes(await runWorkloads(w, audit, AUDIT), [0, 0], "audit");
    await padPastRotation(log);
    const deny = await phaseConfig(w, "deny", { format: "text" });
    assertCodes(await runWorkloads(w, deny, DENY), [1, 0], "deny");
  } finally {
    await kubelet.close();
  }
  await Deno.writeTextFile(
    log,
    `not a record\n{"time":"yesterday","msg":"decision"}\n${OLD_DECISION}\n{"time":"2026-`,
    { append: true },
  );
  return log;
}

async function report(args: string[]): Promise<RunResult> {
  return await runWrapper(["report", ...args], { program: CLI });
}

/** The text with the run's directory, times and backup stamps made constant. */
function normalise(text: string, dir: string): string {
  return text.replaceAll(dir, "<dir>")
    .replace(/wrapper-\d{4}-\d\d-\d\dT[\d.-]+\.log/g, "wrapper-<rotated>.log")
    .replace(
      /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g,
      (time) => time.startsWith("2020-") ? time : "<time>",
    );
}

let shared: Promise<{ w: World; log: string }> | undefined;
function logged(): Promise<{ w: World; log: string }> {
  shared ??= (async () => {
    const w = await makeWorld("ssgcr-report-");
    globalThis.addEventListener("unload", () => Deno.removeSync(w.dir, { recursive: true }));
    return { w, log: await writeLog(w) };
  })();
  return shared;
}

function test(name: string, fn: (w: World, log: string) => Promise<void>): void {
  Deno.test({
    name,
    ignore: blocker !== undefined,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
      const { w, log } = await logged();
      await fn(w, log);
    },
  });
}

test("the wrapper rotated its log into a compressed and a plain backup", async (w) => {
  const names = (await listDir(w.dir)).filter((name) => name.startsWith("wrapper"));
  deepEqual(names.map((name) => name.replace(/\d{4}-\d\d-\d\dT[\d.-]+\.log/, "<t>.log")), [
    "wrapper-<t>.log.gz",
    "wrapper-<t>.log",
    "wrapper.log",
    "wrapper.log.lock",
  ]);
});

test("report's text matches the golden file", async (w, log) => {
  const result = await report(["--log", log]);
  equal(result.code, 0, result.stderr);
  equal(result.stderr, "");
  const golden = `${REPO}/tests/testdata/report.golden.txt`;
  const actual = normalise(result.stdout, w.dir);
  if (Deno.env.get("UPDATE_GOLDEN") === "1") await Deno.writeTextFile(golden, actual);
  equal(actual, await Deno.readTextFile(golden));
});

test(
  "report --json matches docs/report.schema.json and counts what the wrapper did",
  async (_w, log) => {
    const result = await report(["--log", log, "--json"]);
    equal(result.code, 0, result.stderr);
    const json = JSON.parse(result.stdout);
    const schema = JSON.parse(await Deno.readTextFile(`${REPO}/docs/report.schema.json`));
    const validate = new Ajv2020({ allErrors: true, strict: true }).compile(schema);
    equal(validate(json), true, JSON.stringify(validate.errors));
    equal(json.read.files.length, 3);
    deepEqual(
      [json.read.malformed, json.read.truncated, json.read.oversized, json.read.older],
      [2, 1, 2, 0],
    );
    const namespaces = Object.fromEntries(
      json.namespaces.map((n: { namespace: string }) => [n.namespace, n]),
    );
    deepEqual(Object.keys(namespaces), [
      "tenant-a",
      "tenant-b",
      "tenant-c",
      "tenant-d",
      "tenant-old",
    ]);
    equal(namespaces["tenant-d"].verdict, "ready");
    const web = namespaces["tenant-a"].workloads.find((x: { workload: string }) =>
      x.workload === "web-*-*"
    );
    deepEqual([web.count, web.image, web.gids[0].gid, web.gids[0].dropped], [2, WEB, 50000, 2]);
    const api = namespaces["tenant-b"].workloads.find((x: { workload: string }) =>
      x.workload === "api-*-*"
    );
    equal(api.gids[0].wouldDrop, 1);
    const root = namespaces["tenant-b"].workloads.find((x: { workload: string }) =>
      x.workload === "root-tool"
    );
    deepEqual(root.violations.map((v: { rule: string; value: number }) => [v.rule, v.value]), [[
      "run-as-user",
      0,
    ]]);
    const batch = namespaces["tenant-c"].workloads[0];
    deepEqual([batch.workload, batch.refusals[0].cause, batch.gids[0].refused], [
      "batch-*-*",
      "undeclared-gids",
      1,
    ]);
    const ghost = namespaces["tenant-a"].workloads.find((x: { workload: string }) =>
      x.workload === "ghost"
    );
    equal(ghost.refusals[0].cause, "pod-lookup");
  },
);

test("report --since leaves older decisions out and counts them", async (_w, log) => {
  const json = JSON.parse((await report(["--log", log, "--json", "--since", "24h"])).stdout);
  equal(json.read.older, 1);
  equal(json.namespaces.some((n: { namespace: string }) => n.namespace === "tenant-old"), false);
  const bad = await report(["--log", log, "--since", "yesterday"]);
  equal(bad.code, 2);
  match(bad.stderr, /--since "yesterday": not a duration/);
});

test("report on a missing log says so and exits 1", async (w) => {
  const result = await report(["--log", `${w.dir}/absent.log`]);
  equal(result.code, 1);
  equal(result.stdout, "");
  match(result.stderr, /report: no log at .*absent\.log, and no backups of it/);
});

test("a corrupt backup is counted, and the rest is still read", async (w) => {
  const copy = `${w.dir}/copy`;
  await Deno.mkdir(copy, { recursive: true });
  for (const name of await listDir(w.dir)) {
    if (name.startsWith("wrapper") && !name.endsWith(".lock")) {
      await Deno.copyFile(`${w.dir}/${name}`, `${copy}/${name}`);
    }
  }
  const gz = (await listDir(copy)).find((name) => name.endsWith(".gz"))!;
  const bytes = await Deno.readFile(`${copy}/${gz}`);
  await Deno.writeFile(`${copy}/${gz}`, bytes.subarray(0, Math.floor(bytes.length / 2)));
  const json = JSON.parse((await report(["--log", `${copy}/wrapper.log`, "--json"])).stdout);
  equal(json.read.files.length, 3);
  equal(json.read.examples.some((e: string) => /\.gz: unreadable after line/.test(e)), true);
  equal(json.namespaces.some((n: { namespace: string }) => n.namespace === "tenant-c"), true);
});

Deno.test({
  name: "report reads a large log in bounded memory",
  ignore: blocker !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const { w } = await logged();
    const big = `${w.dir}/big`;
    await Deno.mkdir(big, { recursive: true });
    // The wrapper's own lines, repeated: 256 MiB of decisions.
    const lines = (await Deno.readTextFile(`${w.dir}/wrapper.log`)).split("\n")
      .filter((line) => line.includes("msg=decision"));
    const block = new TextEncoder().encode(`${lines.join("\n")}\n`.repeat(200));
    using file = await Deno.open(`${big}/wrapper.log`, { create: true, write: true });
    for (let written = 0; written < 256 * 1024 * 1024; written += block.length) {
      await file.write(block);
    }
    const measured = (log: string) =>
      runWrapper(["report", "--log", log, "--json"], { program: CLI, measureRss: true });
    const small = await measured(`${w.dir}/wrapper.log`);
    const peak = await measured(`${big}/wrapper.log`);
    await Deno.remove(big, { recursive: true });
    deepEqual([small.code, peak.code], [0, 0]);
    // 1 GiB measured 66 MB against 44 MB for a few lines; memory must not follow the log's size.
    const growth = peak.peakRssKb! - small.peakRssKb!;
    equal(
      growth < 40 * 1024,
      true,
      `peak RSS ${small.peakRssKb} kB, then ${peak.peakRssKb} kB for 256 MiB`,
    );
  },
});
