/**
 * What a spec is, from the annotations its CRI wrote: a Kubernetes
 * container (with its Pod), a Pod sandbox, or not a Kubernetes container at
 * all. Only the keys of the configured CRI are read (DESIGN §7): under CRI-O
 * a pod author controls every key CRI-O does not write itself, containerd's
 * included, so nothing is guessed from which keys happen to be present.
 *
 * @module
 */

import type { AnnotationKeys } from "./config.ts";
import { SpecError } from "./errors.ts";
import type { PodRef } from "./pod.ts";

/** The kind of a spec. */
export type ContainerIdentity =
  | { readonly kind: "container"; readonly pod: PodRef }
  | { readonly kind: "sandbox"; readonly pod: PodRef | undefined }
  | { readonly kind: "non-kubernetes" };

/**
 * Classifies a spec by its annotations.
 *
 * @param annotations The spec's annotations.
 * @param keys The trusted keys of the configured CRI.
 * @returns The identity.
 * @throws {SpecError} When the keys are present but incomplete or carry an unknown type.
 *
 * @example
 * ```ts
 * import { containerIdentity } from "./container_identity.ts";
 * import { CRI_ANNOTATIONS } from "./config.ts";
 * const id = containerIdentity(new Map([
 *   ["io.kubernetes.cri.container-type", "container"],
 *   ["io.kubernetes.cri.sandbox-namespace", "default"],
 *   ["io.kubernetes.cri.sandbox-name", "web"],
 *   ["io.kubernetes.cri.container-name", "app"],
 * ]), CRI_ANNOTATIONS.containerd);
 * console.assert(id.kind === "container" && id.pod.name === "web");
 * ```
 */
export function containerIdentity(
  annotations: ReadonlyMap<string, string>,
  keys: AnnotationKeys,
): ContainerIdentity {
  const type = annotations.get(keys.type);
  const namespace = annotations.get(keys.namespace);
  const name = annotations.get(keys.name);
  if (type === undefined && namespace === undefined && name === undefined) {
    return { kind: "non-kubernetes" };
  }
  const pod = namespace && name
    ? {
      namespace,
      name,
      uid: annotations.get(keys.uid) || undefined,
      container: annotations.get(keys.container) || undefined,
    }
    : undefined;
  if (type === "sandbox") return { kind: "sandbox", pod };
  if (type !== undefined && type !== "container") {
    throw new SpecError(`annotation ${keys.type}=${JSON.stringify(type)} is not a known type`);
  }
  if (pod === undefined) {
    throw new SpecError(
      `kubernetes container without its pod: annotations ${keys.namespace} and ${keys.name} ` +
        `must both be set`,
    );
  }
  return { kind: "container", pod };
}
