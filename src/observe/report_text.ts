/**
 * The readiness report as text, for a person: a summary of what was read,
 * then per namespace a verdict line and the workloads with findings, each
 * with what to change. Workloads without findings are counted, not listed
 * (`--json` lists them).
 *
 * @module
 */

import type { GidFinding, NamespaceReport, Report, Seen, WorkloadReport } from "./report.ts";

/**
 * Renders a report.
 *
 * @param report The report.
 * @returns The text, ending with a newline.
 *
 * @example
 * ```ts
 * import { equal } from "assert";
 * import { reportBuilder } from "./report.ts";
 * import { renderReport } from "./report_text.ts";
 *
 * const text = renderReport(reportBuilder().finish());
 * equal(text.split("\n")[0], "read 0 files: 0 decisions");
 * ```
 */
export function renderReport(report: Report): string {
  const lines = [..._summary(report)];
  for (const namespace of report.namespaces) lines.push("", ..._namespace(namespace));
  if (report.namespaces.length === 0) lines.push("", "no decisions about Kubernetes containers");
  return `${lines.join("\n")}\n`;
}

function _summary(report: Report): string[] {
  const { read } = report;
  const parts = [`${read.decisions} ${_plural(read.decisions, "decision")}`];
  if (report.since !== undefined) parts.push(`${read.older} before ${report.since} not counted`);
  if (report.untouched > 0) parts.push(`${report.untouched} without a Pod handed off untouched`);
  if (read.malformed > 0) {
    parts.push(`${read.malformed} malformed ${_plural(read.malformed, "line")}`);
  }
  if (read.truncated > 0) {
    parts.push(`${read.truncated} truncated ${_plural(read.truncated, "line")} at a file's end`);
  }
  if (read.oversized > 0) {
    parts.push(`${read.oversized} oversized ${_plural(read.oversized, "line")} skipped`);
  }
  return [
    `read ${read.files.length} ${_plural(read.files.length, "file")}: ${parts.join(", ")}`,
    ...read.files.map((file) => `  ${file}`),
    ...read.examples.map((example) => `  malformed: ${example}`),
  ];
}

function _namespace(namespace: NamespaceReport): string[] {
  const findings = namespace.workloads.filter(_hasFindings);
  const decisions = namespace.workloads.reduce((sum, w) => sum + w.count, 0);
  const verdict = namespace.verdict === "ready"
    ? "ready for enforce / Strict"
    : `${_workloads(namespace.workloadsRelying)} ${
      namespace.workloadsRelying === 1 ? "relies" : "rely"
    } on image groups`;
  const breaking = namespace.workloads.filter((w) => w.violations.length > 0).length;
  const refused = [
    breaking > 0
      ? `; ${_workloads(breaking)} ${breaking === 1 ? "breaks" : "break"} the node policy`
      : "",
    namespace.workloadsRefused > 0 ? `; ${_workloads(namespace.workloadsRefused)} refused` : "",
  ].join("");
  const counted = `${namespace.workloads.length} ${
    _plural(namespace.workloads.length, "workload")
  }, ${decisions} ${_plural(decisions, "decision")}`;
  const name = namespace.namespace === "-" ? "(no pod known)" : namespace.namespace;
  return [
    `namespace ${name}: ${verdict}${refused} (${counted})`,
    ...findings.flatMap(_workload),
  ];
}

function _hasFindings(workload: WorkloadReport): boolean {
  return workload.gids.length > 0 || workload.violations.length > 0 ||
    workload.refusals.length > 0;
}

function _workload(workload: WorkloadReport): string[] {
  const verdicts = Object.entries(workload.verdicts).sort(([a], [b]) => a < b ? -1 : 1)
    .map(([verdict, count]) => `${verdict} ${count}`).join(", ");
  const rows: [string, string][] = [
    ["decisions", `${workload.count} (${verdicts}), ${_when(workload)}`],
    ...workload.gids.map((gid): [string, string] => [`gid ${gid.gid}`, _gid(gid)]),
    ...workload.violations.map((v): [string, string] => [
      "policy",
      `${v.rule} ${v.value}, ${_times(v.count)}, ${_when(v)}`,
    ]),
    ...workload.refusals.map((r): [string, string] => [
      "refused",
      `${r.cause}, ${_times(r.count)}, ${_when(r)}: ${r.message}`,
    ]),
    ...workload.fixes.map((fix): [string, string] => ["fix", fix]),
  ];
  const width = Math.max(...rows.map(([key]) => key.length));
  return [
    `  ${workload.workload}  container ${workload.container}  image ${workload.image}`,
    ...rows.map(([key, value]) => `    ${key.padEnd(width)}  ${value}`),
  ];
}

function _gid(gid: GidFinding): string {
  const parts = [
    gid.dropped > 0 ? `dropped ${_times(gid.dropped)}` : "",
    gid.wouldDrop > 0 ? `would be dropped ${_times(gid.wouldDrop)} (audit)` : "",
    gid.refused > 0 ? `refused ${_times(gid.refused)} (deny)` : "",
  ].filter((part) => part !== "");
  return `granted by the image, not declared by the Pod: ${parts.join(", ")}, ${_when(gid)}`;
}

function _when(seen: Seen): string {
  return seen.firstSeen === seen.lastSeen
    ? `seen ${seen.firstSeen}`
    : `first ${seen.firstSeen}, last ${seen.lastSeen}`;
}

function _times(n: number): string {
  return n === 1 ? "once" : `${n} times`;
}

function _workloads(n: number): string {
  return `${n} ${_plural(n, "workload")}`;
}

function _plural(n: number, word: string): string {
  return n === 1 ? word : `${word}s`;
}
