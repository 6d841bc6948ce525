/**
 * The e2e image, built here (no registry is reachable): busybox-static in an
 * OCI layout made with umoci, whose /etc/passwd has alice (1000) and whose
 * /etc/group makes alice a member of bypassed-group (50000). The same image
 * serves as the sandbox ("pause") image. Imported with `ctr images import`.
 *
 * @module
 */

import { makeRootfs } from "../support/bundle.ts";
import { PAUSE_IMAGE } from "./containerd.ts";

async function run(command: string, args: string[], cwd: string): Promise<void> {
  const out = await new Deno.Command(command, { args, cwd, stdin: "null" }).output();
  if (!out.success) {
    throw new Error(`${command} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/**
 * Builds the image and imports it into containerd's `k8s.io` namespace.
 *
 * @param dir A work directory.
 * @param socket containerd's socket.
 * @returns The image reference.
 */
export async function buildAndImportImage(dir: string, socket: string): Promise<string> {
  const [name, tag] = PAUSE_IMAGE.split(":") as [string, string];
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
  await run("ctr", [
    "--address",
    socket,
    "--namespace",
    "k8s.io",
    "images",
    "import",
    "--base-name",
    name,
    "image.tar",
  ], dir);
  return PAUSE_IMAGE;
}
