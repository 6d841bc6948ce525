/**
 * Reading v1 Pods, as the kubelet's `/pods` lists them: finding a
 * container's Pod among them, and taking the group facts the decision needs.
 *
 * @module
 */

import type { PodRef } from "../core/container_identity.ts";
import { PodSourceError } from "../core/errors.ts";
import { type ContainerFacts, isGroupId, type PodFacts } from "../core/pod_facts.ts";

/** The parts of a v1 Pod the wrapper reads. */
export interface Pod {
  /** `metadata`: the Pod's identity. */
  readonly metadata?: { namespace?: string; name?: string; uid?: string };
  /** `spec`: its security context and containers. */
  readonly spec?: {
    securityContext?: Record<string, unknown>;
    containers?: ContainerSpec[];
    initContainers?: ContainerSpec[];
    ephemeralContainers?: ContainerSpec[];
  };
}

/** The parts of a v1 Container the wrapper reads. */
export interface ContainerSpec {
  /** The container's name. */
  name?: string;
  /** Its security context (`runAsGroup`). */
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
 * @param pods The `items` of a PodList.
 * @param ref The container's Pod reference.
 * @returns The Pod, or `undefined` when no Pod has the namespace and name.
 * @throws {PodSourceError} When the name is listed only with other uids
 *   (the Pod was replaced), or more than one Pod matches.
 *
 * @example The uid chooses while a StatefulSet's old and new Pod share a name
 * ```ts
 * import { equal, throws } from "assert";
 * import { findPod } from "./pod_list.ts";
 *
 * const old = { metadata: { namespace: "db", name: "db-0", uid: "u-old" } };
 * const replacement = { metadata: { namespace: "db", name: "db-0", uid: "u-new" } };
 * equal(findPod([old, replacement], { namespace: "db", name: "db-0", uid: "u-new" }), replacement);
 * throws(() => findPod([old], { namespace: "db", name: "db-0", uid: "u-new" }), /was replaced/);
 * equal(findPod([old], { namespace: "db", name: "web" }), undefined);
 * ```
 */
export function findPod(pods: readonly Pod[], ref: PodRef): Pod | undefined {
  const where = `pod ${ref.namespace}/${ref.name}`;
  const named = pods.filter((pod) =>
    pod.metadata?.namespace === ref.namespace && pod.metadata?.name === ref.name
  );
  if (named.length === 0) return undefined;
  const uids = named.map((pod) => pod.metadata?.uid ?? "(none)").join(", ");
  const matching = ref.uid === undefined
    ? named
    : named.filter((pod) => pod.metadata?.uid === ref.uid);
  if (matching.length === 0) {
    throw new PodSourceError(
      `${where} has uid ${uids} but the container belongs to uid ${ref.uid}: ` +
        `the pod was replaced`,
    );
  }
  if (matching.length > 1) {
    throw new PodSourceError(
      ref.uid === undefined
        ? `${where} is listed ${named.length} times (uids ${uids}) and the CRI gave no ` +
          `uid to tell them apart`
        : `${where} with uid ${ref.uid} is listed ${matching.length} times`,
    );
  }
  return matching[0]!;
}

/**
 * The group facts of a Pod, validated: every id must be one the API server
 * accepts (0 to 2147483647, kubernetes IsValidGroupID), and the Pod must
 * have a namespace and a name.
 *
 * @param pod The Pod.
 * @returns Its facts.
 * @throws {PodSourceError} When a field is not a valid id or not of its type.
 *
 * @example
 * ```ts
 * import { deepEqual } from "assert";
 * import { podFacts } from "./pod_list.ts";
 *
 * deepEqual(podFacts({
 *   metadata: { namespace: "tenant-a", name: "app", uid: "u1" },
 *   spec: {
 *     securityContext: { runAsGroup: 1000, supplementalGroups: [60000] },
 *     containers: [{ name: "main", securityContext: { runAsGroup: 2000 } }],
 *   },
 * }), {
 *   namespace: "tenant-a", name: "app", uid: "u1", runAsGroup: 1000,
 *   supplementalGroups: [60000], supplementalGroupsPolicy: "Merge",
 *   containers: [{ name: "main", runAsGroup: 2000 }],
 * });
 * ```
 */
export function podFacts(pod: Pod): PodFacts {
  const { namespace, name, uid } = pod.metadata ?? {};
  const where = `pod ${namespace}/${name}`;
  if (typeof namespace !== "string" || typeof name !== "string") {
    throw new PodSourceError(`${where}: metadata has no namespace and name`);
  }
  const context = pod.spec?.securityContext ?? {};
  const supplemental = context.supplementalGroups ?? [];
  if (!Array.isArray(supplemental)) {
    throw new PodSourceError(`${where}: securityContext.supplementalGroups is not a list`);
  }
  const policy = context.supplementalGroupsPolicy;
  const runAsGroup = _optionalId(context.runAsGroup, `${where}: securityContext.runAsGroup`);
  const fsGroup = _optionalId(context.fsGroup, `${where}: securityContext.fsGroup`);
  const containers: ContainerFacts[] = [
    ...pod.spec?.containers ?? [],
    ...pod.spec?.initContainers ?? [],
    ...pod.spec?.ephemeralContainers ?? [],
  ].map((container) => {
    if (typeof container.name !== "string") {
      throw new PodSourceError(`${where}: a container has no name`);
    }
    const own = _optionalId(
      container.securityContext?.runAsGroup,
      `${where}: container ${container.name} securityContext.runAsGroup`,
    );
    return own === undefined ? { name: container.name } : { name: container.name, runAsGroup: own };
  });
  return {
    namespace,
    name,
    ...(typeof uid === "string" ? { uid } : {}),
    ...(runAsGroup === undefined ? {} : { runAsGroup }),
    supplementalGroups: supplemental.map((gid, i) =>
      _id(gid, `${where}: securityContext.supplementalGroups[${i}]`)
    ),
    ...(fsGroup === undefined ? {} : { fsGroup }),
    supplementalGroupsPolicy: typeof policy === "string" ? policy : "Merge",
    containers,
  };
}

function _optionalId(value: unknown, where: string): number | undefined {
  return value === undefined || value === null ? undefined : _id(value, where);
}

function _id(value: unknown, where: string): number {
  // Anything the API server would not accept did not come from a real kubelet.
  if (!isGroupId(value)) {
    throw new PodSourceError(`${where}: ${JSON.stringify(value)} is not a valid group id`);
  }
  return value;
}
