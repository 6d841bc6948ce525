import { equal, throws } from "assert";
import { imageFiles, MAX_ACCOUNT_FILE_BYTES, readInRoot, resolveInRoot } from "./image_files.ts";

/** A rootfs in a temp dir, with the host's own files outside it to escape to. */
async function world(): Promise<{ dir: string; root: string; done: () => Promise<void> }> {
  const dir = await Deno.makeTempDir({ prefix: "ssgcr-image-" });
  const root = `${dir}/rootfs`;
  await Deno.mkdir(`${root}/etc`, { recursive: true });
  // What an escaping link would reach instead of the image's file.
  await Deno.mkdir(`${dir}/etc`);
  await Deno.writeTextFile(`${dir}/etc/group`, "host:x:0:alice\n");
  return { dir, root, done: () => Deno.remove(dir, { recursive: true }) };
}

Deno.test("readInRoot() reads the image's /etc/group; a missing one has no entries", async () => {
  const { root, done } = await world();
  try {
    equal(readInRoot(root, "/etc/group"), undefined);
    await Deno.writeTextFile(`${root}/etc/group`, "g:x:50000:alice\n");
    equal(readInRoot(root, "/etc/group"), "g:x:50000:alice\n");
    equal((await imageFiles.accountFiles(root)).group, "g:x:50000:alice\n");
  } finally {
    await done();
  }
});

Deno.test("readInRoot() resolves links inside the rootfs: absolute targets and .. never leave it", async () => {
  const { root, done } = await world();
  try {
    await Deno.mkdir(`${root}/usr/share/base`, { recursive: true });
    await Deno.writeTextFile(`${root}/usr/share/base/group`, "image:x:50000:alice\n");
    // etc -> /usr/share/base (absolute: from the rootfs's root, not the host's).
    await Deno.remove(`${root}/etc`, { recursive: true });
    await Deno.symlink("/usr/share/base", `${root}/etc`);
    equal(readInRoot(root, "/etc/group"), "image:x:50000:alice\n");
    // etc/group -> ../../etc/other: on the host that is a file beside the rootfs; inside
    // it, .. stops at its root and the rootfs has no /etc/other.
    await Deno.remove(`${root}/etc`);
    await Deno.mkdir(`${root}/etc`);
    await Deno.writeTextFile(`${root}/../etc/other`, "host:x:0:alice\n");
    await Deno.symlink("../../etc/other", `${root}/etc/group`);
    equal(readInRoot(root, "/etc/group"), undefined, "the rootfs has no /etc/other");
    await Deno.remove(`${root}/etc/group`);
    // A link that names itself once .. stops at the root is a loop, refused.
    await Deno.remove(`${root}/etc`, { recursive: true });
    await Deno.symlink("../../../../etc", `${root}/etc`);
    throws(() => readInRoot(root, "/etc/group"), /more than 255 symlinks/);
    await Deno.remove(`${root}/etc`);
    await Deno.mkdir(`${root}/etc`);
    // A link on the file itself, absolute, pointing at the host's path.
    await Deno.symlink(`/usr/share/base/group`, `${root}/etc/group`);
    equal(readInRoot(root, "/etc/group"), "image:x:50000:alice\n");
    equal(resolveInRoot(root, "/etc/group"), `${root}/usr/share/base/group`);
  } finally {
    await done();
  }
});

Deno.test("readInRoot() refuses what cannot be read safely, naming the file", async () => {
  const { root, done } = await world();
  try {
    await Deno.mkdir(`${root}/etc/group`);
    throws(() => readInRoot(root, "/etc/group"), /image file \/etc\/group .*: not a regular file/);
    await Deno.remove(`${root}/etc/group`);
    const fifo = await new Deno.Command("mkfifo", { args: [`${root}/etc/group`] }).output();
    equal(fifo.success, true);
    throws(() => readInRoot(root, "/etc/group"), /not a regular file/);
    await Deno.remove(`${root}/etc/group`);
    await Deno.writeFile(`${root}/etc/group`, new Uint8Array(MAX_ACCOUNT_FILE_BYTES + 1));
    throws(() => readInRoot(root, "/etc/group"), /larger than 10485760 bytes/);
    await Deno.remove(`${root}/etc/group`);
    await Deno.symlink("group", `${root}/etc/group`);
    throws(() => readInRoot(root, "/etc/group"), /more than 255 symlinks/);
  } finally {
    await done();
  }
});

Deno.test("readInRoot(): a path through a file that is not a directory is a missing file", async () => {
  const { root, done } = await world();
  try {
    await Deno.remove(`${root}/etc`, { recursive: true });
    await Deno.writeTextFile(`${root}/etc`, "not a directory\n");
    equal(readInRoot(root, "/etc/group"), undefined);
  } finally {
    await done();
  }
});
