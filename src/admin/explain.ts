/**
 * `strict-supplementalgroups explain`: the decision the wrapper would make
 * for a bundle (a create, or an exec with a process file or `-u`/`-g`),
 * made by the wrapper's own decision path and printed. It reads and never
 * writes.
 *
 * @module
 */

import type { JudgeSettings } from "../config/config.ts";
import { type DecisionRecord, IMAGE_SOURCE, judgedRecord } from "../core/decision_record.ts";
import { UsageError } from "../core/errors.ts";
import { type Flavour, parseInvocation } from "../runtime/argv.ts";
import { decide, type DecideSeams } from "../wrapper/decide.ts";
import { requestOf } from "../wrapper/request.ts";

/** What to explain. */
export interface ExplainRequest {
  /** The container's bundle, absolute. */
  readonly bundle: string;
  /** Judge an exec into the container rather than its create. */
  readonly exec?: boolean | undefined;
  /** The exec's `--process FILE`, absolute (implies an exec). */
  readonly process?: string | undefined;
  /** The exec's `-u uid[:gid]` (implies an exec). */
  readonly user?: string | undefined;
  /** The exec's `-g` values, runc only (implies an exec). */
  readonly additionalGids?: readonly string[] | undefined;
  /** The runtime's state root as the CRI passes it (`--root`): an exec's create record is kept per root. */
  readonly root?: string | undefined;
}

/**
 * Explains the decision for a bundle: the wrapper's decision path on the
 * command line the runtime would receive.
 *
 * @param request The bundle and the exec's words.
 * @param settings Mode, policy, annotations; `flavour` picks the runtime's grammar and rules.
 * @param seams Files, the Pod source and the runtime's exec rules.
 * @returns The decision record, in the shape the wrapper logs.
 */
export async function explain(
  request: ExplainRequest,
  settings: JudgeSettings & { readonly flavour: Flavour },
  seams: Omit<DecideSeams, "bundleOf">,
): Promise<DecisionRecord> {
  const bundle = request.bundle;
  const id = bundle.slice(bundle.lastIndexOf("/") + 1);
  const exec = request.exec || request.process !== undefined || request.user !== undefined ||
    (request.additionalGids ?? []).length > 0;
  const root = request.root === undefined ? [] : ["--root", request.root];
  const argv = exec
    ? [
      ...root,
      "exec",
      ...(request.process === undefined ? [] : ["--process", request.process]),
      ...(request.user === undefined ? [] : ["--user", request.user]),
      ...(request.additionalGids ?? []).flatMap((gid) => ["--additional-gids", gid]),
      id,
      ...(request.process === undefined ? ["id"] : []),
    ]
    : [...root, "create", "--bundle", bundle, id];
  const parsed = requestOf(parseInvocation(argv, settings.flavour), { cwd: bundle });
  if (parsed.kind !== "create" && parsed.kind !== "exec") {
    throw new UsageError(`explain: ${argv.join(" ")} is not a create or an exec`);
  }
  const decision = await decide(parsed, settings, {
    ...seams,
    bundleOf: () => Promise.resolve(bundle),
  });
  return decision.kind === "unjudged" ? decision.record : judgedRecord(decision.parts);
}

/**
 * Renders a decision record as an aligned table for people.
 *
 * @param record The record.
 * @returns Lines of text.
 *
 * @example
 * ```ts
 * import { equal } from "assert";
 * import { formatDecision } from "./explain.ts";
 *
 * equal(formatDecision({
 *   container: "s1", command: "create", spec: "/b/config.json", verdict: "untouched",
 *   mode: "enforce", reason: "pod sandbox",
 * }), "spec     /b/config.json\noutcome  pod sandbox: handed off untouched");
 * ```
 */
export function formatDecision(record: DecisionRecord): string {
  if ("reason" in record) {
    return _table([
      ["spec", record.spec],
      [
        "outcome",
        record.refusal === undefined
          ? `${record.reason}: handed off untouched`
          : `refuse: ${record.refusal}`,
      ],
    ]);
  }
  const list = (gids: readonly number[]) => gids.length === 0 ? "-" : gids.join(",");
  const outcome = record.refusal !== undefined
    ? `refuse: ${record.refusal}`
    : record.verdict === "rewrite"
    ? record.identityFrom === "create-time spec"
      ? "drop the undeclared -g values, then run"
      : "rewrite the spec, then run"
    : record.verdict === "audit"
    ? "run unchanged (audit: enforce would drop the gids above)"
    : "run unchanged";
  const { pod } = record;
  return _table([
    ["spec", record.spec],
    ["pod", `${pod.namespace}/${pod.name}${pod.uid ? ` (uid ${pod.uid})` : ""}`],
    ["container", record.containerName ?? "-"],
    ["image", record.image ?? "-"],
    ["mode", record.mode],
    ["identity", `uid ${record.uid} gid ${record.gid} (from the ${record.identityFrom})`],
    ["gids before", list(record.gids.before)],
    ["gids after", list(record.gids.after)],
    ["dropped", list(record.gids.dropped)],
    [
      "image grants",
      record.imageGids === undefined ? "not known: any gid the Pod does not entitle may go" : list(
        record.imageGids,
      ),
    ],
    ["entitled", record.entitled === undefined ? "not asked" : list(record.entitled)],
    ["policy rules", record.policy.rules],
    ...(record.policy.violations.length === 0
      ? [["policy", "ok"] as [string, string]]
      : record.policy.violations.map((v) => ["policy", v.message] as [string, string])),
    ...(record.supplementalGroupsPolicy === undefined
      ? []
      : [["pod policy", `supplementalGroupsPolicy ${record.supplementalGroupsPolicy}`] as [
        string,
        string,
      ]]),
    [
      "pod source",
      record.source === IMAGE_SOURCE
        ? "none needed: the image grants the user no gid of the list"
        : `${record.source} (${record.lookupMs} ms)`,
    ],
    ["outcome", outcome],
  ]);
}

function _table(rows: [string, string][]): string {
  const width = Math.max(...rows.map(([key]) => key.length));
  return rows.map(([key, value]) => `${key.padEnd(width)}  ${value}`).join("\n");
}
