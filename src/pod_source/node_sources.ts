/**
 * Where a container's Pod facts are looked up on this node, first asked
 * first: the one order the wrapper and `strict-supplementalgroups explain`
 * both use (docs/design.md "Where a Pod's groups come from").
 *
 * - `cri = "containerd"` with its socket there: the container cache,
 *   containerd's CRI (whose answers fill the cache), then the kubelet for a
 *   container the CRI does not know.
 * - Otherwise (CRI-O, or no containerd socket): the Pod cache, then the
 *   kubelet, whose lists fill it.
 *
 * Nothing is fetched ahead of need: most images grant their user no group,
 * and their containers are decided with no Pod at all.
 *
 * @module
 */

import type { Config } from "../config/config.ts";
import { containerCache } from "./container_cache.ts";
import { containerdSocketPresent, containerdSource } from "./containerd_source.ts";
import { kubeletSource } from "./kubelet_source.ts";
import { podCache } from "./pod_cache.ts";
import { chainSources, type PodSource } from "./pod_source.ts";

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

/**
 * The node's Pod sources, in the one order.
 *
 * @param config The configuration.
 * @param hooks Warnings, and where cache stores run.
 * @returns The chain, first asked first.
 */
export function nodePodSources(config: Config, hooks: SourceHooks): PodSource {
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
    return chainSources(cache ? [cache.source, cri, kubelet] : [cri, kubelet]);
  }
  const cache = config.podCache
    ? podCache(`${config.stateDir}/pods`, notUsed("pod cache"))
    : undefined;
  const kubelet = kubeletSource(config, {
    onList: cache && whileRuntimeRuns &&
      ((pods, fetchedAt, ref) =>
        whileRuntimeRuns(() => cache.store(pods, { fetchedAt, rewrite: ref.uid }))),
  });
  return cache ? chainSources([cache.source, kubelet]) : kubelet;
}
