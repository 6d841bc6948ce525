/**
 * Where a Pod's group facts come from: the seam every source implements
 * (the kubelet, a Pod file for `explain`, …) and the chain that asks them in
 * order. A source answers the facts, or `undefined` when it does not hold
 * the Pod; an error means the wrapper fails closed, and only a miss lets
 * the chain ask the next source.
 *
 * @module
 */

import type { PodRef } from "../core/container_identity.ts";
import { PodSourceError } from "../core/errors.ts";
import type { PodFacts } from "../core/pod_facts.ts";

/** A source's answer: the facts, and which source gave them. */
export interface PodAnswer {
  /** The Pod's group facts. */
  readonly facts: PodFacts;
  /** The name of the source that answered, for decision records. */
  readonly source: string;
  /** The sources a chain asked first, which did not hold the Pod. */
  readonly missed?: readonly string[] | undefined;
}

/** One place a Pod's group facts can come from. */
export interface PodSource {
  /** Its name in decision records (`kubelet`, `pod-file`, …). */
  readonly name: string;
  /** Where it looks, for messages: `on this node's kubelet`, `in pod file F`. */
  readonly where: string;
  /**
   * Looks a Pod up.
   *
   * @param ref The container's Pod, from the CRI's annotations.
   * @returns The answer, or `undefined` when this source does not hold the Pod.
   * @throws {PodSourceError} When the source cannot answer; the caller fails closed.
   */
  lookup(ref: PodRef): Promise<PodAnswer | undefined>;
}

/**
 * Asks sources in order, falling through to the next only on a miss.
 *
 * @param sources The sources, first asked first.
 * @returns A source that answers with the first answer.
 *
 * @example A miss falls through; the answer names its source
 * ```ts
 * import { equal } from "assert";
 * import { chainSources, type PodSource } from "./pod_source.ts";
 *
 * const facts = {
 *   namespace: "ns", name: "web", supplementalGroups: [], supplementalGroupsPolicy: "Merge",
 *   containers: [],
 * };
 * const miss: PodSource = { name: "cache", where: "in the cache", lookup: async () => undefined };
 * const hit: PodSource = {
 *   name: "kubelet", where: "on the kubelet", lookup: async () => ({ facts, source: "kubelet" }),
 * };
 * const answer = await chainSources([miss, hit]).lookup({ namespace: "ns", name: "web" });
 * equal(answer?.source, "kubelet");
 * equal(answer?.missed?.join(), "cache");
 * ```
 */
export function chainSources(sources: readonly PodSource[]): PodSource {
  return {
    name: sources.map((source) => source.name).join(","),
    where: _joinWhere(sources.map((source) => source.where)),
    async lookup(ref) {
      const missed: string[] = [];
      for (const source of sources) {
        const answer = await source.lookup(ref);
        if (answer !== undefined) {
          return missed.length === 0
            ? answer
            : { ...answer, missed: [...missed, ...answer.missed ?? []] };
        }
        missed.push(source.name);
      }
      return undefined;
    },
  };
}

/**
 * Looks a Pod up where it must be found: a miss of every source fails closed.
 *
 * @param source The source (often a chain).
 * @param ref The container's Pod.
 * @returns The answer and how long it took, in milliseconds.
 * @throws {PodSourceError} When no source holds the Pod, or a source fails.
 *
 * @example
 * ```ts
 * import { rejects } from "assert";
 * import { requirePod, type PodSource } from "./pod_source.ts";
 *
 * const empty: PodSource = {
 *   name: "kubelet", where: "on this node's kubelet", lookup: async () => undefined,
 * };
 * await rejects(requirePod(empty, { namespace: "ns", name: "web" }), {
 *   message: "pod ns/web not found on this node's kubelet",
 * });
 * ```
 */
export async function requirePod(
  source: PodSource,
  ref: PodRef,
): Promise<PodAnswer & { readonly ms: number }> {
  const asked = performance.now();
  const answer = await source.lookup(ref);
  if (answer === undefined) {
    throw new PodSourceError(`pod ${ref.namespace}/${ref.name} not found ${source.where}`);
  }
  return { ...answer, ms: performance.now() - asked };
}

function _joinWhere(places: readonly string[]): string {
  return places.length <= 1
    ? places.join("")
    : `${places.slice(0, -1).join(", ")} or ${places.at(-1)}`;
}
