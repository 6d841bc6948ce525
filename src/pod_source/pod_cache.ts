/**
 * The node Pod cache: the group facts of every Pod the kubelet has listed,
 * one file per Pod uid (`<dir>/<uid>.json`), so that an exec or a later
 * create finds its Pod with no kubelet round trip.
 *
 * Why it is safe: a Pod's `spec.securityContext` and its containers'
 * `securityContext.runAsGroup` cannot change after the Pod is created
 * (kubernetes ValidatePodUpdate), and a Pod's uid is never reused, so an
 * entry keyed by uid never goes stale; the policy is applied afresh on
 * every call. An entry is only ever the kubelet's own answer, written by
 * the wrapper (root): the cache can make an answer faster, never different.
 *
 * Trust (`cache_entry.ts`): entries are read only from a directory that
 * `state/state_dir.ts` trusts, and only when the entry is a regular file that root owns and no
 * one else may write; a symlink is never followed (the file opened must be
 * the one `lstat` saw). Anything else, a corrupt entry, or an entry whose
 * namespace or name disagree with the CRI's annotations, is a miss (the
 * kubelet then decides), reported once per invocation.
 *
 * @module
 */

import type { PodRef } from "../core/container_identity.ts";
import type { PodFacts } from "../core/pod_facts.ts";
import { TEMP_TAG } from "../spec/atomic_write.ts";
import { readTrustedSync, replaceStateFile } from "../state/state_dir.ts";
import { CACHE_SOURCE, entryText, readEntry, reportOnce, storeInto } from "./cache_entry.ts";
import type { PodAnswer, PodSource } from "./pod_source.ts";

/** Pod uids are UUIDs (static Pods: a hash); anything else never names a file. */
const UID = /^[A-Za-z0-9-]{1,64}$/;

/** Temp files a killed writer left are removed once they are this old. */
const STRAY_TEMP_MS = 60_000;

/** The cache: a Pod source, and the store that fills and prunes it. */
export interface PodCache {
  /** The cache as a Pod source (misses for Pods it does not hold, or cannot trust). */
  readonly source: PodSource;
  /**
   * Stores the facts of every Pod of a fresh `/pods` answer and prunes the
   * entries of Pods it no longer lists that are older than it.
   *
   * @param pods The facts of every Pod the kubelet listed.
   * @param options `fetchedAt`: when the request was sent (epoch ms);
   *   `rewrite`: a uid whose entry is rewritten even when it exists (the Pod
   *   that was looked up, whose entry missed, for one, after `kubectl debug`
   *   added an ephemeral container).
   */
  store(
    pods: readonly PodFacts[],
    options: { readonly fetchedAt: number; readonly rewrite?: string | undefined },
  ): Promise<void>;
}

/**
 * The cache in a directory.
 *
 * @param dir The cache directory (`<state-dir>/pods`).
 * @param warn Reports why something in the cache was not trusted; called at most once.
 * @returns The cache.
 */
export function podCache(dir: string, warn: (message: string) => void): PodCache {
  const distrusted = reportOnce(`pod cache ${dir}`, "the kubelet", warn);

  const source: PodSource = {
    name: CACHE_SOURCE,
    where: `in the node pod cache ${dir}`,
    // Synchronous file calls throughout: on tmpfs they take microseconds,
    // Deno's async ones tens, and this runs on every exec.
    lookup(ref) {
      return Promise.resolve(_lookup(dir, ref, distrusted));
    },
  };

  return {
    source,
    store: (pods, { fetchedAt, rewrite }) =>
      storeInto(dir, distrusted, () => _store(dir, pods, fetchedAt, rewrite)),
  };
}

function _lookup(
  dir: string,
  ref: PodRef,
  distrusted: (message: string) => undefined,
): PodAnswer | undefined {
  if (ref.uid === undefined || !UID.test(ref.uid)) return undefined;
  const entry = readEntry(dir, `${ref.uid}.json`, distrusted);
  if (entry === undefined) return undefined;
  const { facts, path } = entry;
  if (!_belongsTo(facts, ref)) {
    return distrusted(
      `${path}: holds pod ${facts.namespace}/${facts.name}, not ${ref.namespace}/${ref.name}`,
    );
  }
  // An ephemeral container added since (kubectl debug) is not in the entry yet.
  if (ref.container !== undefined && !facts.containers.some((c) => c.name === ref.container)) {
    return undefined;
  }
  return { facts, source: CACHE_SOURCE };
}

function _store(
  dir: string,
  pods: readonly PodFacts[],
  fetchedAt: number,
  rewrite: string | undefined,
): void {
  const names = new Set<string>();
  for (const entry of Deno.readDirSync(dir)) names.add(entry.name);
  const listed = new Set<string>();
  for (const facts of pods) {
    if (facts.uid === undefined || !UID.test(facts.uid)) continue;
    const name = `${facts.uid}.json`;
    listed.add(name);
    if (names.has(name) && facts.uid !== rewrite) continue;
    const text = entryText(facts);
    // Many wrappers refresh at once after a cold start: an entry already as
    // it should be is left alone, so readers rarely see it replaced.
    if (names.has(name) && _tryRead(`${dir}/${name}`) === text) continue;
    replaceStateFile(`${dir}/${name}`, text);
  }
  // Prune what the answer no longer lists, unless a newer answer wrote it.
  for (const name of names) {
    const temp = name.includes(TEMP_TAG);
    if (!temp && (!name.endsWith(".json") || listed.has(name))) continue;
    try {
      const age = fetchedAt - (Deno.lstatSync(`${dir}/${name}`).mtime?.getTime() ?? fetchedAt);
      if (age > (temp ? STRAY_TEMP_MS : 0)) Deno.removeSync(`${dir}/${name}`);
    } catch {
      // Gone already: another wrapper pruned it.
    }
  }
}

function _tryRead(path: string): string | undefined {
  try {
    return readTrustedSync(path).text;
  } catch {
    return undefined;
  }
}

function _belongsTo(facts: PodFacts, ref: PodRef): boolean {
  return facts.uid === ref.uid && facts.namespace === ref.namespace && facts.name === ref.name;
}
