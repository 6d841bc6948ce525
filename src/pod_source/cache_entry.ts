/**
 * The entries of the node's two caches, the Pod cache (`pod_cache.ts`) and
 * the container cache (`container_cache.ts`): one file each, holding the
 * facts a source answered and nothing else, read only the way the state
 * directory is trusted (`state/state_dir.ts`).
 *
 * @module
 */

import { type PodFacts, validFacts } from "../core/pod_facts.ts";
import { distrustDir, ensureStateDir, readTrustedSync } from "../state/state_dir.ts";

/** The caches' name in decision records. */
export const CACHE_SOURCE = "cache";

/** The entry format's version; an entry of another version is a miss. */
const VERSION = 1;

/**
 * An entry's text: the facts, nothing else.
 *
 * @param facts The facts.
 * @returns The text to store.
 */
export function entryText(facts: PodFacts): string {
  return `${JSON.stringify({ v: VERSION, facts })}\n`;
}

/**
 * The one report of a call's cache trouble: a miss for a reason the
 * operator should see (an untrusted directory or entry, a failed store) is
 * reported once per invocation.
 *
 * @param what The cache and its directory, for the message.
 * @param fallback Who decides instead, for the message.
 * @param warn Where the report goes.
 * @returns The reporter; it returns `undefined`, a miss.
 */
export function reportOnce(
  what: string,
  fallback: string,
  warn: (message: string) => void,
): (message: string) => undefined {
  let warned = false;
  return (message) => {
    if (!warned) warn(`${what}: ${message}; ${fallback} decides`);
    warned = true;
    return undefined;
  };
}

/**
 * Writes to a cache directory, made and checked first; a failure is
 * reported, never thrown (the cache only makes answers faster).
 *
 * @param dir The cache directory.
 * @param distrusted The reporter.
 * @param write The writes.
 * @returns Once done.
 */
export function storeInto(
  dir: string,
  distrusted: (message: string) => undefined,
  write: () => void,
): Promise<void> {
  try {
    ensureStateDir(dir);
    write();
  } catch (error) {
    distrusted((error as Error).message);
  }
  return Promise.resolve();
}

/** An entry as read. */
export interface Entry {
  /** Its path, for messages. */
  readonly path: string;
  /** The facts it holds. */
  readonly facts: PodFacts;
  /** When it was written (epoch ms). */
  readonly written: number;
}

/**
 * Reads an entry of a cache directory, trusting it only when the
 * directory, its ancestors and the file are root's alone and the file is
 * a whole entry of this format, validated as strictly as a source's answer.
 *
 * @param dir The cache directory.
 * @param name The entry's file name.
 * @param distrusted Told why something is not trusted; its `undefined` is returned.
 * @returns The entry, or `undefined` for a miss (an absent one is a quiet miss).
 */
export function readEntry(
  dir: string,
  name: string,
  distrusted: (message: string) => undefined,
): Entry | undefined {
  let why: string | undefined;
  try {
    why = distrustDir(dir);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  if (why !== undefined) return distrusted(why);
  const path = `${dir}/${name}`;
  let read: { text: string; info: Deno.FileInfo };
  try {
    read = readTrustedSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    return distrusted(`${path}: ${(error as Error).message}`);
  }
  const facts = entryFacts(read.text);
  if (facts === undefined) return distrusted(`${path}: not a whole entry`);
  return { path, facts, written: read.info.mtime?.getTime() ?? 0 };
}

/**
 * An entry's facts, validated as strictly as a source's answer.
 *
 * @param text The entry file's text.
 * @returns The facts, or `undefined` when it is not a whole entry of this version.
 */
export function entryFacts(text: string): PodFacts | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const entry = value as { v?: unknown; facts?: unknown } | null;
  return entry?.v === VERSION ? validFacts(entry.facts) : undefined;
}
