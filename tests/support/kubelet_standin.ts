/**
 * The kubelet's `/pods` endpoint, the one part of a node the tests stand in
 * for: a real HTTPS server on the kubelet's address that demands a client
 * certificate signed by the cluster CA and serves with a certificate that,
 * like the kubelet's own, names only the host's hostname.
 *
 * @module
 */

import type { ServerResponse } from "node:http";
import https from "node:https";
import type { Pki } from "./pki.ts";
import { TENANT_A, TENANT_A_POD } from "./tenant_a.ts";

/** What the stand-in answers; tests change it between requests. */
export interface Behaviour {
  pods: unknown[];
  /** Answer with this status and body instead of the PodList. */
  status?: number;
  body?: string;
  /** Wait this long before answering. */
  delayMs?: number;
  /** Answer 200 with a body of this many bytes, streamed as fast as the client reads. */
  streamBytes?: number;
  /** Answer 200, promise a longer body, send this much of it, then close the connection. */
  cutOff?: string;
  /** Answer 200, send the beginning of the body, then nothing more. */
  stall?: boolean;
}

export interface KubeletStandIn {
  readonly behaviour: Behaviour;
  /** Client certificate subjects of the requests served so far. */
  readonly clients: string[];
  /** Body bytes handed to the connection so far. */
  readonly sent: { bytes: number };
  close(): Promise<void>;
}

/** The address the shipped permission set allows the wrapper to reach. */
export const KUBELET_PORT = 10250;

/**
 * Starts the stand-in on 127.0.0.1:10250.
 *
 * @param pki The test PKI.
 * @param pods The Pods to serve.
 * @returns The running stand-in.
 */
export async function startKubelet(pki: Pki, pods: unknown[] = []): Promise<KubeletStandIn> {
  const behaviour: Behaviour = { pods };
  const clients: string[] = [];
  const sent = { bytes: 0 };
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const server = https.createServer({
    cert: await Deno.readTextFile(pki.kubeletCrt),
    key: await Deno.readTextFile(pki.kubeletKey),
    ca: await Deno.readTextFile(pki.clusterCa),
    requestCert: true,
    rejectUnauthorized: true,
  }, (req, res) => {
    const peer = (req.socket as unknown as { getPeerCertificate?: () => { subject?: unknown } })
      .getPeerCertificate?.();
    clients.push(JSON.stringify(peer?.subject ?? null));
    const answer = () => {
      if (req.url !== "/pods") {
        res.writeHead(404).end("404 page not found");
      } else if (behaviour.streamBytes !== undefined) {
        res.writeHead(200, { "content-type": "application/json" });
        _stream(res, behaviour.streamBytes, sent);
      } else if (behaviour.cutOff !== undefined) {
        res.writeHead(200, {
          "content-type": "application/json",
          "content-length": String(behaviour.cutOff.length + 4096),
        });
        res.write(behaviour.cutOff, () => req.socket.destroy());
      } else if (behaviour.stall) {
        res.writeHead(200, { "content-type": "application/json" }).write('{"items":[');
      } else if (behaviour.status !== undefined) {
        res.writeHead(behaviour.status, { "content-type": "text/plain" }).end(behaviour.body ?? "");
      } else {
        res.writeHead(200, { "content-type": "application/json" }).end(
          behaviour.body ??
            JSON.stringify({ kind: "PodList", apiVersion: "v1", items: behaviour.pods }),
        );
      }
    };
    if (behaviour.delayMs) {
      const timer = setTimeout(() => {
        timers.delete(timer);
        answer();
      }, behaviour.delayMs);
      timers.add(timer);
    } else {
      answer();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(KUBELET_PORT, "127.0.0.1", () => resolve());
  });
  return {
    behaviour,
    clients,
    sent,
    close: () =>
      new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

/** Writes `total` bytes of spaces, 1 MiB at a time, waiting whenever the client lags. */
function _stream(res: ServerResponse, total: number, sent: { bytes: number }): void {
  const chunk = new Uint8Array(1 << 20).fill(0x20);
  let left = total;
  const pump = () => {
    while (left > 0 && !res.destroyed) {
      const piece = left >= chunk.length ? chunk : chunk.subarray(0, left);
      left -= piece.length;
      sent.bytes += piece.length;
      if (!res.write(piece)) return void res.once("drain", pump);
    }
    if (!res.destroyed) res.end();
  };
  pump();
}

/** Options for {@linkcode podFixture}. */
export interface PodOptions {
  namespace?: string;
  name?: string;
  uid?: string;
  runAsUser?: number;
  runAsGroup?: number;
  supplementalGroups?: number[];
  fsGroup?: number;
  supplementalGroupsPolicy?: string;
  container?: string;
  containerRunAsGroup?: number;
}

/**
 * A v1 Pod as the kubelet's `/pods` lists it.
 *
 * @param options Identity and security context.
 * @returns The Pod object.
 */
export function podFixture(options: PodOptions = {}): Record<string, unknown> {
  const securityContext: Record<string, unknown> = {};
  if (options.runAsUser !== undefined) securityContext.runAsUser = options.runAsUser;
  if (options.runAsGroup !== undefined) securityContext.runAsGroup = options.runAsGroup;
  if (options.supplementalGroups) securityContext.supplementalGroups = options.supplementalGroups;
  if (options.fsGroup !== undefined) securityContext.fsGroup = options.fsGroup;
  if (options.supplementalGroupsPolicy) {
    securityContext.supplementalGroupsPolicy = options.supplementalGroupsPolicy;
  }
  return {
    metadata: {
      namespace: options.namespace ?? TENANT_A.namespace,
      name: options.name ?? TENANT_A.name,
      uid: options.uid ?? TENANT_A.uid,
    },
    spec: {
      securityContext,
      containers: [{
        name: options.container ?? TENANT_A.container,
        image: TENANT_A.image,
        ...(options.containerRunAsGroup === undefined
          ? {}
          : { securityContext: { runAsGroup: options.containerRunAsGroup } }),
      }],
    },
    status: { phase: "Pending" },
  };
}

/**
 * The Pod of the bundles `makeBundle` (bundle.ts) makes with containerd's annotations: the
 * shared tenant-a Pod (tests/testdata/tenant-a-pod.json), so the image's 50000 is dropped.
 *
 * @returns A copy of the Pod object.
 */
export function alicePod(): Record<string, unknown> {
  return structuredClone(TENANT_A_POD) as unknown as Record<string, unknown>;
}
