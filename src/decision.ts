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
  readonly runAsGroup?: number | undefined;
  readonly supplementalGroups: readonly number[];
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
  readonly verdict: "unchanged" | "rewrite" | "audit" | "deny";
  readonly before: readonly number[];
  readonly after: readonly number[];
  readonly dropped: readonly number[];
}

/**
 * The gids a process may hold.
 *
 * @param primaryGid The process's own gid (`process.user.gid`).
 * @param pod The Pod's group fields.
 * @returns The entitled set.
 *
 * @example
 * ```ts
 * import { entitledGids } from "./decision.ts";
 * const set = entitledGids(3000, { runAsGroup: 3000, supplementalGroups: [4000] });
 * console.assert([...set].join(",") === "3000,4000");
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
 * @example
 * ```ts
 * import { decideGids } from "./decision.ts";
 * const d = decideGids([1000, 50000, 60000], new Set([1000, 60000]), "enforce");
 * console.assert(d.verdict === "rewrite" && d.after.join() === "1000,60000");
 * console.assert(d.dropped.join() === "50000");
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
