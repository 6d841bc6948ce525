/**
 * deploy/ as an operator applies it: every overlay rendered with Debian's
 * kubectl 1.20 (its old built-in kustomize, unpacked into .tools/ by
 * `make system-deps`) and with a newer kubectl when one is on PATH; the
 * Dockerfile's inputs; and the kind harness's prerequisite check.
 */

import { deepEqual, equal, match, ok } from "assert";
import { loadAll } from "yaml";
import { parseConfig } from "../src/config/config.ts";
import { VERSION } from "../src/admin/version.ts";
import { have, REPO } from "./support/wrapper.ts";

const DEBIAN_KUBECTL = `${REPO}/.tools/kubernetes-client/usr/bin/kubectl`;
const NAMESPACE = "strict-supplementalgroups-system";

// deno-lint-ignore no-explicit-any
type K8s = any;

const kubectls: string[] = [];
if (await have(DEBIAN_KUBECTL, ["version", "--client"])) kubectls.push(DEBIAN_KUBECTL);
else console.error(`SKIPPED: ${DEBIAN_KUBECTL} is missing (run make system-deps as root)`);
if (await _newerKubectl()) kubectls.push("kubectl");

async function _newerKubectl(): Promise<boolean> {
  try {
    const out = await new Deno.Command("kubectl", { args: ["version", "--client", "-o", "json"] })
      .output();
    return out.success &&
      JSON.parse(new TextDecoder().decode(out.stdout)).clientVersion.minor !== "20";
  } catch {
    return false;
  }
}

