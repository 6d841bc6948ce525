/**
 * containerd's CRI as a source of a container's groups: a verbose
 * `ContainerStatus` for the very container being created or exec'd, over
 * containerd's unix socket, from inside the runtime call. Its `info` JSON
 * holds the `ContainerConfig` the kubelet sent (containerd
 * pkg/cri/server/container_status.go `ContainerInfo`, the same fields in
 * 1.6, 1.7 and 2.x internal/cri/server), whose
 * `linux.security_context.supplemental_groups` is exactly the set the
 * kubelet computed: the Pod's supplementalGroups, its fsGroup, and the gid
 * of every mounted PersistentVolume annotated `pv.beta.kubernetes.io/gid`
 * (kubernetes pkg/kubelet/kuberuntime/security_context.go). That is
 * KEP-3619's Strict set without asking the kubelet: no RBAC, no API server.
 *
 * One unary gRPC call over HTTP/2 (Deno's own client, prior knowledge on
 * the socket) with the two messages encoded by hand (`cri_wire.ts`); no
 * gRPC library is loaded. `PodSandboxStatus` is never called: inside
 * `runc create` it waits on the shim's lock.
 *
 * The `info` JSON is containerd's own format, not CRI API: it is read
 * defensively, and a shape this module does not know fails closed.
 *
 * @module
 */

import type { ContainerdSettings } from "../config/config.ts";
import type { PodRef } from "../core/container_identity.ts";
import { PodSourceError } from "../core/errors.ts";
import { isGroupId, type PodFacts } from "../core/pod_facts.ts";
import { containerStatusInfo, containerStatusRequest } from "./cri_wire.ts";
import type { PodAnswer, PodSource } from "./pod_source.ts";

/** The source's name in decision records. */
export const CONTAINERD_SOURCE = "containerd";

/**
 * The largest answer read: a container's info (its config and runtime spec)
 * takes a few tens of KiB; gRPC's own default limit is 4 MiB.
 */
const MAX_ANSWER_BYTES = 4 * 2 ** 20;

/** gRPC's NOT_FOUND: containerd's CRI does not know the container. */
const NOT_FOUND = "5";

/** Options of {@linkcode containerdSource}. */
export interface ContainerdSourceOptions {
  /**
   * Told of every container the CRI answers for (a cache fills itself from
   * them). It must not hold the lookup up.
   *
   * @param containerId The container.
   * @param facts Its facts.
   */
  readonly onAnswer?: ((containerId: string, facts: PodFacts) => void) | undefined;
}

/**
 * Whether containerd's socket is there: where it is not, the node's
 * containers are judged on the kubelet's answer.
 *
 * @param settings The socket.
 * @returns `false` only when nothing is at the path.
 */
export function containerdSocketPresent(settings: ContainerdSettings): boolean {
  try {
    Deno.lstatSync(settings.containerdSocket);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    return true; // Then the lookup reports what is wrong with it.
  }
}

/**
 * The containerd CRI source.
 *
 * @param settings The socket and the timeout.
 * @param options Hooks.
 * @returns The source; it misses when the socket is absent or containerd's
 *   CRI does not know the container, and fails closed on any other error.
 */
export function containerdSource(
  settings: ContainerdSettings,
  options: ContainerdSourceOptions = {},
): PodSource {
  const socket = settings.containerdSocket;
  const where = `containerd ${socket}`;
  return {
    name: CONTAINERD_SOURCE,
    where: `in containerd's CRI (${socket})`,
    async lookup(ref) {
      const id = ref.containerId;
      if (id === undefined) return undefined;
      try {
        if (!Deno.statSync(socket).isSocket) {
          throw new PodSourceError(`${where}: not a socket`);
        }
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) return undefined;
        if (error instanceof PodSourceError) throw error;
        throw new PodSourceError(`${where}: ${(error as Error).message}`, { cause: error });
      }
      const info = await _containerStatus(socket, id, settings, where);
      if (info === undefined) return undefined;
      const answer = containerFacts(info, ref, where);
      options.onAnswer?.(id, answer.facts);
      return answer;
    },
  };
}

