/**
 * `make e2e-kind`: the scenario table of the containerd e2e
 * (tests/e2e/scenarios.json), on a real kind cluster with a containerd
 * worker and a CRI-O worker, installed the way an operator would (the
 * Dockerfile's image, deploy/overlays/*). Each row runs as a Pod on each
 * worker, once with the node's default runtime and once with
 * `runtimeClassName: strict-supplementalgroups`; `id` is checked in the
 * Pod's log (create path) and through `kubectl exec` (exec path).
 *
 * Needs Docker (an engine), kind and kubectl; without them it stops at once
 * and names what is missing. KEEP_CLUSTER=1 leaves the cluster up.
 *
 * @module
 */

import { parse } from "toml";
import { VERSION } from "../../src/admin/version.ts";
import { buildImageArchive, ctrImportArgs } from "../e2e/image.ts";
import { PAUSE_IMAGE } from "../e2e/containerd.ts";
import { expectation, HANDLERS, type Row, TABLE } from "../e2e/table.ts";
import { REPO } from "../support/wrapper.ts";
import { missingPrerequisites } from "./prerequisites.ts";

const CLUSTER = "ssgcr-e2e";
const INSTALLER_IMAGE = `strict-supplementalgroups:${VERSION}`;
const CRIO_NODE_IMAGE = "strict-supplementalgroups-kind-crio:v1.33.1";
const NAMESPACE = "ssgcr-e2e";
const CRIS = ["containerd", "cri-o"] as const;
const NODE_CONFIG = "/etc/strict-supplementalgroups-container-runtime/config.toml";

type Cri = typeof CRIS[number];

// Before anything else: say at once what is missing.
const missing = await missingPrerequisites();
if (missing.length > 0) {
  console.error(
    `e2e-kind: cannot run, missing: ${missing.map((m) => `${m.tool} (${m.why})`).join("; ")}`,
  );
  Deno.exit(2);
}

const work = `${REPO}/.cache/kind`;
const kubeconfig = `${work}/kubeconfig`;
await Deno.mkdir(work, { recursive: true });
let passed = 0;
let failed = 0;

try {
  await run("docker", ["build", "-t", INSTALLER_IMAGE, REPO]);
  await run("docker", [
    "build",
    "-t",
    CRIO_NODE_IMAGE,
    "-f",
    `${REPO}/tests/kind/Dockerfile.crio`,
    `${REPO}/tests/kind`,
  ]);
  await run("kind", ["delete", "cluster", "--name", CLUSTER]);
  await run("kind", [
    "create",
    "cluster",
    "--name",
    CLUSTER,
    "--config",
    `${REPO}/tests/kind/cluster.yaml`,
    "--kubeconfig",
    kubeconfig,
    "--wait",
    "5m",
  ]);
  const nodes = {
    containerd: await nodesWith("cri=containerd"),
    "cri-o": await nodesWith("cri=cri-o"),
  };
  await loadImages(nodes);
  await install(nodes);
  await kubectl(["create", "namespace", NAMESPACE]);
  for (const cri of CRIS) {
    const worker = nodes[cri].find((name) => !name.endsWith("control-plane"))!;
    for (const [index, row] of TABLE.rows.entries()) {
      if (row.volumeGroups !== undefined) {
        // It would need a PersistentVolume annotated pv.beta.kubernetes.io/gid.
        console.error(
          `*** SKIPPED: ${cri} row ${index + 1} (${row.name}): no PersistentVolume here ***`,
        );
        continue;
      }
      await withNodeConfig(worker, cri, row, async () => {
        for (const handler of HANDLERS) await runRow(cri, worker, index, row, handler);
      });
    }
  }
} finally {
  console.log(`${passed} passed, ${failed} failed`);
  if (Deno.env.get("KEEP_CLUSTER") !== "1") {
    await run("kind", ["delete", "cluster", "--name", CLUSTER]).catch(() => {});
  }
}
Deno.exit(failed === 0 && passed > 0 ? 0 : 1);

/** Loads the installer image and the scenario image into every node's CRI. */
async function loadImages(nodes: Record<Cri, string[]>): Promise<void> {
  const archive = await buildImageArchive(await Deno.makeTempDir({ dir: work }));
  const installer = `${work}/installer.tar`;
  await run("docker", ["save", "-o", installer, INSTALLER_IMAGE]);
  for (const node of nodes.containerd) {
    await run("kind", [
      "load",
      "docker-image",
      "--name",
      CLUSTER,
      "--nodes",
      node,
      INSTALLER_IMAGE,
    ]);
    await run("docker", ["cp", archive, `${node}:/tmp/scenario.tar`]);
    await run("docker", ["exec", node, "ctr", ...ctrImportArgs("/tmp/scenario.tar")]);
  }
  for (const node of nodes["cri-o"]) {
    await run("docker", ["cp", installer, `${node}:/tmp/installer.tar`]);
    await run("docker", ["cp", archive, `${node}:/tmp/scenario.tar`]);
    await run("docker", [
      "exec",
      node,
      "skopeo",
      "copy",
      "docker-archive:/tmp/installer.tar",
      `containers-storage:docker.io/library/${INSTALLER_IMAGE}`,
    ]);
    await run("docker", [
      "exec",
      node,
      "skopeo",
      "copy",
      "oci-archive:/tmp/scenario.tar:test",
      `containers-storage:${PAUSE_IMAGE}`,
    ]);
  }
}

