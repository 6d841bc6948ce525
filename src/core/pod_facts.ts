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

/**
 * Facts read back from JSON (a cache entry), validated as strictly as a
 * source's answer: every field of the right type, gids in the API server's
 * range (kubernetes IsValidGroupID), and the Pod's uid present.
 *
 * @param value The parsed JSON.
 * @returns The facts, or `undefined` when any part is off.
 *
 * @example
 * ```ts
 * import { equal } from "assert";
 * import { validFacts } from "./pod_facts.ts";
 *
 * const facts = {
 *   namespace: "ns", name: "web", uid: "u1", supplementalGroups: [4000],
 *   supplementalGroupsPolicy: "Merge", containers: [{ name: "app", runAsGroup: 3000 }],
 * };
 * equal(validFacts(facts)?.name, "web");
 * equal(validFacts({ ...facts, supplementalGroups: [-1] }), undefined);
 * equal(validFacts({ ...facts, uid: undefined }), undefined);
 * ```
 */
export function validFacts(value: unknown): PodFacts | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const f = value as Record<string, unknown>;
  const { namespace, name, uid, supplementalGroupsPolicy } = f;
  const ids = Array.isArray(f.supplementalGroups) ? f.supplementalGroups : undefined;
  const containers = Array.isArray(f.containers) ? f.containers : undefined;
  if (
    typeof namespace !== "string" || typeof name !== "string" || typeof uid !== "string" ||
    typeof supplementalGroupsPolicy !== "string" || ids === undefined || !ids.every(isGroupId) ||
    !_optionalId(f.runAsGroup) || !_optionalId(f.fsGroup) || containers === undefined
  ) {
    return undefined;
  }
  const own: ContainerFacts[] = [];
  for (const c of containers as Record<string, unknown>[]) {
    if (typeof c?.name !== "string" || !_optionalId(c.runAsGroup)) return undefined;
    own.push(
      c.runAsGroup === undefined
        ? { name: c.name }
        : { name: c.name, runAsGroup: c.runAsGroup as number },
    );
  }
  return {
    namespace,
    name,
    uid,
    ...(f.runAsGroup === undefined ? {} : { runAsGroup: f.runAsGroup as number }),
    supplementalGroups: ids as number[],
    ...(f.fsGroup === undefined ? {} : { fsGroup: f.fsGroup as number }),
    supplementalGroupsPolicy,
    containers: own,
  };
}

/**
 * Whether a value is a group id the API server accepts (kubernetes
 * IsValidGroupID: 0 to 2147483647).
 *
 * @param value Anything.
 * @returns Whether it is such an id.
 */
export function isGroupId(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= 2147483647;
}

function _optionalId(value: unknown): boolean {
  return value === undefined || isGroupId(value);
}
