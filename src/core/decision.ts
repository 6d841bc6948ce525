/**
 * The pure decision core: which supplementary gids a container may keep.
 * No files, environment or network here; everything comes in as data.
 *
 * The entitled set is KEP-3619's `Strict` set: the process's primary gid,
 * the effective runAsGroup, the Pod's supplementalGroups and its fsGroup.
 *
 * @module
 */

/** What the wrapper does with a container that carries undeclared gids. */
export type Mode = "enforce" | "audit" | "deny";

/** The group fields of a Pod, with the container-level runAsGroup already applied. */
export interface PodGroups {
  /** The effective runAsGroup (the container's, else the Pod's). */
  readonly runAsGroup?: number | undefined;
  /** The Pod's supplementalGroups. */
  readonly supplementalGroups: readonly number[];
  /** The Pod's fsGroup. */
  readonly fsGroup?: number | undefined;
  /** Extra gids the node policy grants although the Pod spec does not show them. */
  readonly extraGids?: readonly number[] | undefined;
}

/**
 * The outcome for one gid list.
 *
 * - `unchanged`: nothing to drop; the file stays as it is.
 * - `rewrite`: write `after` (enforce, or deny with only duplicates removed).
 * - `audit`: enforce would write `after`; nothing is changed.
 * - `deny`: the container is refused because `dropped` is not empty.
 */
export interface GidDecision {
  /** What happens to the list. */
  readonly verdict: "unchanged" | "rewrite" | "audit" | "deny";
  /** The list as the CRI computed it. */
  readonly before: readonly number[];
  /** The list enforce keeps: entitled gids, each once, in the CRI's order. */
  readonly after: readonly number[];
  /** The gids enforce drops, each once. */
  readonly dropped: readonly number[];
}

/**
 * The gids a process may hold.
 *
 * @param primaryGid The process's own gid (`process.user.gid`).
 * @param pod The Pod's group fields.
 * @returns The entitled set.
 *
 * @example KEP-3619's example Pod: runAsGroup 3000, supplementalGroups [4000]
 * ```ts
 * import { deepEqual } from "assert";
 * import { entitledGids } from "./decision.ts";
 *
 * const set = entitledGids(3000, { runAsGroup: 3000, supplementalGroups: [4000] });
 * deepEqual([...set], [3000, 4000]);
 * ```
 */
export function entitledGids(primaryGid: number, pod: PodGroups): ReadonlySet<number> {
  const set = new Set<number>([primaryGid]);
  if (pod.runAsGroup !== undefined) set.add(pod.runAsGroup);
  for (const gid of pod.supplementalGroups) set.add(gid);
  if (pod.fsGroup !== undefined) set.add(pod.fsGroup);
  for (const gid of pod.extraGids ?? []) set.add(gid);
  return set;
}

/**
 * Decides what happens to a gid list. The order of the kept gids is the
 * order the CRI wrote; repeated gids are kept once.
 *
 * @param before The list as the CRI computed it.
 * @param entitled The gids the process may hold.
 * @param mode The configured mode.
 * @returns The decision.
 *
 * @example The image's gid 50000 is dropped
 * ```ts
 * import { deepEqual } from "assert";
 * import { decideGids } from "./decision.ts";
 *
 * deepEqual(decideGids([1000, 50000, 60000], new Set([1000, 60000]), "enforce"), {
 *   verdict: "rewrite",
 *   before: [1000, 50000, 60000],
 *   after: [1000, 60000],
 *   dropped: [50000],
 * });
 * ```
 */
export function decideGids(
  before: readonly number[],
  entitled: ReadonlySet<number>,
  mode: Mode,
): GidDecision {
  const after: number[] = [];
  const dropped: number[] = [];
  for (const gid of before) {
    if (!entitled.has(gid)) {
      if (!dropped.includes(gid)) dropped.push(gid);
    } else if (!after.includes(gid)) {
      after.push(gid);
    }
  }
  const changed = after.length !== before.length;
  const verdict = !changed
    ? "unchanged"
    : mode === "audit"
    ? "audit"
    : mode === "deny" && dropped.length > 0
    ? "deny"
    : "rewrite";
  return { verdict, before: [...before], after, dropped };
}
