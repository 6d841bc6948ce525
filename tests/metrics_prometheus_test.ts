/**
 * `strict-supplementalgroups metrics`, scraped by a real Prometheus
 * (Debian's, started here on loopback with its own data directory), while
 * the real wrapper decides real runc containers and rotates its log
 * mid-run: Prometheus's query API must return what a direct count of the
 * wrapper's log lines gives, nothing lost and nothing counted twice. The
 * exporter is the shipped program under its own permission set, so the
 * log lives under /var/log, which that set may read.
 */

import { deepEqual, equal, match } from "assert";
import {
  padPastRotation,
  phaseConfig,
  podsOf,
  runWorkloads,
  type Workload,
} from "./support/decision_logs.ts";
import { startKubelet } from "./support/kubelet_standin.ts";
import { makeWorld } from "./support/world.ts";
import { announceRootTestsBlocker, CLI, have, REPO, waitFor } from "./support/wrapper.ts";

const PROMETHEUS_PORT = 19090;
const EXPORTER = "127.0.0.1:9469";

const blocker = await announceRootTestsBlocker("metrics tests with Prometheus") ??
  (await have("prometheus") ? undefined : _loud("prometheus is not installed"));

function _loud(why: string): string {
  console.error(`\n*** SKIPPED: metrics tests with Prometheus: ${why} ***\n`);
  return why;
}

const FIRST: Workload[] = [
  { namespace: "tenant-a", pod: "web-7d4b9c8f5-x2k9p", image: "registry.example/web:1" },
  { namespace: "tenant-a", pod: "web-7d4b9c8f5-q8w2z", image: "registry.example/web:1" },
  {
    namespace: "tenant-b",
    pod: "ok-0",
    image: "registry.example/ok:1",
    supplementalGroups: [50000, 60000],
  },
  { namespace: "tenant-b", pod: "ghost", image: "registry.example/ok:1", known: false },
];
const SECOND: Workload[] = [
  { namespace: "tenant-c", pod: "batch-h7rkz", image: "registry.example/batch:2" },
  { namespace: "tenant-c", pod: "root-tool", image: "registry.example/tool:1", uid: 0 },
];

/** One instant query; the samples' values by their labels. */
async function query(promql: string): Promise<Map<string, number>> {
  const url = `http://127.0.0.1:${PROMETHEUS_PORT}/api/v1/query?query=${
    encodeURIComponent(promql)
  }`;
  const body = await (await fetch(url)).json();
  equal(body.status, "success", JSON.stringify(body));
  return new Map(
    body.data.result.map((r: { metric: Record<string, string>; value: [number, string] }) => [
      Object.entries(r.metric).filter(([k]) => k !== "job" && k !== "instance")
        .map(([k, v]) => `${k}=${v}`).sort().join(","),
      Number(r.value[1]),
    ]),
  );
}

/** A direct count of the log's decision lines, by the labels the exporter uses. */
async function directCounts(logDir: string): Promise<Record<string, Map<string, number>>> {
  const counts: Record<string, Map<string, number>> = {
    decisions: new Map(),
    refusals: new Map(),
    dropped: new Map(),
    violations: new Map(),
    lookups: new Map(),
  };
  const add = (map: Map<string, number>, key: string, by = 1) =>
    map.set(key, (map.get(key) ?? 0) + by);
  for await (const entry of Deno.readDir(logDir)) {
    if (!entry.name.startsWith("wrapper") || entry.name.endsWith(".lock")) continue;
    const file = `${logDir}/${entry.name}`;
    const bytes = entry.name.endsWith(".gz")
      ? new Uint8Array(
        await new Response(
          (await Deno.open(file)).readable.pipeThrough(new DecompressionStream("gzip")),
        ).arrayBuffer(),
      )
      : await Deno.readFile(file);
    for (const line of new TextDecoder().decode(bytes).split("\n")) {
      if (!line.startsWith("{")) continue;
      const r = JSON.parse(line);
      if (r.msg !== "decision") continue;
      const ns = r.pod?.namespace ?? "";
      add(counts.decisions!, `mode=${r.mode},namespace=${ns},verdict=${r.verdict}`);
      if (r.verdict === "refuse") add(counts.refusals!, `cause=${r.cause},namespace=${ns}`);
      if (r.gids?.dropped?.length) {
        add(counts.dropped!, `mode=${r.mode},namespace=${ns}`, r.gids.dropped.length);
      }
      for (const v of r.policy?.violations ?? []) {
        add(counts.violations!, `namespace=${ns},rule=${v.field}`);
      }
      // A decision the image alone settled ("image") asked no source: no lookup to time.
      if (r.source !== undefined && r.source !== "image") {
        add(counts.lookups!, `source=${r.source}`);
      }
    }
  }
  return counts;
}