/**
 * A container's facts from the `info` of a verbose `ContainerStatus`.
 *
 * @param info The response's `info` map.
 * @param ref The container's Pod, from the spec's trusted annotations.
 * @param where The source, for messages.
 * @returns The answer.
 * @throws {PodSourceError} When the shape is one this module does not know,
 *   or the Pod named there is not the one the annotations name.
 *
 * @example The groups the kubelet sent, fsGroup and PV gids included
 * ```ts
 * import { deepEqual } from "assert";
 * import { containerFacts } from "./containerd_source.ts";
 *
 * const info = new Map([["info", JSON.stringify({
 *   sandboxID: "s1",
 *   config: {
 *     metadata: { name: "main" },
 *     labels: {
 *       "io.kubernetes.pod.namespace": "tenant-a",
 *       "io.kubernetes.pod.name": "app",
 *       "io.kubernetes.pod.uid": "u1",
 *     },
 *     linux: { security_context: { run_as_group: { value: 1000 }, supplemental_groups: [7000, 60000] } },
 *   },
 * })]]);
 * const ref = { namespace: "tenant-a", name: "app", uid: "u1", container: "main", containerId: "c1" };
 * deepEqual(containerFacts(info, ref, "containerd").facts, {
 *   namespace: "tenant-a", name: "app", uid: "u1",
 *   supplementalGroups: [7000, 60000], supplementalGroupsPolicy: "Merge",
 *   containers: [{ name: "main", runAsGroup: 1000 }],
 * });
 * ```
 */
export function containerFacts(
  info: ReadonlyMap<string, string>,
  ref: PodRef,
  where: string,
): PodAnswer {
  const text = info.get("info");
  if (text === undefined) throw new PodSourceError(`${where}: ContainerStatus has no info`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new PodSourceError(`${where}: ContainerStatus info is not JSON`, { cause: error });
  }
  const unknown = (what: string) =>
    new PodSourceError(`${where}: ContainerStatus info ${what}: not a shape this wrapper knows`);
  const config = _object((value as Record<string, unknown> | null)?.config);
  if (config === undefined) throw unknown("has no config");
  const labels = _object(config.labels) ?? {};
  const namespace = labels["io.kubernetes.pod.namespace"];
  const name = labels["io.kubernetes.pod.name"];
  const uid = labels["io.kubernetes.pod.uid"];
  const container = _object(config.metadata)?.name;
  if (typeof namespace !== "string" || typeof name !== "string" || typeof container !== "string") {
    throw unknown("names no Pod (config.labels io.kubernetes.pod.*, config.metadata.name)");
  }
  // The spec's annotations and the CRI's config must name one Pod and one container.
  if (
    namespace !== ref.namespace || name !== ref.name ||
    (ref.uid !== undefined && uid !== ref.uid) ||
    (ref.container !== undefined && container !== ref.container)
  ) {
    throw new PodSourceError(
      `${where}: container ${ref.containerId} belongs to pod ${namespace}/${name} (uid ${uid}) ` +
        `container ${container}, but its spec names ${ref.namespace}/${ref.name} (uid ${ref.uid}) ` +
        `container ${ref.container}`,
    );
  }
  // The kubelet always sends a Linux security context (kuberuntime
  // generateLinuxContainerConfig); without one, or in another spelling
  // (protojson's camelCase), the groups could be anywhere.
  const context = _object(_object(config.linux)?.security_context);
  if (context === undefined) throw unknown("has no config.linux.security_context");
  const alien = ["supplementalGroups", "runAsGroup", "supplementalGroupsPolicy"]
    .filter((key) => key in context);
  if (alien.length > 0) throw unknown(`config.linux.security_context.${alien[0]}`);
  const groups = context.supplemental_groups ?? [];
  if (!Array.isArray(groups) || !groups.every(isGroupId)) {
    throw unknown("config.linux.security_context.supplemental_groups");
  }
  let runAsGroup: number | undefined;
  if (context.run_as_group !== undefined && context.run_as_group !== null) {
    const group = _object(context.run_as_group);
    // Go's encoding/json drops a zero `value` (omitempty): `{}` is gid 0.
    const gid = group?.value ?? 0;
    if (group === undefined || !isGroupId(gid)) {
      throw unknown("config.linux.security_context.run_as_group");
    }
    runAsGroup = gid;
  }
  // CRI SupplementalGroupsPolicy: Merge = 0 (omitted), Strict = 1.
  const policy = context.supplemental_groups_policy ?? 0;
  if (policy !== 0 && policy !== 1) throw unknown("supplemental_groups_policy");
  const facts: PodFacts = {
    namespace,
    name,
    ...(typeof uid === "string" ? { uid } : {}),
    supplementalGroups: groups,
    supplementalGroupsPolicy: policy === 1 ? "Strict" : "Merge",
    containers: [runAsGroup === undefined ? { name: container } : { name: container, runAsGroup }],
  };
  return { facts, source: CONTAINERD_SOURCE };
}

