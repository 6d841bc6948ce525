/**
 * The exporter's counters, folded from decision records, and their
 * Prometheus text exposition (format 0.0.4,
 * prometheus/docs `content/docs/instrumenting/exposition_formats.md`).
 * Every label value comes from a small set: verdicts, modes, causes, rules
 * and sources are the wrapper's own words, and anything else a line may
 * carry is counted as `other`; the namespace is the one label that grows
 * with the cluster, and no label names a Pod.
 *
 * @module
 */

import { IMAGE_SOURCE } from "../core/decision_record.ts";
import type { Line } from "./lines.ts";
import { type LoggedDecision, readLogLine } from "./logged_decision.ts";

/** The metric names' prefix. */
export const PREFIX = "strict_supplementalgroups_";

/** The Pod-lookup histogram's buckets, in seconds. */
export const LOOKUP_BUCKETS: readonly number[] = [
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
];

/** What a log line was, as counted by `log_lines_total`. */
export type LineKind = "decision" | "other" | "malformed" | "truncated" | "oversized";

/** Events of following the log. */
export type LogEvent = "rotation" | "truncation" | "read-error";

const MODES = new Set(["enforce", "audit", "deny"]);
const CAUSES = new Set([
  "undeclared-gids",
  "created-unchecked",
  "policy",
  "non-kubernetes",
  "restore",
  "pod-lookup",
  "spec",
  "usage",
  "internal",
  "unrecorded",
]);
const RULES = new Set(["run-as-user", "run-as-group", "supplemental-groups", "fs-group"]);
const SOURCE = /^[a-z][a-z0-9-]{0,31}$/;
const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

interface Family {
  readonly help: string;
  /** Sample values by their label set (rendered `{a="b"}`). */
  readonly values: Map<string, number>;
}

/** One histogram series: cumulative bucket counts, sum and count. */
interface Series {
  readonly buckets: number[];
  sum: number;
  count: number;
}

/** The exporter's counters. */
export interface Metrics {
  /** Counts one decision. */
  countDecision(decision: LoggedDecision): void;
  /** Counts one line of the log. */
  countLine(kind: LineKind): void;
  /** Counts an event of following the log. */
  countLogEvent(event: LogEvent): void;
  /** The text exposition. */
  render(): string;
}

/**
 * Makes the counters.
 *
 * @param version The exporter's version, for `exporter_info`.
 * @returns The counters.
 *
 * @example
 * ```ts
 * import { equal } from "assert";
 * import { readLogLine } from "./logged_decision.ts";
 * import { makeMetrics } from "./metrics.ts";
 *
 * const metrics = makeMetrics("0.1.0");
 * const line = readLogLine(
 *   '{"time":"2026-12-01T10:00:00.000Z","level":"info","msg":"decision","container":"c1",' +
 *     '"command":"create","verdict":"rewrite","mode":"enforce",' +
 *     '"pod":{"namespace":"tenant-a","name":"web"},' +
 *     '"gids":{"before":[1000,50000],"after":[1000],"dropped":[50000]},' +
 *     '"policy":{"rules":"defaults","violations":[]},"source":"cache","lookupMs":1.5}',
 * );
 * if (line.kind === "decision") metrics.countDecision(line.decision);
 * const text = metrics.render();
 * equal(
 *   text.includes(
 *     'strict_supplementalgroups_decisions_total{verdict="rewrite",mode="enforce",namespace="tenant-a"} 1',
 *   ),
 *   true,
 * );
 * equal(text.includes('strict_supplementalgroups_pod_cache_lookups_total{result="hit"} 1'), true);
 * ```
 */
