/**
 * What a spec is, from the annotations its CRI wrote: a Kubernetes
 * container (with its Pod), a Pod sandbox, or not a Kubernetes container at
 * all. Only the keys of the configured CRI are read: under CRI-O a pod
 * author controls every key CRI-O does not write itself, containerd's
 * included (CRI-O copies the Pod's annotations into each container's spec
 * before its own, cri-o server/container_create_linux.go), so nothing is
 * guessed from which keys happen to be present.
 *
 * @module
 */

import { SpecError } from "./errors.ts";

/** The CRI implementation whose annotations are trusted. */
export type Cri = "containerd" | "cri-o";

/** Annotation keys that identify a container's Pod. */
export interface AnnotationKeys {
  /** The Pod's namespace. */
  readonly namespace: string;
  /** The Pod's name. */
  readonly name: string;
  /** The Pod's uid. */
  readonly uid: string;
  /** The container's name within the Pod. */
  readonly container: string;
  /** `container` or `sandbox`. */
  readonly type: string;
  /** The container's image, as the Pod names it (for records; it decides nothing). */
  readonly image: string;
}

/**
 * The annotations each CRI writes itself: containerd
 * `internal/cri/annotations/annotations.go` (`pkg/cri/annotations` in 1.x),
 * CRI-O `pkg/annotations` and its use of the kubelet's `io.kubernetes.pod.*`
 * labels.
 */
export const CRI_ANNOTATIONS: Readonly<Record<Cri, AnnotationKeys>> = Object.freeze({
  "containerd": Object.freeze({
    namespace: "io.kubernetes.cri.sandbox-namespace",
    name: "io.kubernetes.cri.sandbox-name",
    uid: "io.kubernetes.cri.sandbox-uid",
    container: "io.kubernetes.cri.container-name",
    type: "io.kubernetes.cri.container-type",
    image: "io.kubernetes.cri.image-name",
  }),
  "cri-o": Object.freeze({
    namespace: "io.kubernetes.pod.namespace",
    name: "io.kubernetes.pod.name",
    uid: "io.kubernetes.pod.uid",
    container: "io.kubernetes.container.name",
    type: "io.kubernetes.cri-o.ContainerType",
    image: "io.kubernetes.cri-o.ImageName",
  }),
});

/** Which Pod and container a spec belongs to, from the CRI's annotations. */
export interface PodRef {
  /** The Pod's namespace. */
  readonly namespace: string;
  /** The Pod's name. */
  readonly name: string;
  /** Absent when the CRI did not record one; then namespace and name alone match. */
  readonly uid?: string | undefined;
  /** The container's name, when the CRI recorded one. */
  readonly container?: string | undefined;
  /** The container's image, when the CRI recorded one (records only). */
  readonly image?: string | undefined;
  /**
   * The container's id, from the runtime's command line: set on lookups, so
   * that a source that knows containers by id (containerd's CRI) can answer.
   */
  readonly containerId?: string | undefined;
}

/** The kind of a spec: a container of a Pod, a Pod's sandbox, or neither. */
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
 * @example A containerd container names its Pod
 * ```ts
 * import { deepEqual } from "assert";
 * import { containerIdentity, CRI_ANNOTATIONS } from "./container_identity.ts";
 *
 * const id = containerIdentity(new Map([
 *   ["io.kubernetes.cri.container-type", "container"],
 *   ["io.kubernetes.cri.sandbox-namespace", "default"],
 *   ["io.kubernetes.cri.sandbox-name", "web"],
 *   ["io.kubernetes.cri.container-name", "app"],
 * ]), CRI_ANNOTATIONS.containerd);
 * deepEqual(id, {
 *   kind: "container",
 *   pod: { namespace: "default", name: "web", uid: undefined, container: "app", image: undefined },
 * });
 * ```
 *
 * @example Under CRI-O, containerd's keys are a pod author's words and are not read
 * ```ts
 * import { equal } from "assert";
 * import { containerIdentity, CRI_ANNOTATIONS } from "./container_identity.ts";
 *
 * const id = containerIdentity(new Map([
 *   ["io.kubernetes.cri.container-type", "sandbox"],
 *   ["io.kubernetes.cri-o.ContainerType", "container"],
 *   ["io.kubernetes.pod.namespace", "tenant-a"],
 *   ["io.kubernetes.pod.name", "app"],
 * ]), CRI_ANNOTATIONS["cri-o"]);
 * equal(id.kind, "container");
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
      image: annotations.get(keys.image) || undefined,
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