/** Applies both overlays, each DaemonSet pinned to its CRI's nodes, and waits for them. */
async function install(nodes: Record<Cri, string[]>): Promise<void> {
  for (const cri of CRIS) {
    await kubectl(["apply", "-k", `${REPO}/deploy/overlays/${cri}`]);
    const daemonSet = `daemonset/strict-supplementalgroups-${cri}`;
    await kubectl([
      "-n",
      "strict-supplementalgroups-system",
      "patch",
      daemonSet,
      "--type",
      "merge",
      "-p",
      JSON.stringify({ spec: { template: { spec: { nodeSelector: { cri } } } } }),
    ]);
    await kubectl([
      "-n",
      "strict-supplementalgroups-system",
      "rollout",
      "status",
      daemonSet,
      "--timeout",
      "5m",
    ]);
    for (const node of nodes[cri]) {
      await run("docker", [
        "exec",
        node,
        "test",
        "-x",
        "/usr/local/bin/strict-supplementalgroups-container-runtime",
      ]);
    }
  }
}

/**
 * Gives the row's config lines (such as `mode = "deny"`) to the node's
 * wrapper for the duration of the row, then restores the installed config.
 */
async function withNodeConfig(node: string, cri: Cri, row: Row, fn: () => Promise<void>) {
  if (!row.config) return await fn();
  const installed = await Deno.readTextFile(`${REPO}/deploy/overlays/${cri}/installer/config.toml`);
  const overrides = parse(row.config.join("\n"));
  const lines = installed.split("\n").map((line) => {
    const key = line.split("=")[0]!.trim();
    return key in overrides ? row.config!.find((l) => l.startsWith(key))! : line;
  });
  await writeNodeFile(node, NODE_CONFIG, lines.join("\n"));
  try {
    await fn();
  } finally {
    await writeNodeFile(node, NODE_CONFIG, installed);
  }
}

async function runRow(cri: Cri, node: string, index: number, row: Row, handler: string) {
  const name = `${cri}-row${index + 1}-${handler === "runc" ? "default" : "strict"}`;
  // containerd nodes ask containerd's CRI; CRI-O nodes the kubelet.
  const expected = expectation(row, handler, cri === "containerd" ? "cri" : "kubelet");
  const label = `${cri} row ${index + 1} (${row.name}) ${handler}`;
  await kubectl(["apply", "-f", "-"], JSON.stringify(podManifest(name, node, row, handler)));
  try {
    const outcome = await waitForPod(name);
    if (typeof expected === "string") {
      const logged = outcome.kind === "ran"
        ? (await kubectl(["-n", NAMESPACE, "logs", name])).split("\n")[0]
        : undefined;
      const exec = outcome.kind === "ran"
        ? (await kubectl(["-n", NAMESPACE, "exec", name, "--", "id"])).trim()
        : undefined;
      report(
        label,
        logged === expected && exec === expected,
        `log ${logged}; exec ${exec}; expected ${expected}`,
      );
    } else {
      report(
        label,
        outcome.kind === "refused" && outcome.message.includes(expected.error),
        `${outcome.kind}: ${outcome.kind === "refused" ? outcome.message : "container ran"}`,
      );
    }
  } finally {
    await kubectl(["-n", NAMESPACE, "delete", "pod", name, "--wait=false"]).catch(() => "");
  }
}

function podManifest(name: string, node: string, row: Row, handler: string) {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: NAMESPACE },
    spec: {
      nodeName: node,
      ...(handler === "runc" ? {} : { runtimeClassName: handler }),
      restartPolicy: "Never",
      securityContext: row.pod,
      containers: [{
        name: "main",
        image: PAUSE_IMAGE,
        imagePullPolicy: "Never",
        command: ["/bin/sh", "-c", "id; exec sleep 3600"],
        securityContext: row.container ?? {},
      }],
    },
  };
}

/** Waits until the Pod's container runs, or the runtime refused it (the message the kubelet shows). */
async function waitForPod(
  name: string,
): Promise<{ kind: "ran" } | { kind: "refused"; message: string }> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const pod = JSON.parse(await kubectl(["-n", NAMESPACE, "get", "pod", name, "-o", "json"]));
    const status = pod.status?.containerStatuses?.[0];
    if (status?.state?.running) return { kind: "ran" };
    const waiting = status?.state?.waiting ?? status?.state?.terminated;
    if (waiting?.reason && /Error/.test(waiting.reason)) {
      return { kind: "refused", message: waiting.message ?? waiting.reason };
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  throw new Error(`pod ${name} neither ran nor was refused within 2 minutes`);
}

function report(label: string, ok: boolean, detail: string) {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? "ok  " : "FAIL"} ${label}${ok ? "" : `: ${detail}`}`);
}

async function nodesWith(selector: string): Promise<string[]> {
  const out = await kubectl([
    "get",
    "nodes",
    "-l",
    selector,
    "-o",
    "jsonpath={.items[*].metadata.name}",
  ]);
  return out.split(/\s+/).filter(Boolean);
}

function writeNodeFile(node: string, path: string, text: string): Promise<string> {
  const script = `cat > ${path}.tmp && mv ${path}.tmp ${path}`;
  return run("docker", ["exec", "-i", node, "sh", "-c", script], text);
}

function kubectl(args: string[], input?: string): Promise<string> {
  return run("kubectl", ["--kubeconfig", kubeconfig, ...args], input);
}

async function run(command: string, args: string[], input?: string): Promise<string> {
  const child = new Deno.Command(command, {
    args,
    stdin: input === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (input !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(input));
    await writer.close();
  }
  const out = await child.output();
  if (!out.success) {
    throw new Error(`${command} ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return new TextDecoder().decode(out.stdout);
}
