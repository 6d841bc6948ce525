/**
 * The scenario table (`scenarios.json`) shared by the containerd CRI e2e
 * (make e2e) and the kind harness (make e2e-kind), with its types.
 *
 * @module
 */

/** A Pod's or container's security context, as in the Pod manifest. */
export interface SecurityFields {
  runAsUser?: number;
  runAsGroup?: number;
  supplementalGroups?: number[];
  fsGroup?: number;
}

/** One row of the table. */
export interface Row {
  name: string;
  pod: SecurityFields;
  container?: SecurityFields;
  /**
   * Gids the kubelet adds for the Pod's PersistentVolumes
   * (`pv.beta.kubernetes.io/gid`): in the CRI's supplemental groups, not in
   * the Pod spec.
   */
  volumeGroups?: number[];
  config?: string[];
  /** The image grants the user no group: no create or exec asks a Pod source. */
  noLookup?: boolean;
  /**
   * Why the wrapper's outcome (the Pod at Merge) may differ from native
   * `supplementalGroupsPolicy: Strict` on containerd 2.x, when it does (a
   * mode of the wrapper's own); `strict` is then what native Strict shows.
   */
  strictDiffers?: string;
  /** `id` under native Strict, where `strictDiffers` says it is not the wrapper's. */
  strict?: string;
  /**
   * What `id` shows per handler; `strict-supplementalgroups` is the outcome
   * on containerd's CRI source, `strict-supplementalgroups/kubelet` (when
   * it differs) the outcome where the kubelet's Pod spec decides.
   */
  expect: Record<string, string | { error: string }>;
}

/** What one row produced on one handler. */
export type Outcome =
  | {
    kind: "ran";
    /** `id` as the first container's process printed it. */
    create: string;
    /** `id` through ExecSync (the first one that differs from the others, if any). */
    exec: string;
    sandboxReady: boolean;
    /** Whether the second container and every exec showed the first container's identity. */
    same?: boolean;
    /** The requests the kubelet answered for the Pod, sandbox to last exec. */
    kubeletRequests?: number;
  }
  | { kind: "refused"; error: string; sandboxReady: boolean };

export const TABLE: { rows: Row[] } = JSON.parse(
  await Deno.readTextFile(new URL("./scenarios.json", import.meta.url)),
);
/** The handlers of the kind harness's nodes: the node's runtime, and the wrapper's. */
export const HANDLERS = ["runc", "strict-supplementalgroups"] as const;

/** The bare runtimes, the controls: what the CRI alone does. */
export const CONTROLS = ["runc", "crun"] as const;

/** The wrapper over each of them. */
export const WRAPPERS = ["strict-supplementalgroups", "strict-supplementalgroups-crun"] as const;

/**
 * What a row expects of a handler, where the wrapper's groups come from
 * containerd's CRI or from the kubelet's Pod spec.
 *
 * @param row The row.
 * @param handler The handler (crun expects what runc does, crun's wrapper what the wrapper does).
 * @param source Where the wrapper looks the Pod up.
 * @returns The expected `id` line, or the refusal.
 */
export function expectation(
  row: Row,
  handler: string,
  source: "cri" | "kubelet",
): string | { error: string } {
  const key = (CONTROLS as readonly string[]).includes(handler)
    ? "runc"
    : "strict-supplementalgroups";
  return (source === "kubelet" ? row.expect[`${key}/kubelet`] : undefined) ?? row.expect[key]!;
}

/**
 * The kubelet requests a Pod of the row costs through a handler whose
 * wrapper asks the kubelet: one, by the first container whose image grants
 * a gid in its list (the Pod cache answers the rest), and none when the
 * image grants the user nothing, or for a bare runtime.
 *
 * @param row The row.
 * @param handler The handler.
 * @returns The requests, sandbox to last exec.
 */
export function kubeletRequests(row: Row, handler: string): number {
  return (CONTROLS as readonly string[]).includes(handler) || row.noLookup ? 0 : 1;
}

/**
 * What `id` shows under native `supplementalGroupsPolicy: Strict` (a bare
 * runtime on containerd 2.x): the wrapper's outcome, except where the row
 * says why they differ.
 *
 * @param row The row.
 * @returns The expected `id` line.
 */
export function strictExpectation(row: Row): string {
  const wrapper = row.expect["strict-supplementalgroups"];
  return row.strict ?? (typeof wrapper === "string" ? wrapper : "");
}
