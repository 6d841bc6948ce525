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
  config?: string[];
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
export const HANDLERS = ["runc", "strict-supplementalgroups"] as const;
