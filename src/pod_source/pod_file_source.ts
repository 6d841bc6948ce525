/**
 * A Pod or PodList JSON file as a Pod source (`explain --pod FILE`): the
 * decision for a bundle, judged against a Pod that is not on this node's
 * kubelet, or without asking the kubelet at all.
 *
 * @module
 */

import { PodSourceError } from "../core/errors.ts";
import type { PodSource } from "./pod_source.ts";
import { findPod, type Pod, podFacts } from "./pod_list.ts";

/** The source's name in decision records. */
export const POD_FILE_SOURCE = "pod-file";

/**
 * The Pod file source.
 *
 * @param path The file (a v1 Pod, or a PodList such as `kubectl get pods -o json` prints).
 * @param read Reads the file as text.
 * @returns The source.
 *
 * @example
 * ```ts
 * import { equal } from "assert";
 * import { podFileSource } from "./pod_file_source.ts";
 *
 * const pod = { metadata: { namespace: "tenant-a", name: "app", uid: "u1" }, spec: {} };
 * const source = podFileSource("pod.json", async () => JSON.stringify({ items: [pod] }));
 * const answer = await source.lookup({ namespace: "tenant-a", name: "app", uid: "u1" });
 * equal(answer?.facts.uid, "u1");
 * equal(await source.lookup({ namespace: "tenant-a", name: "other" }), undefined);
 * ```
 */
export function podFileSource(path: string, read: (path: string) => Promise<string>): PodSource {
  return {
    name: POD_FILE_SOURCE,
    where: `in pod file ${path}`,
    async lookup(ref) {
      const pod = findPod(_podsOf(await read(path), path), ref);
      return pod === undefined ? undefined : { facts: podFacts(pod), source: POD_FILE_SOURCE };
    },
  };
}

function _podsOf(text: string, path: string): Pod[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new PodSourceError(`pod file ${path}: not JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const items = (value as { items?: unknown })?.items;
  if (Array.isArray(items)) return items as Pod[];
  if (typeof value === "object" && value !== null && !Array.isArray(value)) return [value as Pod];
  throw new PodSourceError(`pod file ${path}: neither a Pod nor a PodList`);
}