Deno.test({
  name: "Prometheus scrapes the counts of the wrapper's real decisions, across a rotation",
  ignore: blocker !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const w = await makeWorld("ssgcr-metrics-");
    const logDir = await Deno.makeTempDir({ dir: "/var/log", prefix: "ssgcr-metrics-" });
    const log = `${logDir}/wrapper.log`;
    const kubelet = await startKubelet(w.pki, podsOf([...FIRST, ...SECOND]));
    const prometheusDir = `${w.dir}/prometheus`;
    await Deno.mkdir(prometheusDir);
    await Deno.writeTextFile(
      `${prometheusDir}/prometheus.yml`,
      [
        "global:",
        "  scrape_interval: 1s",
        "scrape_configs:",
        "  - job_name: strict-supplementalgroups",
        "    static_configs:",
        `      - targets: ["${EXPORTER}"]`,
        "",
      ].join("\n"),
    );
    const prometheus = new Deno.Command("prometheus", {
      args: [
        `--config.file=${prometheusDir}/prometheus.yml`,
        `--storage.tsdb.path=${prometheusDir}/data`,
        `--web.listen-address=127.0.0.1:${PROMETHEUS_PORT}`,
      ],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    // Through the admin tool, which runs the exporter program found on PATH.
    const exporter = new Deno.Command(CLI, {
      args: ["metrics", "--listen", EXPORTER, "--log", log, "--interval", "0.2"],
      env: { PATH: `${REPO}/dist:${Deno.env.get("PATH")}` },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const config = async (mode: string, compress = false) => {
      const path = await phaseConfig(w, mode, { compress });
      const text = await Deno.readTextFile(path);
      await Deno.writeTextFile(path, text.replace(`${w.dir}/wrapper.log`, log));
      return path;
    };
    try {
      await waitFor(
        "Prometheus to be ready",
        async () =>
          await fetch(`http://127.0.0.1:${PROMETHEUS_PORT}/-/ready`).then(
            async (r) => (await r.body?.cancel(), r.ok),
            () => false,
          ),
        30_000,
      );
      await waitFor(
        "the exporter to be scraped",
        async () => (await query('up{job="strict-supplementalgroups"}')).get("__name__=up") === 1,
        30_000,
      );

      deepEqual(await runWorkloads(w, await config("enforce"), FIRST), [0, 0, 0, 1]);
      await padPastRotation(log);
      // Its first record rotates the log (compressed); the exporter is following it.
      deepEqual(await runWorkloads(w, await config("deny", true), SECOND), [1, 1]);
      const backups = [...Deno.readDirSync(logDir)].map((e) => e.name)
        .filter((name) => name.endsWith(".log.gz"));
      equal(backups.length, 1, "the wrapper rotated its log");

      const expected = await directCounts(logDir);
      const scraped = async () => ({
        decisions: await query("strict_supplementalgroups_decisions_total"),
        refusals: await query("strict_supplementalgroups_refusals_total"),
        dropped: await query("strict_supplementalgroups_gids_dropped_total"),
        violations: await query("strict_supplementalgroups_policy_violations_total"),
        lookups: await query("strict_supplementalgroups_pod_lookup_duration_seconds_count"),
      });
      const strip = (m: Map<string, number>) =>
        new Map(
          [...m].map(([k, v]) => [k.replace(/(^|,)__name__=[^,]*,?/, "$1").replace(/,$/, ""), v]),
        );
      let last: Record<string, Map<string, number>> = {};
      await waitFor("Prometheus to hold the direct counts", async () => {
        const got = await scraped();
        last = Object.fromEntries(Object.entries(got).map(([k, v]) => [k, strip(v)]));
        return JSON.stringify(Object.entries(last).map(([k, v]) => [k, [...v].sort()])) ===
          JSON.stringify(Object.entries(expected).map(([k, v]) => [k, [...v].sort()]));
      }, 30_000).catch((error) => {
        throw new Error(
          `${error.message}: scraped ${
            JSON.stringify(Object.entries(last).map(([k, v]) => [k, [...v]]))
          }, ` +
            `counted ${JSON.stringify(Object.entries(expected).map(([k, v]) => [k, [...v]]))}`,
        );
      });
      equal(expected.decisions!.size > 3, true, "the log has decisions of several kinds");
      const events = strip(await query("strict_supplementalgroups_log_events_total"));
      deepEqual([...events], [["event=rotation", 1]]);
      const lines = strip(await query("strict_supplementalgroups_log_lines_total"));
      equal(lines.get("kind=oversized"), 1);
      equal(lines.get("kind=malformed"), undefined);
      const cache = strip(await query("strict_supplementalgroups_pod_cache_lookups_total"));
      equal((cache.get("result=hit") ?? 0) + (cache.get("result=miss") ?? 0) > 0, true);
    } finally {
      exporter.kill("SIGTERM");
      const out = await exporter.output();
      prometheus.kill("SIGTERM");
      await prometheus.status;
      await kubelet.close();
      await Deno.remove(logDir, { recursive: true });
      await Deno.remove(w.dir, { recursive: true });
      const stderr = new TextDecoder().decode(out.stderr);
      equal(out.code, 0, `the exporter stops cleanly on SIGTERM: ${stderr}`);
      equal(new TextDecoder().decode(out.stdout), "");
      match(stderr, /metrics: serving http:\/\/127\.0\.0\.1:9469\/metrics from /);
    }
  },
});
