import { deepEqual, equal, match } from "assert";
import type { LoggedDecision } from "./logged_decision.ts";
import { makeMetrics } from "./metrics.ts";

const decision = (overrides: Partial<LoggedDecision>): LoggedDecision => ({
  time: 0,
  verdict: "rewrite",
  mode: "enforce",
  command: "create",
  pod: { namespace: "tenant-a", name: "web" },
  dropped: [],
  violations: [],
  ...overrides,
});

/** The samples of one metric, by their label sets. */
function samples(text: string, name: string): Map<string, number> {
  const pattern = new RegExp(`^strict_supplementalgroups_${name}(\\{[^}]*\\})? (\\S+)$`, "gm");
  return new Map([...text.matchAll(pattern)].map((m) => [m[1] ?? "", Number(m[2])]));
}

Deno.test("label values a log line may carry are bounded: anything unknown counts as other", () => {
  const metrics = makeMetrics("t");
  metrics.countDecision(decision({
    mode: "chaos",
    verdict: "refuse",
    cause: "a-new-cause-from-a-future-wrapper",
    pod: { namespace: "Not_A_Namespace", name: "web" },
    violations: [{ rule: "run-as-anything", value: 1 }],
    lookup: { source: "Some Source!", seconds: 0.002, missed: [] },
  }));
  const text = metrics.render();
  deepEqual(
    samples(text, "decisions_total"),
    new Map([['{verdict="refuse",mode="other",namespace="other"}', 1]]),
  );
  deepEqual(samples(text, "refusals_total"), new Map([['{cause="other",namespace="other"}', 1]]));
  deepEqual(
    samples(text, "policy_violations_total"),
    new Map([['{rule="other",namespace="other"}', 1]]),
  );
  equal(samples(text, "pod_lookup_duration_seconds_count").get('{source="other"}'), 1);
});

Deno.test("the lookup histogram is cumulative, and a cache's hits and misses are counted", () => {
  const metrics = makeMetrics("t");
  metrics.countDecision(decision({ lookup: { source: "cache", seconds: 0.0015, missed: [] } }));
  metrics.countDecision(
    decision({ lookup: { source: "kubelet", seconds: 0.07, missed: ["cache"] } }),
  );
  metrics.countDecision(decision({ lookup: { source: "kubelet", seconds: 20, missed: [] } }));
  const text = metrics.render();
  const buckets = samples(text, "pod_lookup_duration_seconds_bucket");
  equal(buckets.get('{source="kubelet",le="0.05"}'), 0);
  equal(buckets.get('{source="kubelet",le="0.1"}'), 1);
  equal(buckets.get('{source="kubelet",le="10"}'), 1);
  equal(buckets.get('{source="kubelet",le="+Inf"}'), 2);
  equal(buckets.get('{source="cache",le="0.0025"}'), 1);
  equal(samples(text, "pod_lookup_duration_seconds_sum").get('{source="kubelet"}'), 20.07);
  deepEqual(
    samples(text, "pod_cache_lookups_total"),
    new Map([['{result="hit"}', 1], ['{result="miss"}', 1]]),
  );
});

Deno.test("dropped gids count each gid once per decision, by mode and namespace", () => {
  const metrics = makeMetrics("t");
  metrics.countDecision(decision({ dropped: [50000, 50001, 50000] }));
  metrics.countDecision(decision({ mode: "audit", verdict: "audit", dropped: [50000] }));
  deepEqual(
    samples(metrics.render(), "gids_dropped_total"),
    new Map([
      ['{mode="enforce",namespace="tenant-a"}', 2],
      ['{mode="audit",namespace="tenant-a"}', 1],
    ]),
  );
});

Deno.test("every family has its HELP and TYPE before its samples, once", () => {
  const metrics = makeMetrics("0.1.0");
  metrics.countLine("malformed");
  metrics.countLogEvent("rotation");
  const text = metrics.render();
  for (const name of ["decisions_total", "log_lines_total", "log_events_total"]) {
    equal(text.split(`# TYPE strict_supplementalgroups_${name} counter`).length, 2, name);
  }
  match(text, /^strict_supplementalgroups_exporter_info\{version="0\.1\.0"\} 1$/m);
  match(text, /^strict_supplementalgroups_log_lines_total\{kind="malformed"\} 1$/m);
  equal(text.endsWith("\n"), true);
});

Deno.test("a decision the image alone settled is counted, but is no Pod lookup", () => {
  const metrics = makeMetrics("t");
  metrics.countDecision(
    decision({ verdict: "unchanged", lookup: { source: "image", seconds: 0, missed: [] } }),
  );
  const text = metrics.render();
  deepEqual(
    samples(text, "decisions_total"),
    new Map([['{verdict="unchanged",mode="enforce",namespace="tenant-a"}', 1]]),
  );
  deepEqual(samples(text, "pod_lookup_duration_seconds_count"), new Map());
});
