/**
 * Records what a real containerd answers to a verbose `ContainerStatus`
 * (its `info`, which the wrapper's containerd source reads) into
 * tests/testdata, for each node of the runtime matrix from containerd 1.7
 * on: a private containerd of that node (the e2e harness), a Pod sandbox,
 * and the tenant-a container as a kubelet would create it (alice, runAsUser
 * and runAsGroup 1000, fsGroup 2000, supplementalGroups [60000], a
 * PersistentVolume of gid 61000; on containerd 2.x with
 * `supplementalGroupsPolicy: Strict`), created and not started (pid 0).
 * The answer is written as containerd sent it.
 *
 * usage (root, after `make build runtimes`):
 *   deno run -P=test tools/record_container_info.ts
 *
 * @module
 */

import { criSecurityContext, E2e } from "../tests/e2e/scenarios.ts";
import { matrixNodes } from "../tests/support/runtimes.ts";
import { TENANT_A } from "../tests/support/tenant_a.ts";

const TESTDATA = new URL("../tests/testdata/", import.meta.url).pathname;

for (const node of await matrixNodes()) {
  if (node.pins.system) continue;
  if (node.blocker !== undefined) throw new Error(`${node.name}: ${node.blocker}`);
  const strict = node.major >= 2 ? "Strict" as const : undefined;
  const e2e = await E2e.start(node);
  try {
    const pod = { runAsUser: 1000, runAsGroup: 1000, fsGroup: 2000, supplementalGroups: [60000] };
    const sandboxConfig = {
      metadata: { name: TENANT_A.name, uid: TENANT_A.uid, namespace: TENANT_A.namespace },
      log_directory: `${e2e.dir}/logs`,
      linux: { security_context: criSecurityContext(pod, {}, [], strict) },
    };
    const { pod_sandbox_id: sandbox } = await e2e.cri.runtime<{ pod_sandbox_id: string }>(
      "RunPodSandbox",
      { config: sandboxConfig, runtime_handler: "runc" },
    );
    try {
      const { container_id: id } = await e2e.cri.runtime<{ container_id: string }>(
        "CreateContainer",
        {
          pod_sandbox_id: sandbox,
          sandbox_config: sandboxConfig,
          config: {
            metadata: { name: TENANT_A.container, attempt: 0 },
            labels: {
              "io.kubernetes.pod.namespace": TENANT_A.namespace,
              "io.kubernetes.pod.name": TENANT_A.name,
              "io.kubernetes.pod.uid": TENANT_A.uid,
              "io.kubernetes.container.name": TENANT_A.container,
            },
            image: { image: e2e.image },
            command: ["sleep", "60"],
            log_path: "main/0.log",
            linux: { security_context: criSecurityContext(pod, {}, [61000], strict) },
          },
        },
      );
      const status = await e2e.cri.runtime<{ info: Record<string, string> }>(
        "ContainerStatus",
        { container_id: id, verbose: true },
      );
      const version = node.versions.containerd.split(" ")[1]!.split(".").slice(0, 2).join(".");
      const file = `${TESTDATA}containerd-${version}-container-info.json`;
      await Deno.writeTextFile(file, status.info.info!);
      console.log(`${node.name}: ${node.versions.containerd}'s answer written to ${file}`);
    } finally {
      await e2e.cri.runtime("StopPodSandbox", { pod_sandbox_id: sandbox }).catch(() => {});
      await e2e.cri.runtime("RemovePodSandbox", { pod_sandbox_id: sandbox }).catch(() => {});
    }
  } finally {
    await e2e.stop();
    await Deno.remove(e2e.dir, { recursive: true }).catch(() => {});
  }
}
