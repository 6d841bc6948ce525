/**
 * The readiness report: which workloads rely on groups their image grants
 * and their Pod never declares, namespace by namespace, folded from the
 * decision log. Memory grows with the number of workloads, never with the
 * number of lines: a report over a year of logs holds one entry per
 * workload and gid.
 *
 * @module
 */

import type { LoggedDecision } from "./logged_decision.ts";
import { workloadOf } from "./workload.ts";

/** The version of the `--json` shape (docs/report.schema.json). */
export const REPORT_SCHEMA_VERSION = 1;

/** How many times something was seen, and when first and last. */
export interface Seen {
  /** How many decisions. */
  count: number;
  /** The first one's time, ISO 8601. */
  firstSeen: string;
  /** The last one's time, ISO 8601. */
  lastSeen: string;
}

/** An undeclared gid of one workload. */
export interface GidFinding extends Seen {
  /** The gid. */
  readonly gid: number;
  /** Decisions in enforce that dropped it. */
  dropped: number;
  /** Decisions in audit that would have dropped it. */
  wouldDrop: number;
  /** Decisions in deny that refused the container for it. */
  refused: number;
}

/** A workload: a Pod name with its generated suffixes folded, one container, one image. */
export interface WorkloadReport extends Seen {
  /** The folded Pod name (src/observe/workload.ts). */
  readonly workload: string;
  /** The container's name (`-` when the record has none). */
  readonly container: string;
  /** The image (`-` when the record has none). */
  readonly image: string;
  /** Decisions by verdict. */
  readonly verdicts: Record<string, number>;
  /** The gids its image grants and its Pod does not declare. */
  readonly gids: GidFinding[];
  /** Policy violations: rule and offending id. */
  readonly violations: (Seen & { readonly rule: string; readonly value: number })[];
  /** Refusals by cause, with the last message seen. */
  readonly refusals: (Seen & { readonly cause: string; message: string })[];
  /** What to change, one sentence each. */
  fixes: string[];
}

/** One namespace. */
export interface NamespaceReport {
  /** The namespace (`-` for refusals made before a Pod was known). */
  readonly namespace: string;
  /** `ready` when no workload relies on undeclared gids, else `relies-on-image-groups`. */
  verdict: "ready" | "relies-on-image-groups";
  /** How many workloads rely on undeclared gids. */
  workloadsRelying: number;
  /** How many workloads were refused at least once. */
  workloadsRefused: number;
  /** Its workloads, by name. */
  readonly workloads: WorkloadReport[];
}

/** What was read. */
export interface ReadStats {
  /** The files read, oldest first. */
  readonly files: string[];
  /** Decision records counted. */
  decisions: number;
  /** Decision records before `--since`, not counted. */
  older: number;
  /** Well-formed records that are not decisions. */
  other: number;
  /** Lines that are not records, or decisions of an unknown shape. */
  malformed: number;
  /** Lines cut short at the end of a file. */
  truncated: number;
  /** Lines over the length bound, skipped. */
  oversized: number;
  /** The first malformed lines' reasons, with file and line number (at most 10). */
  readonly examples: string[];
}

/** The report. */
export interface Report {
  /** The `--json` shape's version. */
  readonly schemaVersion: number;
  /** Decisions from this time on, ISO 8601 (with `--since`). */
  readonly since?: string;
  /** What was read. */
  readonly read: ReadStats;
  /** Decisions without a Pod (sandboxes, non-Kubernetes containers) handed off untouched. */
  untouched: number;
  /** The namespaces, by name. */
  readonly namespaces: NamespaceReport[];
}

/** A report being folded. */
export interface ReportBuilder {
  /** Counts a decision. */
  add(decision: LoggedDecision): void;
  /** The report, with its namespaces and workloads sorted and their verdicts and fixes set. */
  finish(): Report;
  /** What was read; the reader counts into it. */
  readonly read: ReadStats;
}

/**
 * Starts a report.
 *
 * @param since Count decisions from this time on (milliseconds since the epoch).
 * @returns The builder.
 *
 * @example
 * ```ts
 * import { equal } from "assert";
 * import { readLogLine } from "./logged_decision.ts";
 * import { reportBuilder } from "./report.ts";
 *
 * const builder = reportBuilder();
 * const line = readLogLine(
 *   '{"time":"2026-12-01T10:00:00.000Z","level":"warn","msg":"decision","container":"c1",' +
 *     '"command":"create","verdict":"audit","mode":"audit",' +
 *     '"pod":{"namespace":"tenant-a","name":"web-7d4b9c8f5-x2k9p"},"containerName":"main",' +
 *     '"image":"registry.example/web:1",' +
 *     '"gids":{"before":[1000,50000],"after":[1000],"dropped":[50000]},' +
 *     '"policy":{"rules":"defaults","violations":[]},"source":"kubelet","lookupMs":12.5}',
 * );
 * if (line.kind === "decision") builder.add(line.decision);
 * const report = builder.finish();
 * equal(report.namespaces[0]?.verdict, "relies-on-image-groups");
 * equal(report.namespaces[0]?.workloads[0]?.workload, "web-*-*");
 * equal(report.namespaces[0]?.workloads[0]?.gids[0]?.wouldDrop, 1);
 * ```
 */