/** The `info` of a verbose ContainerStatus, or `undefined` when containerd does not know the container. */
async function _containerStatus(
  socket: string,
  containerId: string,
  settings: ContainerdSettings,
  where: string,
): Promise<Map<string, string> | undefined> {
  let client: Deno.HttpClient | undefined;
  try {
    client = Deno.createHttpClient({
      proxy: { transport: "unix", path: socket },
      http1: false,
      http2: true,
    });
    const response = await fetch(
      "http://containerd.invalid/runtime.v1.RuntimeService/ContainerStatus",
      {
        method: "POST",
        client,
        headers: { "content-type": "application/grpc", te: "trailers" },
        body: containerStatusRequest(containerId),
        signal: AbortSignal.timeout(settings.containerdTimeoutSeconds * 1000),
      },
    );
    const body = await _body(response, where);
    // An error is a trailers-only answer: grpc-status among the headers, no body.
    const status = response.headers.get("grpc-status");
    if (status === NOT_FOUND) return undefined;
    if (status !== null && status !== "0") {
      throw new PodSourceError(
        `${where}: ContainerStatus ${containerId} failed (gRPC status ${status}): ` +
          `${decodeURIComponent(response.headers.get("grpc-message") ?? "")}`,
      );
    }
    if (response.status !== 200) {
      throw new PodSourceError(`${where}: ContainerStatus answered HTTP ${response.status}`);
    }
    try {
      return containerStatusInfo(body);
    } catch (error) {
      throw new PodSourceError(`${where}: ContainerStatus answer: ${(error as Error).message}`, {
        cause: error,
      });
    }
  } catch (error) {
    if (error instanceof PodSourceError) throw error;
    const timedOut = (error as Error).name === "TimeoutError";
    throw new PodSourceError(
      timedOut
        ? `${where}: no ContainerStatus answer within ${settings.containerdTimeoutSeconds}s`
        : `${where}: ${(error as Error).message}`,
      { cause: error },
    );
  } finally {
    client?.close();
  }
}

/** The answer's body, refused past {@linkcode MAX_ANSWER_BYTES}. */
async function _body(response: Response, where: string): Promise<Uint8Array> {
  const chunks: Uint8Array<ArrayBuffer>[] = [];
  let length = 0;
  for await (const chunk of response.body ?? []) {
    length += chunk.length;
    if (length > MAX_ANSWER_BYTES) {
      await response.body?.cancel().catch(() => {});
      throw new PodSourceError(
        `${where}: ContainerStatus answer is over ${MAX_ANSWER_BYTES / 2 ** 20} MiB`,
      );
    }
    chunks.push(chunk);
  }
  return new Uint8Array(await new Blob(chunks).arrayBuffer());
}

function _object(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? value as Record<string, unknown>
    : undefined;
}
