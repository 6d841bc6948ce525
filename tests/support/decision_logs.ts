/**
 * Decision logs written by the real wrapper on real runc, for `report` and
 * `metrics`: a small cluster's workloads (Deployment replicas, a
 * StatefulSet, a Job, a bare Pod) in tenant namespaces, run through the
 * shipped wrapper in each mode, with the log rotated by the wrapper itself
 * (`max-size-in-mb = 1`, reached by one oversized line).
 *
 * @module
 */

import { equal } from "assert";
import { containerdAnnotations, makeBundle } from "./bundle.ts";
import { podFixture } from "./kubelet_standin.ts";
import type { World } from "./world.ts";
import { runcDelete, runWrapper, writeConfig } from "./wrapper.ts";

/** A container to run: its Pod, image and user. */
export interface Workload {
  readonly namespace: string;
  readonly pod: string;
  readonly image: string;
  /** The process uid (1000, alice, unless set). */
  readonly uid?: number;
  /** Whether the kubelet knows its Pod (else the wrapper refuses: pod-lookup). */
  readonly known?: boolean;
  /** The Pod's supplementalGroups (default [60000]: the image's 50000 is undeclared). */
  readonly supplementalGroups?: number[];
}

/** The uid a workload's Pod gets. */
export function podUid(w: Workload): string {
  return `uid-${w.namespace}-${w.pod}`;
}

/**
 * The kubelet's Pods for the workloads it knows.
 *
 * @param workloads The workloads.
 * @returns Pod objects.
 */
export function podsOf(workloads: readonly Workload[]): Record<string, unknown>[] {
  return workloads.filter((w) => w.known !== false).map((w) =>
    podFixture({
      namespace: w.namespace,
      name: w.pod,
      uid: podUid(w),
      runAsUser: w.uid ?? 1000,
      runAsGroup: 1000,
      supplementalGroups: w.supplementalGroups ?? [60000],
    })
  );
}

/** The node policy of these logs: non-root uids only, so that a root workload breaks it. */
export const POLICY = [
  "[policy]",
  'run-as-user = { rule = "MustRunAsRange", ranges = [{ min = 1000, max = 65534 }] }',
];

/**
 * Writes the wrapper's config for one phase: its mode, the policy, rotation at 1 MiB.
 *
 * @param w The world.
 * @param mode The mode.
 * @param options The log's format, and whether backups are compressed.
 * @returns The config path.
 */
export async function phaseConfig(
  w: World,
  mode: string,
  options: { format?: "json" | "text"; compress?: boolean } = {},
): Promise<string> {
  return await writeConfig(w.dir, w.pki, [`mode = "${mode}"`, ...POLICY], [
    `log-format = "${options.format ?? "json"}"`,
    "[logging.rotation]",
    "max-size-in-mb = 1",
    `compress = ${options.compress ?? false}`,
  ]);
}

let serial = 0;

/**
 * Runs each workload's container once through the wrapper (`runc run`).
 *
 * @param w The world.
 * @param config The wrapper's config.
 * @param workloads The workloads.
 * @returns Each run's exit status.
 */
export async function runWorkloads(
  w: World,
  config: string,
  workloads: readonly Workload[],
): Promise<number[]> {
  const codes: number[] = [];
  for (const workload of workloads) {
    const id = `ssg-log-${Deno.pid}-${++serial}`;
    const bundle = `${w.dir}/bundles/${id}`;
    await makeBundle(bundle, {
      rootfs: w.rootfs,
      uid: workload.uid ?? 1000,
      annotations: containerdAnnotations({
        "io.kubernetes.cri.sandbox-namespace": workload.namespace,
        "io.kubernetes.cri.sandbox-name": workload.pod,
        "io.kubernetes.cri.sandbox-uid": podUid(workload),
        "io.kubernetes.cri.image-name": workload.image,
      }),
    });
    const result = await runWrapper(["--root", w.root, "run", "--bundle", bundle, id], {
      config,
    });
    codes.push(result.code);
    await runcDelete(w.root, id);
    await Deno.remove(bundle, { recursive: true });
  }
  return codes;
}

/**
 * Appends one line longer than a rotation's size (1 MiB), so that the
 * wrapper's next record rotates the log; `report` counts it as oversized.
 *
 * @param logPath The log.
 */
export async function padPastRotation(logPath: string): Promise<void> {
  await Deno.writeTextFile(logPath, `${"x".repeat(1024 * 1024 + 1)}\n`, { append: true });
}

/**
 * Asserts the exit statuses of a phase.
 *
 * @param codes What the runs exited with.
 * @param expected What they should have.
 * @param phase The phase's name.
 */
export function assertCodes(codes: number[], expected: number[], phase: string): void {
  equal(JSON.stringify(codes), JSON.stringify(expected), `exit statuses of the ${phase} phase`);
}
