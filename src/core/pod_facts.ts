/**
 * The group facts of a Pod: exactly what the decision needs of it, whichever
 * source supplied them. A Pod's `spec.securityContext` and its containers'
 * `securityContext.runAsGroup` cannot change after the Pod is created
 * (kubernetes pkg/apis/core/validation ValidatePodUpdate allows only image,
 * tolerations and a few other fields to change), so these facts, keyed by
 * the Pod's uid, never go stale.
 *
 * @module
 */

import type { PodGroups } from "./decision.ts";
import { PodSourceError } from "./errors.ts";

/** One container's own group setting. */
export interface ContainerFacts {
  /** The container's name (init and ephemeral containers included). */
  readonly name: string;
  /** Its `securityContext.runAsGroup`, when it sets one. */
  readonly runAsGroup?: number;
}

/** The group facts of one Pod. */
export interface PodFacts {
  /** The Pod's namespace. */
  readonly namespace: string;
  /** The Pod's name. */
  readonly name: string;
  /** The Pod's uid, when the source knows it. */
  readonly uid?: string;
  /** `spec.securityContext.runAsGroup`. */
  readonly runAsGroup?: number;
  /** `spec.securityContext.supplementalGroups`. */
  readonly supplementalGroups: readonly number[];
  /** `spec.securityContext.fsGroup`. */
  readonly fsGroup?: number;
  /** `spec.securityContext.supplementalGroupsPolicy` (KEP-3619), `Merge` when unset. */
  readonly supplementalGroupsPolicy: string;
  /** Every container of the Pod. */
  readonly containers: readonly ContainerFacts[];
}

/**
 * The group fields that entitle one container of a Pod. supplementalGroups
 * and fsGroup exist only at Pod level; a container-level runAsGroup
 * overrides the Pod's (kubernetes pkg/securitycontext
 * DetermineEffectiveSecurityContext).
 *
 * @param facts The Pod's facts.
 * @param container The container name, when the CRI gave one.
 * @returns The group fields.
 * @throws {PodSourceError} When the named container is not in the Pod.
 *
 * @example A container's runAsGroup wins over the Pod's
 * ```ts
 * import { deepEqual } from "assert";
 * import { groupsFor } from "./pod_facts.ts";
 *
 * const facts = {
 *   namespace: "tenant-a", name: "app", supplementalGroups: [4000], runAsGroup: 3000,
 *   supplementalGroupsPolicy: "Merge", containers: [{ name: "main", runAsGroup: 6000 }],
 * };
 * deepEqual(groupsFor(facts, "main"), {
 *   runAsGroup: 6000, supplementalGroups: [4000], fsGroup: undefined,
 * });
 * ```
 */
export function groupsFor(facts: PodFacts, container: string | undefined): PodGroups {
  let runAsGroup = facts.runAsGroup;
  if (container !== undefined) {
    const own = facts.containers.find((candidate) => candidate.name === container);
    if (own === undefined) {
      throw new PodSourceError(
        `pod ${facts.namespace}/${facts.name}: has no container ${container}`,
      );
    }
    if (own.runAsGroup !== undefined) runAsGroup = own.runAsGroup;
  }
  return { runAsGroup, supplementalGroups: facts.supplementalGroups, fsGroup: facts.fsGroup };
}
