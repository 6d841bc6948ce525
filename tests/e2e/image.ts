/**
 * The e2e image, built here (no registry is reachable): busybox-static in an
 * OCI layout made with umoci, whose /etc/passwd has alice (1000) and whose
 * /etc/group makes alice a member of bypassed-group (50000). The same image
 * serves as the sandbox ("pause") image. Imported with `ctr images import`
 * (containerd) or `skopeo copy` (CRI-O, in the kind harness).
 *
 * @module
 */

import { makeRootfs } from "../support/bundle.ts";
import { PAUSE_IMAGE } from "./containerd.ts";

async function run(
  command: string,
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
): Promise<void> {
  const out = await new Deno.Command(command, { args, cwd, env, stdin: "null" }).output();
  if (!out.success) {
    throw new Error(`${command} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/**
 * Builds the image as an OCI archive (a tar of an OCI layout).
 *
 * @param dir A work directory.
 * @returns The archive's path.
 */
export async function buildImageArchive(dir: string): Promise<string> {
  const tag = PAUSE_IMAGE.split(":")[1]!;
  await run("umoci", ["init", "--layout", "oci"], dir);
  await run("umoci", ["new", "--image", `oci:${tag}`], dir);
  await run("umoci", ["unpack", "--image", `oci:${tag}`, "unpacked"], dir);
  // umoci made an empty rootfs; fill it as the runc tests do.
  await makeRootfs(`${dir}/unpacked`);
  await run("umoci", ["repack", "--image", `oci:${tag}`, "unpacked"], dir);
  await run("umoci", [
    "config",
    "--image",
    `oci:${tag}`,
    "--config.cmd",
    "/bin/sleep",
    "--config.cmd",
    "2147483647",
  ], dir);
  await run("tar", ["-C", "oci", "-cf", "image.tar", "."], dir);
  return `${dir}/image.tar`;
}

/**
 * The `ctr` arguments that import the archive into the CRI's `k8s.io`
 * namespace under {@linkcode PAUSE_IMAGE}'s name.
 *
 * @param archive From {@linkcode buildImageArchive}.
 * @returns The arguments after `ctr [--address SOCKET]`.
 */
export function ctrImportArgs(archive: string): string[] {
  return [
    "--namespace",
    "k8s.io",
    "images",
    "import",
    "--base-name",
    PAUSE_IMAGE.split(":")[0]!,
    archive,
  ];
}

/**
 * Builds the image and imports it into containerd's `k8s.io` namespace.
 *
 * @param dir A work directory.
 * @param containerd containerd's socket, and the PATH that has its own `ctr` first.
 * @returns The image reference.
 */
export async function buildAndImportImage(
  dir: string,
  containerd: { socket: string; path: string },
): Promise<string> {
  const archive = await buildImageArchive(dir);
  await run("ctr", ["--address", containerd.socket, ...ctrImportArgs(archive)], dir, {
    PATH: containerd.path,
  });
  return PAUSE_IMAGE;
}
