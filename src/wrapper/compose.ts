/**
 * The composition root of the identity-setting path: load the configuration
 * once, parse the invocation in the configured runtime's grammar, build the
 * real seams (spec files, the Pod sources, the low-level runtime, the log),
 * and enforce. Work that must not hold the decision up (filling the Pod
 * cache, the pass-through record) waits until the runtime has started, runs
 * while it runs, and is waited for before the wrapper exits.
 *
 * @module
 */

import { type Config, DEFAULT_CONFIG, loadConfig } from "../config/config.ts";
import { configPath } from "../config/config_file.ts";
import type { PodRef } from "../core/container_identity.ts";
import { describe } from "../core/errors.ts";
import { fileLog } from "../log/decision_log.ts";
import { containerCache } from "../pod_source/container_cache.ts";
import { containerdSocketPresent, containerdSource } from "../pod_source/containerd_source.ts";
import { kubeletSource } from "../pod_source/kubelet_source.ts";
import { type PodCache, podCache } from "../pod_source/pod_cache.ts";
import { chainSources, type PodSource } from "../pod_source/pod_source.ts";
import { parseInvocation } from "../runtime/argv.ts";
import { lowLevelRuntime } from "../runtime/runtime.ts";
import { flavourOf } from "../runtime/runtime_binary.ts";
import { specFiles } from "../spec/spec_files.ts";
import { recordRuntime } from "../state/runtime_record.ts";
import { enforce } from "./enforce.ts";
import { requestOf } from "./request.ts";

/**
 * How long a Pod sandbox's create may wait for its Pod's facts beyond the
 * runtime's own create: a fetch takes 40-70 ms at 110-500 Pods on the
 * bench, so this leaves a slow kubelet room while a stuck one costs the
 * sandbox at most a second; its containers then ask the kubelet themselves.
 */
export const SANDBOX_PREFETCH_MS = 1000;

/**
 * Enforces one identity-setting invocation with the node's configuration.
 *
 * @param argv The wrapper's arguments.
 * @returns The exit status to mirror.
 * @throws {WrapperError} Whenever the container must not start; the message names the cause.
 */
export async function enforceInvocation(argv: readonly string[]): Promise<number> {
  const location = configPath();
  const readAt = new Date();
  const config = await loadConfig(location);
  // From the runtime's time origin: module loading and configuration.
  const started = performance.now();
  const request = requestOf(parseInvocation(argv, flavourOf(config.runtime)), {
    cwd: Deno.cwd(),
    pidFileInBundle: config.cri === "containerd",
  });
  const aside = _aside();
  const log = fileLog(config.logging);
  const warn = (msg: string, fields: Record<string, unknown> = {}) =>
    aside.add(log.write({ level: "warn", msg, ...fields }));
  const { pods, prefetch } = _podSources(config, aside, warn);
  try {
    return await enforce(request, config, {
      specs: specFiles,
      pods,
      runtime: lowLevelRuntime(config.runtime, {
        started: () => {
          aside.runtimeStarted();
          return recordRuntime(config.stateDir, {
            configPath: location.path,
            present: config.source !== DEFAULT_CONFIG.source,
            runtime: config.runtime,
            readAt,
          }).catch((error) => warn("pass-through record not written", { reason: describe(error) }));
        },
      }),
      log,
      prefetch,
    }, started);
  } finally {
    await aside.settled();
  }
}

/**
 * Where a container's groups are looked up, first asked first. On a
 * containerd node whose socket is there: the container cache, containerd's
 * CRI (whose answers fill it), then the kubelet for a container the CRI
 * does not know. Otherwise (CRI-O, or no containerd socket): the Pod
 * cache, then the kubelet, whose lists fill it, with a sandbox's create
 * fetching its Pod ahead of its containers.
 */
function _podSources(
  config: Config,
  aside: Aside,
  warn: (msg: string, fields?: Record<string, unknown>) => void,
): { pods: PodSource; prefetch?: ((pod: PodRef) => Promise<void>) | undefined } {
  const notUsed = (what: string) => (reason: string) => warn(`${what} not used`, { reason });
  if (config.cri === "containerd" && containerdSocketPresent(config)) {
    const cache = config.podCache
      ? containerCache(`${config.stateDir}/containers`, notUsed("container cache"))
      : undefined;
    const cri = containerdSource(config, {
      onAnswer: cache &&
        ((id, facts) => aside.whileRuntimeRuns(() => cache.store(id, facts, Date.now()))),
    });
    const kubelet = kubeletSource(config);
    return { pods: chainSources(cache ? [cache.source, cri, kubelet] : [cri, kubelet]) };
  }
  const cache = config.podCache
    ? podCache(`${config.stateDir}/pods`, notUsed("pod cache"))
    : undefined;
  const kubelet = kubeletSource(config, {
    onList: cache &&
      ((pods, fetchedAt, ref) =>
        aside.whileRuntimeRuns(() => cache.store(pods, { fetchedAt, rewrite: ref.uid }))),
  });
  return {
    pods: cache ? chainSources([cache.source, kubelet]) : kubelet,
    prefetch: cache && ((pod) => _prefetch(pod, cache, kubelet, warn)),
  };
}

/** Fetches a Pod's facts into the cache unless they are there, within {@linkcode SANDBOX_PREFETCH_MS}. */
async function _prefetch(
  pod: PodRef,
  cache: PodCache,
  kubelet: PodSource,
  warn: (msg: string, fields?: Record<string, unknown>) => void,
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

/** Work beside the decision, waited for before the wrapper exits. */
interface Aside {
  /** Work already under way. */
  add(work: Promise<unknown>): void;
  /** Work to start once the runtime has started (at once if it has). */
  whileRuntimeRuns(job: () => Promise<unknown>): void;
  /** Starts the work that waited for the runtime. */
  runtimeStarted(): void;
  /** Waits for all of it (starting what still waits: the runtime may never start). */
  settled(): Promise<void>;
}

function _aside(): Aside {
  const pending: Promise<unknown>[] = [];
  const waiting: (() => Promise<unknown>)[] = [];
  let started = false;
  const add = (work: Promise<unknown>) => void pending.push(work.catch(() => {}));
  const start = () => {
    started = true;
    for (const job of waiting.splice(0)) add(job());
  };
  return {
    add,
    whileRuntimeRuns: (job) => started ? add(job()) : void waiting.push(job),
    runtimeStarted: start,
    async settled() {
      start();
      // Work may add more work (a store's warning); wait until none is left.
      for (let seen = 0; seen < pending.length; seen = pending.length) {
        await Promise.all(pending.slice(seen));
      }
    },
  };
}
