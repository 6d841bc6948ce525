/**
 * Real OCI bundles for real runc: a busybox rootfs whose `/etc/group` makes
 * alice (1000) a member of `bypassed-group` (50000), and `config.json` files
 * derived from `runc spec`, carrying the annotations a CRI writes and the
 * large integers real specs carry.
 *
 * @module
 */

import { parseLossless, rawNumber, stringifyLossless } from "../../src/spec/json_lossless.ts";
import { TENANT_A, TENANT_A_IMAGE } from "./tenant_a.ts";

/** containerd's annotations for a container of the tenant-a Pod. */
export function containerdAnnotations(
  overrides: Record<string, string> = {},
): Record<string, string> {
  return {
    "io.kubernetes.cri.container-type": "container",
    "io.kubernetes.cri.sandbox-id": "5f1c0ffee",
    "io.kubernetes.cri.sandbox-namespace": TENANT_A.namespace,
    "io.kubernetes.cri.sandbox-name": TENANT_A.name,
    "io.kubernetes.cri.sandbox-uid": TENANT_A.uid,
    "io.kubernetes.cri.container-name": TENANT_A.container,
    "io.kubernetes.cri.image-name": TENANT_A.image,
    ...overrides,
  };
}

/**
 * CRI-O's annotations for a container of the tenant-a Pod: the keys CRI-O
 * writes on a container after the Pod's own (cri-o
 * internal/factory/container/container.go SpecAddAnnotations), the ones the
 * wrapper trusts under `cri = "cri-o"`.
 *
 * @param overrides Keys to change (another Pod, say).
 * @returns The annotations.
 */
export function crioAnnotations(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    "io.kubernetes.cri-o.ContainerType": "container",
    "io.kubernetes.cri-o.ImageName": TENANT_A.image,
    "io.kubernetes.pod.namespace": TENANT_A.namespace,
    "io.kubernetes.pod.name": TENANT_A.name,
    "io.kubernetes.pod.uid": TENANT_A.uid,
    "io.kubernetes.container.name": TENANT_A.container,
    ...overrides,
  };
}

/**
 * Makes the shared rootfs: busybox with `sh`, `id`, `sleep`, `cat`.
 *
 * @param dir Where to make it.
 * @returns The rootfs path.
 */
export async function makeRootfs(dir: string): Promise<string> {
  const rootfs = `${dir}/rootfs`;
  await Deno.mkdir(`${rootfs}/bin`, { recursive: true });
  await Deno.mkdir(`${rootfs}/etc`, { recursive: true });
  await Deno.mkdir(`${rootfs}/tmp`, { recursive: true });
  await Deno.copyFile("/bin/busybox", `${rootfs}/bin/busybox`);
  await Deno.chmod(`${rootfs}/bin/busybox`, 0o755);
  for (const tool of ["sh", "id", "sleep", "cat", "echo", "true"]) {
    await Deno.symlink("busybox", `${rootfs}/bin/${tool}`);
  }
  await Deno.writeTextFile(`${rootfs}/etc/passwd`, TENANT_A_IMAGE.passwd);
  await Deno.writeTextFile(`${rootfs}/etc/group`, TENANT_A_IMAGE.group);
  return rootfs;
}

/** Options for {@linkcode makeBundle}. */
export interface BundleOptions {
  rootfs: string;
  args?: string[];
  uid?: number;
  gid?: number;
  additionalGids?: number[];
  annotations?: Record<string, string>;
}

/**
 * Makes a bundle whose `config.json` is `runc spec`'s, with the process,
 * annotations, an rlimit of 2^64-1 and a memory limit of 2^63-1 set.
 *
 * @param dir The bundle directory (created).
 * @param options The process and annotations.
 * @returns The config.json text written.
 */
export async function makeBundle(dir: string, options: BundleOptions): Promise<string> {
  await Deno.mkdir(dir, { recursive: true });
  await Deno.remove(`${dir}/config.json`).catch(() => {});
  const out = await new Deno.Command("runc", { args: ["spec", "--bundle", dir] }).output();
  if (!out.success) throw new Error(`runc spec: ${new TextDecoder().decode(out.stderr)}`);
  const template = await Deno.readTextFile(`${dir}/config.json`);
  const spec = parseLossless(template) as Record<string, Record<string, unknown>>;
  // Values a double cannot hold, as real specs carry them (RLIM_INFINITY, an unlimited memory limit).
  const process = spec.process!;
  process.rlimits = [
    ...(process.rlimits as unknown[] ?? []),
    {
      type: "RLIMIT_CORE",
      hard: rawNumber("18446744073709551615"),
      soft: rawNumber("18446744073709551615"),
    },
  ];
  const linux = spec.linux!;
  linux.resources = {
    ...(linux.resources as Record<string, unknown> ?? {}),
    memory: { limit: rawNumber("9223372036854775807") },
  };
  spec.process!.terminal = false;
  spec.process!.args = options.args ?? ["id"];
  spec.process!.user = {
    uid: options.uid ?? 1000,
    gid: options.gid ?? 1000,
    additionalGids: options.additionalGids ?? [1000, 50000, 60000],
  };
  spec.root = { path: options.rootfs, readonly: true };
  if (options.annotations) spec.annotations = options.annotations;
  const text = stringifyLossless(spec);
  await Deno.writeTextFile(`${dir}/config.json`, text);
  return text;
}
