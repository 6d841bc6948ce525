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
 * Trust: entries are read only from a directory that {@linkcode distrustDir}
 * accepts, and only when the entry is a regular file that root owns and no
 * one else may write; a symlink is never followed (the file opened must be
 * the one `lstat` saw). Anything else, a corrupt entry, or an entry whose
 * namespace or name disagree with the CRI's annotations, is a miss (the
 * kubelet then decides), reported once per invocation.
 *
 * @module
 */

import type { PodRef } from "../core/container_identity.ts";
import type { ContainerFacts, PodFacts } from "../core/pod_facts.ts";
import { TEMP_TAG } from "../spec/atomic_write.ts";
import { distrust, distrustDir, ensureStateDir, replaceStateFile } from "../state/state_dir.ts";
import type { PodAnswer, PodSource } from "./pod_source.ts";

/** The cache's name in decision records. */
export const CACHE_SOURCE = "cache";

/** The entry format's version; an entry of another version is a miss. */
const VERSION = 1;

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
  let warned = false;
  /** A miss for a reason the operator should see, reported once. */
  const distrusted = (message: string): undefined => {
    if (!warned) warn(`pod cache ${dir}: ${message}; the kubelet decides`);
    warned = true;
    return undefined;
  };

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
    store(pods, { fetchedAt, rewrite }) {
      try {
        ensureStateDir(dir);
        _store(dir, pods, fetchedAt, rewrite);
      } catch (error) {
        distrusted((error as Error).message);
      }
      return Promise.resolve();
    },
  };
}

function _lookup(
  dir: string,
  ref: PodRef,
  distrusted: (message: string) => undefined,
): PodAnswer | undefined {
  if (ref.uid === undefined || !UID.test(ref.uid)) return undefined;
  let why: string | undefined;
  try {
    why = distrustDir(dir);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  if (why !== undefined) return distrusted(why);
  const path = `${dir}/${ref.uid}.json`;
  let text: string;
  try {
    text = _readTrusted(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    return distrusted(`${path}: ${(error as Error).message}`);
  }
  const facts = _parseEntry(text);
  if (facts === undefined) return distrusted(`${path}: not a whole entry`);
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
    const text = _entryText(facts);
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

/** The entry's content: the facts, nothing else. */
function _entryText(facts: PodFacts): string {
  return `${JSON.stringify({ v: VERSION, facts })}\n`;
}

function _tryRead(path: string): string | undefined {
  try {
    return _readTrusted(path);
  } catch {
    return undefined;
  }
}

/**
 * Reads a file only when it is a regular, root-owned file nobody else may
 * write, and the file opened is the one `lstat` saw (a symlink put in its
 * place between the two would open another inode).
 */
function _readTrusted(path: string): string {
  // Another wrapper may replace the entry (rename) between lstat and open:
  // look again a few times before calling the entry untrustworthy.
  for (let attempt = 1;; attempt++) {
    const seen = Deno.lstatSync(path);
    const why = distrust(seen, "file");
    if (why !== undefined) throw new Error(`is ${why}`);
    using file = Deno.openSync(path, { read: true });
    const opened = file.statSync();
    if (opened.ino === seen.ino && opened.dev === seen.dev) {
      const bytes = new Uint8Array(opened.size);
      let read = 0;
      while (read < bytes.length) {
        const n = file.readSync(bytes.subarray(read));
        if (n === null) break;
        read += n;
      }
      return new TextDecoder().decode(bytes.subarray(0, read));
    }
    if (attempt === 3) throw new Error("kept being replaced while it was read");
  }
}

/** The facts of an entry, validated as strictly as the kubelet's answer, or `undefined`. */
function _parseEntry(text: string): PodFacts | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const entry = value as { v?: unknown; facts?: Record<string, unknown> };
  const f = entry?.facts;
  if (entry?.v !== VERSION || typeof f !== "object" || f === null) return undefined;
  const { namespace, name, uid, supplementalGroupsPolicy } = f;
  const ids = Array.isArray(f.supplementalGroups) ? f.supplementalGroups : undefined;
  const containers = Array.isArray(f.containers) ? f.containers : undefined;
  if (
    typeof namespace !== "string" || typeof name !== "string" || typeof uid !== "string" ||
    typeof supplementalGroupsPolicy !== "string" || ids === undefined || !ids.every(_isId) ||
    !_optionalId(f.runAsGroup) || !_optionalId(f.fsGroup) || containers === undefined
  ) {
    return undefined;
  }
  const own: ContainerFacts[] = [];
  for (const c of containers as Record<string, unknown>[]) {
    if (typeof c?.name !== "string" || !_optionalId(c.runAsGroup)) return undefined;
    own.push(
      c.runAsGroup === undefined
        ? { name: c.name }
        : { name: c.name, runAsGroup: c.runAsGroup as number },
    );
  }
  return {
    namespace,
    name,
    uid,
    ...(f.runAsGroup === undefined ? {} : { runAsGroup: f.runAsGroup as number }),
    supplementalGroups: ids as number[],
    ...(f.fsGroup === undefined ? {} : { fsGroup: f.fsGroup as number }),
    supplementalGroupsPolicy,
    containers: own,
  };
}

function _belongsTo(facts: PodFacts, ref: PodRef): boolean {
  return facts.uid === ref.uid && facts.namespace === ref.namespace && facts.name === ref.name;
}

function _isId(value: unknown): value is number {
  // The API server's range (kubernetes IsValidGroupID), as for the kubelet's answer.
  return typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= 2147483647;
}

function _optionalId(value: unknown): boolean {
  return value === undefined || _isId(value);
}
