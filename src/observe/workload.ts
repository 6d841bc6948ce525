/**
 * The workload a Pod belongs to, read off its name: the suffixes Kubernetes
 * generates are folded to `*`, so that every replica of a Deployment, a
 * DaemonSet, a Job or a StatefulSet is one finding. Generated suffixes are
 * drawn from the apiserver's safe alphabet (k8s.io/apimachinery
 * `util/rand`: consonants and digits without vowels or 0, 1, 3): five
 * characters after `generateName` (`names.SimpleNameGenerator`), and a
 * ReplicaSet's pod-template-hash (`rand.SafeEncodeString`) before them.
 * A StatefulSet's ordinal and a CronJob's scheduled time are digits.
 *
 * @module
 */

const SAFE = "[bcdfghjklmnpqrstvwxz2456789]";
const POD_SUFFIX = new RegExp(`-${SAFE}{5}$`);
const TEMPLATE_HASH = new RegExp(`-${SAFE}{6,10}$`);
const DIGITS = /-\d+$/;

/**
 * Folds a Pod name's generated suffixes.
 *
 * @param podName The Pod's name.
 * @returns The workload's name, with `*` for each folded suffix.
 *
 * @example
 * ```ts
 * import { equal } from "assert";
 * import { workloadOf } from "./workload.ts";
 *
 * equal(workloadOf("web-7d4b9c8f5-x2k9p"), "web-*-*"); // Deployment
 * equal(workloadOf("node-agent-h7rkz"), "node-agent-*"); // DaemonSet, Job
 * equal(workloadOf("db-0"), "db-*"); // StatefulSet
 * equal(workloadOf("backup-29012345-fq4zl"), "backup-*-*"); // CronJob
 * equal(workloadOf("debug"), "debug"); // a bare Pod
 * ```
 */
export function workloadOf(podName: string): string {
  if (POD_SUFFIX.test(podName)) {
    const stem = podName.replace(POD_SUFFIX, "");
    const owner = TEMPLATE_HASH.test(stem)
      ? stem.replace(TEMPLATE_HASH, "")
      : DIGITS.test(stem)
      ? stem.replace(DIGITS, "")
      : undefined;
    return owner !== undefined && owner !== "" ? `${owner}-*-*` : `${stem}-*`;
  }
  const ordinal = podName.replace(DIGITS, "");
  return ordinal !== podName && ordinal !== "" ? `${ordinal}-*` : podName;
}
