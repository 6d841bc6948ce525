/**
 * Reading a Pod from the kubelet's `/pods` list: finding the container's Pod
 * and the group fields that entitle it.
 *
 * @module
 */

import type { PodGroups } from "./decision.ts";
import { KubeletError } from "./errors.ts";

/** Which Pod and container a spec belongs to, from the CRI's annotations. */
export interface PodRef {
  readonly namespace: string;
  readonly name: string;
  /** Absent when the CRI did not record one; then namespace and name alone match. */
  readonly uid?: string | undefined;
  readonly container?: string | undefined;
}

/** The parts of a v1 Pod the wrapper reads. */
export interface Pod {
  readonly metadata?: { namespace?: string; name?: string; uid?: string };
  readonly spec?: {
    securityContext?: Record<string, unknown>;
    containers?: ContainerSpec[];
    initContainers?: ContainerSpec[];
    ephemeralContainers?: ContainerSpec[];
  };
}

interface ContainerSpec {
  name?: string;
  securityContext?: Record<string, unknown>;
}

/**
 * Finds the Pod of a container. When the CRI gave a uid, the Pod must carry
 * the same uid: a Pod deleted and recreated under the same name is a
 * different Pod and is never used. While a StatefulSet replaces a Pod, the
 * kubelet lists the old and the new one under the same name; the uid tells
 * them apart, and without one the container is refused rather than given
 * either Pod's groups.
 *
 * @param pods The `items` of the kubelet's PodList.
 * @param ref The container's Pod reference.
 * @returns The Pod.
 * @throws {KubeletError} When no Pod matches, the name matches only with
 *   other uids, or more than one Pod matches.
 */
export function findPod(pods: readonly Pod[], ref: PodRef): Pod {
  const where = `pod ${ref.namespace}/${ref.name}`;
  const named = pods.filter((pod) =>
    pod.metadata?.namespace === ref.namespace && pod.metadata?.name === ref.name
  );
  if (named.length === 0) throw new KubeletError(`${where} not found on this node's kubelet`);
  const uids = named.map((pod) => pod.metadata?.uid ?? "(none)").join(", ");
  const matching = ref.uid === undefined
    ? named
    : named.filter((pod) => pod.metadata?.uid === ref.uid);
  if (matching.length === 0) {
    throw new KubeletError(
      `${where} has uid ${uids} but the container belongs to uid ${ref.uid}: ` +
        `the pod was replaced`,
    );
  }
  if (matching.length > 1) {
    throw new KubeletError(
      ref.uid === undefined
        ? `${where} is listed ${named.length} times (uids ${uids}) and the CRI gave no ` +
          `uid to tell them apart`
        : `${where} with uid ${ref.uid} is listed ${matching.length} times`,
    );
  }
  return matching[0]!;
}

/**
 * The group fields of a Pod for one container. supplementalGroups and
 * fsGroup exist only at Pod level; a container-level runAsGroup overrides
 * the Pod's (Kubernetes DetermineEffectiveSecurityContext).
 *
 * @param pod The Pod.
 * @param container The container name, when the CRI gave one.
 * @returns The group fields.
 * @throws {KubeletError} When a field is not a valid id, or the named container is not in the Pod.
 */
export function podGroups(pod: Pod, container: string | undefined): PodGroups {
  const where = `pod ${pod.metadata?.namespace}/${pod.metadata?.name}`;
  const podContext = pod.spec?.securityContext ?? {};
  let runAsGroup = _optionalId(podContext.runAsGroup, `${where}: securityContext.runAsGroup`);
  if (container !== undefined) {
    const spec = [
      ...pod.spec?.containers ?? [],
      ...pod.spec?.initContainers ?? [],
      ...pod.spec?.ephemeralContainers ?? [],
    ].find((candidate) => candidate.name === container);
    if (spec === undefined) throw new KubeletError(`${where}: has no container ${container}`);
    const own = _optionalId(
      spec.securityContext?.runAsGroup,
      `${where}: container ${container} securityContext.runAsGroup`,
    );
    if (own !== undefined) runAsGroup = own;
  }
  const supplemental = podContext.supplementalGroups ?? [];
  if (!Array.isArray(supplemental)) {
    throw new KubeletError(`${where}: securityContext.supplementalGroups is not a list`);
  }
  return {
    runAsGroup,
    supplementalGroups: supplemental.map((gid, i) =>
      _id(gid, `${where}: securityContext.supplementalGroups[${i}]`)
    ),
    fsGroup: _optionalId(podContext.fsGroup, `${where}: securityContext.fsGroup`),
  };
}

/**
 * The Pod's `supplementalGroupsPolicy` (KEP-3619), `Merge` when unset.
 *
 * @param pod The Pod.
 * @returns The policy name.
 */
export function supplementalGroupsPolicy(pod: Pod): string {
  const value = pod.spec?.securityContext?.supplementalGroupsPolicy;
  return typeof value === "string" ? value : "Merge";
}

function _optionalId(value: unknown, where: string): number | undefined {
  return value === undefined || value === null ? undefined : _id(value, where);
}

function _id(value: unknown, where: string): number {
  // The API server validates 0..2147483647 (IsValidGroupID); anything else
  // means the answer did not come from a real kubelet.
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > 2147483647) {
    throw new KubeletError(`${where}: ${JSON.stringify(value)} is not a valid group id`);
  }
  return value;
}
