/**
 * The kubelet as a Pod source: the node's own kubelet, asked for `/pods`
 * over TLS with the node's client certificate. Its modules (the kubeconfig
 * parser, `node:https`) are loaded on the first lookup only, so a request
 * that another source answers never pays for them.
 *
 * @module
 */

import type { KubeletSettings } from "../config/config.ts";
import { KubeletError } from "../core/errors.ts";
import type { PodSource } from "./pod_source.ts";
import type { Pod } from "./pod_list.ts";

/** The source's name in decision records. */
export const KUBELET_SOURCE = "kubelet";

/** Options of {@linkcode kubeletSource}. */
export interface KubeletSourceOptions {
  /**
   * Called with every Pod list the kubelet answers, before the lookup
   * returns (a cache fills itself from it).
   */
  readonly onList?: (pods: readonly Pod[]) => Promise<void>;
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
      const pods = await fetchPods({
        url: settings.kubeletUrl,
        ca,
        serverName: settings.kubeletTlsServerName ?? Deno.hostname().toLowerCase(),
        credential: await loadClientCredential(settings.kubeconfig, read),
        timeoutMs: settings.kubeletTimeoutSeconds * 1000,
        maxBytes: DEFAULT_MAX_BYTES,
      });
      await options.onList?.(pods);
      const pod = list.findPod(pods, ref);
      return pod === undefined ? undefined : { facts: list.podFacts(pod), source: KUBELET_SOURCE };
    },
  };
}