export function reportBuilder(since?: number): ReportBuilder {
  const read: ReadStats = {
    files: [],
    decisions: 0,
    older: 0,
    other: 0,
    malformed: 0,
    truncated: 0,
    oversized: 0,
    examples: [],
  };
  const namespaces = new Map<string, Map<string, WorkloadReport>>();
  let untouched = 0;
  return {
    read,
    add(decision) {
      if (since !== undefined && decision.time < since) {
        read.older++;
        return;
      }
      read.decisions++;
      if (decision.pod === undefined && decision.verdict !== "refuse") {
        untouched++;
        return;
      }
      const namespace = decision.pod?.namespace ?? "-";
      const workload = decision.pod === undefined ? "-" : workloadOf(decision.pod.name);
      const container = decision.container ?? "-";
      const image = decision.image ?? "-";
      const key = JSON.stringify([workload, container, image]);
      const workloads = namespaces.get(namespace) ?? new Map<string, WorkloadReport>();
      namespaces.set(namespace, workloads);
      const at = new Date(decision.time).toISOString();
      let entry = workloads.get(key);
      if (entry === undefined) {
        entry = {
          workload,
          container,
          image,
          ..._seen(at),
          verdicts: {},
          gids: [],
          violations: [],
          refusals: [],
          fixes: [],
        };
        workloads.set(key, entry);
      }
      _see(entry, at);
      entry.verdicts[decision.verdict] = (entry.verdicts[decision.verdict] ?? 0) + 1;
      for (const gid of new Set(decision.dropped)) {
        const finding = _tally(entry.gids, (g) => g.gid === gid, at, () => ({
          gid,
          ..._seen(at),
          dropped: 0,
          wouldDrop: 0,
          refused: 0,
        }));
        if (decision.verdict === "audit") finding.wouldDrop++;
        else if (decision.verdict === "refuse") finding.refused++;
        else finding.dropped++;
      }
      for (const { rule, value } of decision.violations) {
        _tally(entry.violations, (v) => v.rule === rule && v.value === value, at, () => ({
          rule,
          value,
          ..._seen(at),
        }));
      }
      if (decision.verdict === "refuse") {
        const cause = decision.cause ?? "unrecorded";
        const finding = _tally(entry.refusals, (r) => r.cause === cause, at, () => ({
          cause,
          message: "",
          ..._seen(at),
        }));
        finding.message = decision.refusal ?? "";
      }
    },
    finish() {
      const sorted = [...namespaces.entries()].sort(([a], [b]) =>
        a === "-" ? 1 : b === "-" ? -1 : a < b ? -1 : a > b ? 1 : 0
      );
      return {
        schemaVersion: REPORT_SCHEMA_VERSION,
        ...(since === undefined ? {} : { since: new Date(since).toISOString() }),
        read,
        untouched,
        namespaces: sorted.map(([namespace, workloads]) => _finishNamespace(namespace, workloads)),
      };
    },
  };
}

function _finishNamespace(
  namespace: string,
  workloads: Map<string, WorkloadReport>,
): NamespaceReport {
  const list = [...workloads.values()].sort((a, b) =>
    _compare(a.workload, b.workload) || _compare(a.container, b.container) ||
    _compare(a.image, b.image)
  );
  for (const workload of list) {
    workload.gids.sort((a, b) => a.gid - b.gid);
    workload.violations.sort((a, b) => _compare(a.rule, b.rule) || a.value - b.value);
    workload.refusals.sort((a, b) => _compare(a.cause, b.cause));
    workload.fixes = _fixes(namespace, workload);
  }
  const relying = list.filter((w) => w.gids.length > 0).length;
  return {
    namespace,
    verdict: relying === 0 ? "ready" : "relies-on-image-groups",
    workloadsRelying: relying,
    workloadsRefused: list.filter((w) => w.refusals.length > 0).length,
    workloads: list,
  };
}

/** One sentence per thing to change. */
function _fixes(namespace: string, workload: WorkloadReport): string[] {
  const fixes: string[] = [];
  const image = workload.image === "-" ? "its image" : `image ${workload.image}`;
  if (workload.gids.length > 0) {
    const gids = workload.gids.map((g) => g.gid);
    fixes.push(
      `if ${workload.workload} needs ${_plural(gids.length, "gid")} ${gids.join(", ")}, ` +
        `declare ${gids.length === 1 ? "it" : "them"} in its Pod's ` +
        `securityContext.supplementalGroups; else remove ${
          gids.length === 1 ? "it" : "them"
        } from ${image}'s /etc/group`,
    );
  }
  for (const violation of workload.violations) {
    fixes.push(
      `${violation.rule} ${violation.value} breaks the node policy for namespace ${namespace}: ` +
        `change the Pod's securityContext or ${image}, or the policy's rules for ${namespace}`,
    );
  }
  for (const refusal of workload.refusals) {
    if (refusal.cause === "pod-lookup") {
      fixes.push(`the Pod's groups could not be looked up: ${refusal.message}`);
    } else if (refusal.cause === "created-unchecked") {
      fixes.push(`recreate the Pod: its containers were created without this wrapper`);
    } else if (refusal.cause === "spec" || refusal.cause === "internal") {
      fixes.push(`the wrapper could not judge the container: ${refusal.message}`);
    }
  }
  return fixes;
}

function _plural(n: number, word: string): string {
  return n === 1 ? word : `${word}s`;
}

/** The finding of a list that `matches`, added when there is none, seen once more at `at`. */
function _tally<T extends Seen>(
  list: T[],
  matches: (finding: T) => boolean,
  at: string,
  make: () => T,
): T {
  let finding = list.find(matches);
  if (finding === undefined) {
    finding = make();
    list.push(finding);
  }
  _see(finding, at);
  return finding;
}

function _seen(at: string): Seen {
  return { count: 0, firstSeen: at, lastSeen: at };
}

function _see(seen: Seen, at: string): void {
  seen.count++;
  if (at < seen.firstSeen) seen.firstSeen = at;
  if (at > seen.lastSeen) seen.lastSeen = at;
}

function _compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
