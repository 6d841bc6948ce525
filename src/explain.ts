/**
 * `strict-supplementalgroups explain`: the decision the wrapper would make
 * for a bundle (and an exec process file), with the Pod from a file or from
 * the kubelet. It reads and never writes.
 *
 * @module
 */

import { assess, type Assessment } from "./assess.ts";
import type { Config } from "./config.ts";
import { containerIdentity } from "./container_identity.ts";
import { KubeletError } from "./errors.ts";
import type { Host } from "./host.ts";
import { findPod, type Pod, podGroups, type PodRef, supplementalGroupsPolicy } from "./pod.ts";
import { parseSpec, type ProcessUser, readAnnotations, readUser } from "./spec.ts";

/** What to explain. */
export interface ExplainRequest {
  readonly bundle: string;
  readonly process?: string | undefined;
  /** A Pod or PodList JSON file; without it the kubelet is asked. */
  readonly pod?: string | undefined;
}

/** The explanation. */
export type Explanation =
  | { readonly kind: "untouched"; readonly reason: string; readonly spec: string }
  | {
    readonly kind: "decision";
    readonly spec: string;
    readonly pod: PodRef;
    readonly mode: Config["mode"];
    readonly user: ProcessUser;
    readonly supplementalGroupsPolicy: string;
    readonly assessment: Assessment;
  };

/**
 * Explains the decision for a spec.
 *
 * @param config The configuration to judge with.
 * @param request Bundle, optional process file and Pod file.
 * @param host Reads files and asks the kubelet.
 * @returns The explanation.
 */
export async function explain(
  config: Config,
  request: ExplainRequest,
  host: Pick<Host, "readSpecFile" | "fetchPods">,
): Promise<Explanation> {
  const configFile = `${request.bundle.replace(/\/$/, "")}/config.json`;
  const bundleDoc = parseSpec(await host.readSpecFile(configFile), {
    path: configFile,
    kind: "config",
  });
  const identity = containerIdentity(readAnnotations(bundleDoc), config.annotations);
  if (identity.kind !== "container") {
    const reason = identity.kind === "sandbox"
      ? "a pod sandbox: handed off untouched"
      : config.allowNonKubernetes
      ? "no Kubernetes annotations: handed off untouched"
      : "no Kubernetes annotations: refused (allow-non-kubernetes = false)";
    return { kind: "untouched", reason, spec: configFile };
  }
  const spec = request.process ?? configFile;
  const user = request.process === undefined ? readUser(bundleDoc) : readUser(
    parseSpec(await host.readSpecFile(request.process), {
      path: request.process,
      kind: "process",
    }),
    { optional: true },
  ) ?? { uid: 0, gid: 0, additionalGids: [] };
  const pods = request.pod === undefined
    ? await host.fetchPods(config)
    : _podsOf(await host.readSpecFile(request.pod), request.pod);
  const pod = findPod(pods, identity.pod);
  const assessment = assess({
    mode: config.mode,
    policy: config.policy,
    namespace: identity.pod.namespace,
    podName: `${identity.pod.namespace}/${identity.pod.name}`,
    user,
    groups: podGroups(pod, identity.pod.container),
  });
  return {
    kind: "decision",
    spec,
    pod: identity.pod,
    mode: config.mode,
    user,
    supplementalGroupsPolicy: supplementalGroupsPolicy(pod),
    assessment,
  };
}

/**
 * Renders an explanation as an aligned table for people.
 *
 * @param explanation The explanation.
 * @returns Lines of text.
 */
export function formatExplanation(explanation: Explanation): string {
  if (explanation.kind === "untouched") {
    return _table([["spec", explanation.spec], ["outcome", explanation.reason]]);
  }
  const { pod, user, assessment: a } = explanation;
  const list = (gids: readonly number[]) => gids.length === 0 ? "-" : gids.join(",");
  const outcome = a.refusal !== undefined
    ? `refuse: ${a.refusal}`
    : a.decision.verdict === "rewrite"
    ? "rewrite the spec, then run"
    : a.decision.verdict === "audit"
    ? "run unchanged (audit: enforce would drop the gids above)"
    : "run unchanged";
  return _table([
    ["spec", explanation.spec],
    ["pod", `${pod.namespace}/${pod.name}${pod.uid ? ` (uid ${pod.uid})` : ""}`],
    ["container", pod.container ?? "-"],
    ["mode", explanation.mode],
    ["identity", `uid ${user.uid} gid ${user.gid}`],
    ["gids before", list(a.decision.before)],
    ["gids after", list(a.decision.after)],
    ["dropped", list(a.decision.dropped)],
    ["entitled", list([...a.entitled])],
    ["policy rules", a.rulesSource],
    ...(a.violations.length === 0
      ? [["policy", "ok"] as [string, string]]
      : a.violations.map((v) => ["policy", v.message] as [string, string])),
    ["pod policy", `supplementalGroupsPolicy ${explanation.supplementalGroupsPolicy}`],
    ["outcome", outcome],
  ]);
}

/**
 * The explanation as plain JSON data.
 *
 * @param explanation The explanation.
 * @returns A JSON-serialisable object.
 */
export function explanationJson(explanation: Explanation): Record<string, unknown> {
  if (explanation.kind === "untouched") return { ...explanation };
  const a = explanation.assessment;
  return {
    kind: "decision",
    spec: explanation.spec,
    pod: explanation.pod,
    mode: explanation.mode,
    user: explanation.user,
    supplementalGroupsPolicy: explanation.supplementalGroupsPolicy,
    verdict: a.refusal !== undefined ? "refuse" : a.decision.verdict,
    gids: { before: a.decision.before, after: a.decision.after, dropped: a.decision.dropped },
    entitled: [...a.entitled],
    policy: { rules: a.rulesSource, violations: a.violations },
    refusal: a.refusal ?? null,
  };
}

function _podsOf(text: string, path: string): Pod[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new KubeletError(`pod file ${path}: not JSON: ${(error as Error).message}`);
  }
  const items = (value as { items?: unknown })?.items;
  if (Array.isArray(items)) return items as Pod[];
  if (typeof value === "object" && value !== null) return [value as Pod];
  throw new KubeletError(`pod file ${path}: neither a Pod nor a PodList`);
}

function _table(rows: [string, string][]): string {
  const width = Math.max(...rows.map(([key]) => key.length));
  return rows.map(([key, value]) => `${key.padEnd(width)}  ${value}`).join("\n");
}
