/**
 * The kubelet as a Pod source: the node's own kubelet, asked for `/pods`
 * over TLS with the node's client certificate. Its modules (the kubeconfig
 * parser, `node:https`) are loaded on the first lookup only, so a request
 * that another source answers never pays for them.
 *
 * @module
 */

import type { KubeletSettings } from "../config/config.ts";
import type { PodRef } from "../core/container_identity.ts";
import { KubeletError } from "../core/errors.ts";
import type { PodFacts } from "../core/pod_facts.ts";
import type { PodSource } from "./pod_source.ts";

/** The source's name in decision records. */
export const KUBELET_SOURCE = "kubelet";

/** Options of {@linkcode kubeletSource}. */
export interface KubeletSourceOptions {
  /**
   * Told of every Pod list the kubelet answers, as the facts of each Pod in
   * it whose facts are valid (a cache fills itself from them). It must not
   * hold the lookup up: whatever it starts, it waits for elsewhere.
   *
   * @param pods The facts of the Pods listed.
   * @param fetchedAt When the request was sent (epoch milliseconds).
   * @param ref The Pod that was asked for.
   */
  readonly onList?:
    | ((pods: readonly PodFacts[], fetchedAt: number, ref: PodRef) => void)
    | undefined;
}

/**
 * The kubelet Pod source.
 *
 * @param settings Address, trust, credential and timeout.
 * @param options Hooks.
 * @returns The source.
 */
export function kubeletSource(
  settings: KubeletSettings,
  options: KubeletSourceOptions = {},
): PodSource {
  return {
    name: KUBELET_SOURCE,
    where: "on this node's kubelet",
    async lookup(ref) {
      _warmUpTlsRandom();
      const [{ fetchPods, DEFAULT_MAX_BYTES }, { loadClientCredential, pemBlocks }, list] =
        await Promise.all([
          import("./kubelet_client.ts"),
          import("./kubeconfig.ts"),
          import("./pod_list.ts"),
        ]);
      const read = (path: string) => Deno.readTextFile(path);
      const ca = await read(settings.kubeletCaFile).catch((error) => {
        throw new KubeletError(`kubelet-ca-file ${settings.kubeletCaFile}: ${error.message}`, {
          cause: error,
        });
      });
      if (pemBlocks(ca, /CERTIFICATE/).length === 0) {
        throw new KubeletError(`kubelet-ca-file ${settings.kubeletCaFile}: holds no certificate`);
      }
      const fetchedAt = Date.now();
      const pods = await fetchPods({
        url: settings.kubeletUrl,
        ca,
        serverName: settings.kubeletTlsServerName ?? Deno.hostname().toLowerCase(),
        credential: await loadClientCredential(settings.kubeconfig, read),
        timeoutMs: settings.kubeletTimeoutSeconds * 1000,
        maxBytes: DEFAULT_MAX_BYTES,
      });
      if (options.onList !== undefined) {
        options.onList(
          pods.flatMap((pod) => {
            try {
              return [list.podFacts(pod)];
            } catch {
              return []; // Not cached; a lookup of that very Pod reports why.
            }
          }),
          fetchedAt,
          ref,
        );
      }
      const pod = list.findPod(pods, ref);
      return pod === undefined ? undefined : { facts: list.podFacts(pod), source: KUBELET_SOURCE };
    },
  };
}

/**
 * Starts seeding the TLS library's random generator on a background thread,
 * so that it overlaps loading `node:https` and the kubeconfig parser.
 *
 * The first random bytes Deno's TLS stack (rustls on AWS-LC) draws in a
 * process cost 30-40 ms of CPU, once; under strace the gap sits between
 * AWS-LC's fork-detection set-up and its getrandom(2). WebCrypto's ECDSA key
 * generation draws from the same generator on Deno's blocking thread pool,
 * so asking for a throw-away key now leaves the handshake with only its own
 * ~2 ms. It is started here, when the kubelet is really asked, and not for
 * every identity-setting call: a call the Pod cache answers would pay the
 * 30-40 ms of CPU for nothing. Correctness never depends on it.
 */
function _warmUpTlsRandom(): void {
  crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign"])
    .catch(() => {});
}
