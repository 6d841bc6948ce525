/**
 * The node container cache: what containerd's CRI answered for a container,
 * one file per container id (`<dir>/<id>.json`), so that every exec into
 * it after its create (readiness and liveness probes, `kubectl exec`)
 * finds its groups with no CRI call.
 *
 * Why it is safe: a container's config, the `ContainerConfig` the kubelet
 * sent and containerd keeps, never changes once the container exists, and
 * containerd's CRI never reuses a container id (it makes a random one for
 * every create), so an entry cannot go stale while its container lives;
 * the policy is applied afresh on every call. An entry is only ever the
 * CRI's own answer, written by the wrapper (root).
 *
 * Entries are trusted as the Pod cache's are (`pod_cache.ts`): a directory
 * and a file only root can write, no symlink followed, an entry that names
 * another Pod or container than the spec's annotations a miss. Nothing
 * tells the wrapper that a container is gone (its `delete` passes straight
 * through), so an entry lives {@linkcode ENTRY_TTL_MS} from its writing:
 * a long-lived container pays one CRI call per hour, and the directory
 * holds at most the containers looked up in the last one.
 *
 * @module
 */

import type { PodRef } from "../core/container_identity.ts";
import type { PodFacts } from "../core/pod_facts.ts";
import { TEMP_TAG } from "../spec/atomic_write.ts";
import { replaceStateFile } from "../state/state_dir.ts";
import { CACHE_SOURCE, entryText, readEntry, reportOnce, storeInto } from "./cache_entry.ts";
import type { PodAnswer, PodSource } from "./pod_source.ts";

/** How long an entry is used after it was written. */
export const ENTRY_TTL_MS = 60 * 60 * 1000;

/** containerd's container ids (CRI: 64 hex digits; `ctr`: its identifiers); nothing else names a file. */
const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** Temp files a killed writer left are removed once they are this old. */
const STRAY_TEMP_MS = 60_000;

/** The cache: a Pod source keyed by container id, and the store that fills and prunes it. */
export interface ContainerCache {
  /** The cache as a Pod source: it answers only refs that carry a `containerId`. */
  readonly source: PodSource;
  /**
   * Stores a container's answer, and removes the entries that have expired.
   *
   * @param containerId The container's id.
   * @param facts The facts the CRI answered for it.
   * @param now The time to expire entries against (epoch ms).
   */
  store(containerId: string, facts: PodFacts, now: number): Promise<void>;
}

/**
 * The cache in a directory.
 *
 * @param dir The cache directory (`<state-dir>/containers`).
 * @param warn Reports why something in the cache was not trusted; called at most once.
 * @returns The cache.
 */
export function containerCache(dir: string, warn: (message: string) => void): ContainerCache {
  const distrusted = reportOnce(`container cache ${dir}`, "the CRI", warn);
  return {
    source: {
      name: CACHE_SOURCE,
      where: `in the node container cache ${dir}`,
      lookup: (ref) => Promise.resolve(_lookup(dir, ref, Date.now(), distrusted)),
    },
    store(containerId, facts, now) {
      // An entry must name the Pod by uid, as every lookup's does.
      if (!ID.test(containerId) || facts.uid === undefined) return Promise.resolve();
      return storeInto(dir, distrusted, () => {
        replaceStateFile(`${dir}/${containerId}.json`, entryText(facts));
        _prune(dir, now);
      });
    },
  };
}

function _lookup(
  dir: string,
  ref: PodRef,
  now: number,
  distrusted: (message: string) => undefined,
): PodAnswer | undefined {
  if (ref.containerId === undefined || !ID.test(ref.containerId)) return undefined;
  const entry = readEntry(dir, `${ref.containerId}.json`, distrusted);
  if (entry === undefined || now - entry.written > ENTRY_TTL_MS) return undefined;
  const { facts, path } = entry;
  const own = facts.containers.length === 1 ? facts.containers[0]!.name : undefined;
  if (
    facts.uid !== ref.uid || facts.namespace !== ref.namespace || facts.name !== ref.name ||
    own === undefined || (ref.container !== undefined && own !== ref.container)
  ) {
    return distrusted(
      `${path}: holds pod ${facts.namespace}/${facts.name} container ${own}, ` +
        `not ${ref.namespace}/${ref.name} container ${ref.container}`,
    );
  }
  return { facts, source: CACHE_SOURCE };
}

/** Removes expired entries and the temp files of killed writers. */
function _prune(dir: string, now: number): void {
  for (const entry of Deno.readDirSync(dir)) {
    const temp = entry.name.includes(TEMP_TAG);
    if (!temp && !entry.name.endsWith(".json")) continue;
    const path = `${dir}/${entry.name}`;
    try {
      const age = now - (Deno.lstatSync(path).mtime?.getTime() ?? now);
      if (age > (temp ? STRAY_TEMP_MS : ENTRY_TTL_MS)) Deno.removeSync(path);
    } catch {
      // Gone already: another wrapper pruned it.
    }
  }
}
