/**
 * containerd's CRI stand-in for unit tests: a real gRPC server (grpc-js,
 * HTTP/2 over a unix socket, the `runtime.v1` proto of the e2e's client) whose
 * `ContainerStatus` answers from a table, fails with a gRPC status, or
 * never answers. The containerd e2e talks to the real containerd.
 *
 * @module
 */

import * as grpc from "@grpc/grpc-js";
import { criProto } from "../e2e/cri_client.ts";
import { TENANT_A } from "./tenant_a.ts";

/** What `ContainerStatus` does for one container id. */
export type Behaviour =
  | { readonly info: ReadonlyMap<string, string> }
  | { readonly code: grpc.status; readonly details: string }
  | { readonly stall: true };

/** A running stand-in. */
export interface CriStandin {
  /** Its socket. */
  readonly socket: string;
  /** Every ContainerStatus request it received, in order. */
  readonly requests: { container_id: string; verbose: boolean }[];
  /** Stops it (calls still stalled are cut). */
  close(): void;
}

/**
 * Starts the stand-in.
 *
 * @param socket Where it listens.
 * @param answer What to do for a container id; `undefined` is NOT_FOUND, as containerd answers.
 * @returns The running stand-in.
 */
export async function startCri(
  socket: string,
  answer: (containerId: string) => Behaviour | undefined,
): Promise<CriStandin> {
  const v1 = criProto();
  const server = new grpc.Server();
  const requests: CriStandin["requests"] = [];
  server.addService(v1.RuntimeService.service, {
    ContainerStatus(
      call: grpc.ServerUnaryCall<{ container_id: string; verbose: boolean }, unknown>,
      callback: grpc.sendUnaryData<unknown>,
    ) {
      const id = call.request.container_id;
      requests.push({ ...call.request });
      const behaviour = answer(id);
      if (behaviour === undefined) {
        callback({ code: grpc.status.NOT_FOUND, details: `container "${id}" not found` });
      } else if ("code" in behaviour) {
        callback({ code: behaviour.code, details: behaviour.details });
      } else if ("info" in behaviour) {
        callback(null, {
          status: { id, metadata: { name: "main", attempt: 0 }, state: "CONTAINER_CREATED" },
          info: Object.fromEntries(behaviour.info),
        });
      }
      // A stall never calls back.
    },
  });
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(
      `unix://${socket}`,
      grpc.ServerCredentials.createInsecure(),
      (error) => error ? reject(error) : resolve(),
    )
  );
  return { socket, requests, close: () => server.forceShutdown() };
}

/** A verbose answer's info map: containerd puts its whole ContainerInfo under `info`. */
export function infoMap(containerInfo: unknown): ReadonlyMap<string, string> {
  return new Map([["info", JSON.stringify(containerInfo)]]);
}

/**
 * The verbose ContainerStatus info containerd holds for the tenant-a
 * container (alice, runAsGroup 1000, supplementalGroups [60000]) as a
 * kubelet created it: the kubelet's labels name the Pod.
 */
export function tenantAContainerInfo(): ReadonlyMap<string, string> {
  return infoMap({
    sandboxID: "5f1c0ffee",
    config: {
      metadata: { name: TENANT_A.container },
      labels: {
        "io.kubernetes.pod.namespace": TENANT_A.namespace,
        "io.kubernetes.pod.name": TENANT_A.name,
        "io.kubernetes.pod.uid": TENANT_A.uid,
        "io.kubernetes.container.name": TENANT_A.container,
      },
      linux: {
        security_context: {
          run_as_user: { value: 1000 },
          run_as_group: { value: 1000 },
          supplemental_groups: [60000],
        },
      },
    },
  });
}
