/**
 * Where a container's Pod facts are looked up on this node, first asked
 * first: the one order the wrapper and `strict-supplementalgroups explain`
 * both use (docs/design.md "Where a Pod's groups come from").
 *
 * - `cri = "containerd"` with its socket there: the container cache,
 *   containerd's CRI (whose answers fill the cache), then the kubelet for a
 *   container the CRI does not know.
 * - Otherwise (CRI-O, or no containerd socket): the Pod cache, then the
 *   kubelet, whose lists fill it; a sandbox's create fetches its Pod ahead
 *   of its containers.
 *
 * @module
 */

import type { Config } from "../config/config.ts";
import type { PodRef } from "../core/container_identity.ts";
import { describe } from "../core/errors.ts";
import { containerCache } from "./container_cache.ts";
import { containerdSocketPresent, containerdSource } from "./containerd_source.ts";
import { kubeletSource } from "./kubelet_source.ts";
import { type PodCache, podCache } from "./pod_cache.ts";
import { chainSources, type PodSource } from "./pod_source.ts";

/**
 * How long a Pod sandbox's create may wait for its Pod's facts beyond the
 * runtime's own create: a fetch takes 40-70 ms at 110-500 Pods on the
 * bench, so this leaves a slow kubelet room while a stuck one costs the
 * sandbox at most a second; its containers then ask the kubelet themselves.
 */
export const SANDBOX_PREFETCH_MS = 1000;

/** What the sources may do beside a lookup. */
export interface SourceHooks {
  /** Reports what a cache did not trust, or could not store. */
  readonly warn: (msg: string, fields?: Record<string, unknown>) => void;
  /**
   * Runs work once the runtime has started: the caches are filled there.
   * Absent (`explain`), nothing is ever stored.
   */
  readonly whileRuntimeRuns?: ((job: () => Promise<unknown>) => void) | undefined;
}

/** The node's sources. */
export interface NodeSources {
  /** The chain, first asked first. */
  readonly pods: PodSource;
  /** Fetches a sandbox's Pod into the Pod cache ahead of its containers (kubelet nodes). */
  readonly prefetch?: ((pod: PodRef) => Promise<void>) | undefined;
}

/**
 * The node's Pod sources, in the one order.
 *
 * @param config The configuration.
 * @param hooks Warnings, and where cache stores run.
 * @returns The chain, and the sandbox prefetch where the kubelet is the source.
 */
export function nodePodSources(config: Config, hooks: SourceHooks): NodeSources {
  const { warn, whileRuntimeRuns } = hooks;
  const notUsed = (what: string) => (reason: string) => warn(`${what} not used`, { reason });
  if (config.cri === "containerd" && containerdSocketPresent(config)) {
    const cache = config.podCache
      ? containerCache(`${config.stateDir}/containers`, notUsed("container cache"))
      : undefined;
    const cri = containerdSource(config, {
      onAnswer: cache && whileRuntimeRuns &&
        ((id, facts) => whileRuntimeRuns(() => cache.store(id, facts, Date.now()))),
    });
    const kubelet = kubeletSource(config);
    return { pods: chainSources(cache ? [cache.source, cri, kubelet] : [cri, kubelet]) };
  }
  const cache = config.podCache
    ? podCache(`${config.stateDir}/pods`, notUsed("pod cache"))
    : undefined;
  const kubelet = kubeletSource(config, {
    onList: cache && whileRuntimeRuns &&
      ((pods, fetchedAt, ref) =>
        whileRuntimeRuns(() => cache.store(pods, { fetchedAt, rewrite: ref.uid }))),
  });
  return {
    pods: cache ? chainSources([cache.source, kubelet]) : kubelet,
    prefetch: cache && whileRuntimeRuns && ((pod) => _prefetch(pod, cache, kubelet, warn)),
  };
}

/** Fetches a Pod's facts into the cache unless they are there, within {@linkcode SANDBOX_PREFETCH_MS}. */
async function _prefetch(
  pod: PodRef,
  cache: PodCache,
  kubelet: PodSource,
  warn: SourceHooks["warn"],
): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const fetch = (async () => {
    if (await cache.source.lookup(pod) !== undefined) return;
    await kubelet.lookup(pod);
  })().catch((error) => {
    warn("pod sandbox: its pod's facts were not fetched", {
      pod: { namespace: pod.namespace, name: pod.name, uid: pod.uid },
      reason: describe(error),
    });
  });
  const bound = new Promise<void>((resolve) => timer = setTimeout(resolve, SANDBOX_PREFETCH_MS));
  await Promise.race([fetch, bound]);
  clearTimeout(timer);
}