async function render(kubectl: string, dir: string): Promise<K8s[]> {
  const out = await new Deno.Command(kubectl, { args: ["kustomize", `${REPO}/${dir}`] }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  equal(out.code, 0, stderr);
  return loadAll(new TextDecoder().decode(out.stdout)) as K8s[];
}

function only(objects: K8s[], kind: string, name?: string): K8s {
  const found = objects.filter((o) =>
    o.kind === kind && (name === undefined || o.metadata.name === name)
  );
  equal(found.length, 1, `one ${kind} ${name ?? ""} in ${objects.map((o) => o.kind).join(", ")}`);
  return found[0];
}

for (const kubectl of kubectls) {
  const which = kubectl === "kubectl" ? "kubectl on PATH" : "Debian's kubectl 1.20";
  for (const cri of ["containerd", "cri-o"] as const) {
    Deno.test(`overlays/${cri} renders with ${which}: a ${cri} installer and the shared objects`, async () => {
      const objects = await render(kubectl, `deploy/overlays/${cri}`);
      deepEqual(objects.map((o) => o.kind).sort(), [
        "ClusterRole",
        "ClusterRoleBinding",
        "ConfigMap",
        "DaemonSet",
        "Namespace",
        "RuntimeClass",
      ]);
      equal(only(objects, "Namespace").metadata.name, NAMESPACE);
      equal(only(objects, "RuntimeClass").metadata.name, "strict-supplementalgroups");
      equal(only(objects, "RuntimeClass").handler, "strict-supplementalgroups");

      const role = only(objects, "ClusterRole");
      deepEqual(role.rules, [{ apiGroups: [""], resources: ["nodes/pods"], verbs: ["get"] }]);
      const binding = only(objects, "ClusterRoleBinding");
      equal(binding.roleRef.name, role.metadata.name);
      deepEqual(binding.subjects, [
        { apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: "system:nodes" },
      ]);

      const ds = only(objects, "DaemonSet", `strict-supplementalgroups-${cri}`);
      equal(ds.metadata.namespace, NAMESPACE);
      const pod = ds.spec.template.spec;
      for (const [key, value] of Object.entries(ds.spec.selector.matchLabels)) {
        equal(ds.spec.template.metadata.labels[key], value, `selector label ${key}`);
      }
      equal(ds.spec.selector.matchLabels["app.kubernetes.io/instance"], cri);
      equal(pod.hostPID, true);
      equal(pod.priorityClassName, "system-node-critical");
      deepEqual(pod.tolerations, [{ operator: "Exists" }]);
      const [install] = pod.initContainers;
      equal(install.image, `strict-supplementalgroups:${VERSION}`);
      equal(install.securityContext.privileged, true);
      deepEqual(install.env, [{ name: "CRI", value: cri }]);
      match(
        install.command.join(" "),
        /strict-supplementalgroups install --cri "\$CRI" --host-root \/host\s+--config \/config\/config.toml$/,
      );
      const host = pod.volumes.find((v: K8s) => v.hostPath?.path === "/");
      deepEqual(install.volumeMounts.find((m: K8s) => m.name === host.name), {
        name: host.name,
        mountPath: "/host",
      });

      // After the install, the exporter: unprivileged, its port named and announced to
      // Prometheus, the host's log and config mounted read-only and nothing else of the host.
      deepEqual(pod.containers.map((c: K8s) => c.name), ["metrics"]);
      const [metrics] = pod.containers;
      equal(metrics.image, install.image);
      deepEqual(metrics.command, ["strict-supplementalgroups-metrics", "--listen", ":9469"]);
      deepEqual(metrics.ports, [{ name: "metrics", containerPort: 9469, protocol: "TCP" }]);
      deepEqual(ds.spec.template.metadata.annotations, {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": "9469",
        "prometheus.io/path": "/metrics",
      });
      equal(metrics.securityContext.privileged, undefined);
      equal(metrics.securityContext.allowPrivilegeEscalation, false);
      equal(metrics.securityContext.readOnlyRootFilesystem, true);
      deepEqual(metrics.securityContext.capabilities, { drop: ["ALL"] });
      const hostPaths = new Map(
        pod.volumes.filter((v: K8s) => v.hostPath).map((v: K8s) => [v.name, v.hostPath.path]),
      );
      deepEqual(
        metrics.volumeMounts.map((m: K8s) => [hostPaths.get(m.name), m.mountPath, m.readOnly]),
        [
          ["/var/log", "/var/log", true],
          [
            "/etc/strict-supplementalgroups-container-runtime",
            "/etc/strict-supplementalgroups-container-runtime",
            true,
          ],
        ],
      );
      // Each is a path the exporter's permission set may read (deno.json "metrics").
      const permissions = JSON.parse(await Deno.readTextFile(`${REPO}/deno.json`)).permissions;
      for (const mount of metrics.volumeMounts) {
        ok(permissions.metrics.read.includes(mount.mountPath));
      }
      ok(permissions.metrics.net.includes("0.0.0.0:9469"));

      // The ConfigMap the DaemonSet mounts holds a valid config for this CRI.
      const configVolume = pod.volumes.find((v: K8s) => v.configMap);
      const configMap = only(objects, "ConfigMap", configVolume.configMap.name);
      equal(configMap.metadata.namespace, NAMESPACE);
      const config = parseConfig(configMap.data["config.toml"], "config.toml");
      equal(config.cri, cri);
      equal(config.runtime, cri === "cri-o" ? "crun" : "runc");
    });
  }

  Deno.test(`both overlays together (a cluster with both CRIs) agree on every shared object, with ${which}`, async () => {
    const [containerd, crio] = await Promise.all(
      ["containerd", "cri-o"].map((cri) => render(kubectl, `deploy/overlays/${cri}`)),
    );
    const key = (o: K8s) => `${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`;
    const crioByKey = new Map(crio!.map((o) => [key(o), o]));
    const shared = containerd!.filter((o) => crioByKey.has(key(o)));
    deepEqual(shared.map((o) => o.kind).sort(), [
      "ClusterRole",
      "ClusterRoleBinding",
      "Namespace",
      "RuntimeClass",
    ]);
    for (const object of shared) deepEqual(object, crioByKey.get(key(object)));
  });

  Deno.test(`the nodes/proxy overlay for clusters before 1.33 grants exactly that, with ${which}`, async () => {
    const objects = await render(kubectl, "deploy/overlays/nodes-proxy-before-1.33");
    deepEqual(objects.map((o) => o.kind).sort(), ["ClusterRole", "ClusterRoleBinding"]);
    deepEqual(only(objects, "ClusterRole").rules, [
      { apiGroups: [""], resources: ["nodes/proxy"], verbs: ["get"] },
    ]);
    match(only(objects, "ClusterRole").metadata.name, /before-1\.33/);
  });
}

Deno.test("the Dockerfile copies files that exist and ships what make build names", async () => {
  const dockerfile = await Deno.readTextFile(`${REPO}/Dockerfile`);
  const froms = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]!);
  equal(froms.length, 2, "a build stage and a slim runtime stage");
  for (const image of froms) match(image, /:[^:]*\d/, `${image} is pinned to a version`);
  match(froms[0]!, /^denoland\/deno:.*2\.9\.6$/, "the same Deno as the Makefile");
  for (const [, sources] of dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
    for (const source of sources!.split(" ")) {
      ok(await Deno.stat(`${REPO}/${source}`).catch(() => undefined), `${source} exists`);
    }
  }
  match(dockerfile, /tools\/build\.ts build --compile/);
  for (const [, path] of dockerfile.matchAll(/^COPY --from=build (\S+) /gm)) {
    const name = path!.split("/").pop()!;
    ok(await Deno.stat(`${REPO}/dist/${name}`), `make build makes ${name}`);
  }
});

Deno.test("make e2e-kind stops at once and names what is missing", async () => {
  // A PATH with the tools this VM has, minus kind; docker here is only a client.
  const bin = await Deno.makeTempDir();
  try {
    for (const tool of ["kubectl", "docker", "umoci"]) {
      const out = await new Deno.Command("sh", { args: ["-c", `command -v ${tool}`] }).output();
      const path = new TextDecoder().decode(out.stdout).trim();
      if (path) await Deno.symlink(path, `${bin}/${tool}`);
    }
    const started = Date.now();
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-P=test", "--quiet", `${REPO}/tests/kind/e2e_kind.ts`],
      env: { PATH: bin },
      cwd: REPO,
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    equal(out.code, 2, stderr);
    match(stderr, /^e2e-kind: cannot run, missing: .*kind \(not on PATH/);
    if (!await Deno.stat(`${bin}/docker`).catch(() => undefined)) match(stderr, /docker \(/);
    ok(Date.now() - started < 30_000, "it stops before building anything");
  } finally {
    await Deno.remove(bin, { recursive: true });
  }
});