export function makeMetrics(version: string): Metrics {
  const families = new Map<string, Family>();
  const family = (name: string, help: string): Family => {
    const made = { help, values: new Map() };
    families.set(name, made);
    return made;
  };
  const lookupSeries = new Map<string, Series>();
  const add = (f: Family, labels: Record<string, string>, by = 1) => {
    const key = _labels(labels);
    f.values.set(key, (f.values.get(key) ?? 0) + by);
  };
  const decisions = family(
    "decisions_total",
    "Decisions the wrapper logged, by verdict, mode and the Pod's namespace.",
  );
  const gids = family(
    "gids_dropped_total",
    "Gids the image granted and the Pod did not declare: dropped (mode enforce), " +
      "that would be dropped (audit), or that got the container refused (deny).",
  );
  const refusals = family("refusals_total", "Refused requests, by cause and namespace.");
  const violations = family(
    "policy_violations_total",
    "Node policy violations, by rule and namespace.",
  );
  const cache = family(
    "pod_cache_lookups_total",
    "Lookups a node cache answered (hit) or did not hold (miss).",
  );
  const lines = family("log_lines_total", "Lines read from the decision log, by kind.");
  const events = family(
    "log_events_total",
    "Rotations and in-place truncations of the decision log the exporter followed, and reads " +
      "that failed (the log or a backup).",
  );

  return {
    countDecision(decision) {
      const mode = MODES.has(decision.mode) ? decision.mode : "other";
      const namespace = decision.pod === undefined
        ? ""
        : NAMESPACE.test(decision.pod.namespace)
        ? decision.pod.namespace
        : "other";
      add(decisions, { verdict: decision.verdict, mode, namespace });
      if (decision.dropped.length > 0) {
        add(gids, { mode, namespace }, new Set(decision.dropped).size);
      }
      if (decision.verdict === "refuse") {
        const cause = decision.cause !== undefined && CAUSES.has(decision.cause)
          ? decision.cause
          : "other";
        add(refusals, { cause, namespace });
      }
      for (const violation of decision.violations) {
        add(violations, { rule: RULES.has(violation.rule) ? violation.rule : "other", namespace });
      }
      const lookup = decision.lookup;
      // A decision the image alone settled asked no source: it is no lookup.
      if (lookup !== undefined && lookup.source !== IMAGE_SOURCE) {
        const source = SOURCE.test(lookup.source) ? lookup.source : "other";
        let series = lookupSeries.get(source);
        if (series === undefined) {
          series = { buckets: LOOKUP_BUCKETS.map(() => 0), sum: 0, count: 0 };
          lookupSeries.set(source, series);
        }
        LOOKUP_BUCKETS.forEach((le, i) => {
          if (lookup.seconds <= le) series.buckets[i]!++;
        });
        series.sum += lookup.seconds;
        series.count++;
        if (lookup.source === "cache") add(cache, { result: "hit" });
        else if (lookup.missed.includes("cache")) add(cache, { result: "miss" });
      }
    },
    countLine(kind) {
      add(lines, { kind });
    },
    countLogEvent(event) {
      add(events, { event });
    },
    render() {
      const out = [
        `# HELP ${PREFIX}exporter_info The exporter's version.`,
        `# TYPE ${PREFIX}exporter_info gauge`,
        `${PREFIX}exporter_info${_labels({ version })} 1`,
      ];
      for (const [name, f] of families) {
        out.push(`# HELP ${PREFIX}${name} ${f.help}`, `# TYPE ${PREFIX}${name} counter`);
        for (const [labels, value] of f.values) out.push(`${PREFIX}${name}${labels} ${value}`);
      }
      const histogram = `${PREFIX}pod_lookup_duration_seconds`;
      out.push(
        `# HELP ${histogram} How long finding a Pod's groups took, by the source that answered.`,
        `# TYPE ${histogram} histogram`,
      );
      for (const [source, series] of lookupSeries) {
        LOOKUP_BUCKETS.forEach((le, i) => {
          out.push(
            `${histogram}_bucket${_labels({ source, le: String(le) })} ${series.buckets[i]}`,
          );
        });
        out.push(
          `${histogram}_bucket${_labels({ source, le: "+Inf" })} ${series.count}`,
          `${histogram}_sum${_labels({ source })} ${_number(series.sum)}`,
          `${histogram}_count${_labels({ source })} ${series.count}`,
        );
      }
      return `${out.join("\n")}\n`;
    },
  };
}

function _labels(labels: Record<string, string>): string {
  const parts = Object.entries(labels).map(([key, value]) =>
    `${key}="${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`
  );
  return parts.length === 0 ? "" : `{${parts.join(",")}}`;
}

function _number(value: number): string {
  return Number.isInteger(value) ? String(value) : String(Math.round(value * 1e9) / 1e9);
}

/** Where a followed log's lines and events go (src/observe/log_follower.ts `FollowSink`). */
export interface LineSink {
  /** A line, or the end of a line a file was cut short in. */
  line(line: Line | { readonly kind: "truncated" }): void;
  /** A rotation or a truncation. */
  event(event: LogEvent): void;
}

/**
 * Counts a log's lines into the metrics: each line's kind, and each decision.
 *
 * @param metrics The counters.
 * @returns The sink to follow the log with.
 */
export function countLines(metrics: Metrics): LineSink {
  return {
    line(line) {
      if (line.kind !== "line") return metrics.countLine(line.kind);
      if (line.text === "") return;
      const logged = readLogLine(line.text);
      metrics.countLine(logged.kind);
      if (logged.kind === "decision") metrics.countDecision(logged.decision);
    },
    event: (event) => metrics.countLogEvent(event),
  };
}
