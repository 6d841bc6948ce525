/**
 * The kubelet's `GET /pods` over mutually authenticated TLS.
 *
 * The kubelet's default serving certificate is self-signed for the node's
 * hostname only (kubernetes cmd/kubelet/app/server.go InitializeTLS, with
 * client-go's GenerateSelfSignedCertKey: no 127.0.0.1 SAN), so the connection goes to
 * the `kubelet-url` address while the certificate is checked against the
 * configured server name. `node:https` is used because its `ca` option
 * *replaces* the trust roots: the kubelet's own CA is pinned, and no public
 * CA can vouch for a listener on the kubelet's port. There is no switch
 * that skips verification.
 *
 * @module
 */

import { KubeletError } from "../core/errors.ts";
import type { ClientCredential } from "./kubeconfig.ts";
import type { Pod } from "./pod_list.ts";

/** Where and how to ask the kubelet. */
export interface KubeletRequest {
  /** `https://host:port` */
  readonly url: string;
  /** PEM certificates that may sign the kubelet's serving certificate. */
  readonly ca: string;
  /** The name the serving certificate must carry. */
  readonly serverName: string;
  /** The node's client certificate and key. */
  readonly credential: ClientCredential;
  /** Bound on the whole request, slow bodies included. */
  readonly timeoutMs: number;
  /** A body larger than this is refused rather than buffered. */
  readonly maxBytes: number;
}

/** The largest `/pods` answer accepted by default (a node runs at most a few hundred Pods). */
export const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;

/**
 * Fetches the Pods the kubelet runs.
 *
 * @param request Address, trust, credential and limits.
 * @returns The PodList's items.
 * @throws {KubeletError} Naming the cause: refused, timed out, untrusted
 *   certificate, rejected credential, missing RBAC, bad answer.
 */
export async function fetchPods(request: KubeletRequest): Promise<Pod[]> {
  const https = await import("node:https");
  const url = new URL(request.url);
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  const where = `kubelet ${request.url}/pods`;
  const body = await new Promise<string>((resolve, reject) => {
    // Set once the status line is in: a connection lost after it is a cut-off
    // answer, not a refused client certificate.
    let answered: { status: number; bytes: number } | undefined;
    const fail = (error: Error) => {
      clearTimeout(timer);
      if (error instanceof KubeletError) return reject(error);
      reject(
        answered === undefined ? _explain(error, where, request) : new KubeletError(
          `${where}: answer (status ${answered.status}) cut off after ${answered.bytes} bytes: ` +
            error.message,
        ),
      );
    };
    const req = https.request({
      host,
      port: Number(url.port || 443),
      path: "/pods",
      method: "GET",
      headers: { accept: "application/json" },
      servername: request.serverName,
      ca: request.ca,
      cert: request.credential.cert,
      key: request.credential.key,
      rejectUnauthorized: true,
      agent: false,
    }, (res) => {
      const chunks: Uint8Array[] = [];
      let size = 0;
      const progress = { status: res.statusCode ?? 0, bytes: 0 };
      answered = progress;
      res.on("data", (chunk: Uint8Array) => {
        size += chunk.length;
        progress.bytes = size;
        if (size > request.maxBytes) {
          fail(new KubeletError(`${where}: answer exceeds ${request.maxBytes} bytes; refused`));
          req.destroy();
          return;
        }
        chunks.push(chunk);
      });
      res.on("error", fail);
      res.on("end", () => {
        clearTimeout(timer);
        const text = new TextDecoder().decode(_concat(chunks, size));
        if (res.statusCode === 200) return resolve(text);
        reject(_status(res.statusCode ?? 0, text, where));
      });
    });
    // The cause is settled before the connection is torn down, so that the
    // errors the teardown raises cannot replace it.
    const timer = setTimeout(() => {
      fail(new KubeletError(`${where}: no answer within ${request.timeoutMs / 1000}s`));
      req.destroy();
    }, request.timeoutMs);
    req.on("error", fail);
    req.end();
  });
  let list: unknown;
  try {
    list = JSON.parse(body);
  } catch (error) {
    throw new KubeletError(`${where}: answer is not JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const items = (list as { items?: unknown })?.items;
  if (!Array.isArray(items)) throw new KubeletError(`${where}: answer is not a PodList`);
  return items as Pod[];
}

function _status(status: number, text: string, where: string): KubeletError {
  const detail = text.trim().slice(0, 200);
  if (status === 401) {
    return new KubeletError(
      `${where}: 401 Unauthorized: the kubelet did not accept the node's ` +
        `client certificate: ${detail}`,
    );
  }
  if (status === 403) {
    return new KubeletError(
      `${where}: 403 Forbidden: the node credential needs RBAC get on nodes/pods ` +
        `(Kubernetes >= 1.33) or nodes/proxy (older clusters): ${detail}`,
    );
  }
  return new KubeletError(`${where}: answered ${status}: ${detail}`);
}

function _explain(error: Error, where: string, request: KubeletRequest): KubeletError {
  const code = (error as { code?: string }).code ?? "";
  const message = error.message;
  if (code === "ECONNREFUSED" || /refused/i.test(message)) {
    return new KubeletError(`${where}: connection refused (is the kubelet running?)`);
  }
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID" || /altname|not valid for name/i.test(message)) {
    return new KubeletError(
      `${where}: serving certificate does not name ${request.serverName} ` +
        `(kubelet-tls-server-name): ${message}`,
    );
  }
  if (code === "ECONNRESET" || /socket hang up/.test(message)) {
    // Under TLS 1.3 a server that refuses the client certificate does so
    // after the client's side of the handshake is done: the client sees a
    // closed connection rather than an alert.
    return new KubeletError(
      `${where}: connection closed without an answer: the kubelet did not accept the ` +
        `node's client certificate (or is not a kubelet)`,
    );
  }
  if (/ALERT|alert/.test(code + message)) {
    return new KubeletError(
      `${where}: kubelet rejected the node's client certificate: ${message}`,
    );
  }
  if (/CERT|certificate|issuer|verify|self.signed/i.test(code + message)) {
    return new KubeletError(
      `${where}: serving certificate is not trusted by kubelet-ca-file: ${message}`,
    );
  }
  return new KubeletError(`${where}: ${message}`);
}

function _concat(chunks: readonly Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}
