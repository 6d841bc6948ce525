import { equal, rejects } from "assert";
import { writeFileAtomic } from "./atomic_write.ts";
import { SpecError } from "../core/errors.ts";

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function entries(dir: string): Promise<string[]> {
  return (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
}

Deno.test("writeFileAtomic() replaces the content and keeps the file's mode", () =>
  withDir(async (dir) => {
    const path = `${dir}/config.json`;
    await Deno.writeTextFile(path, "old", { mode: 0o640 });
    await Deno.chmod(path, 0o640);
    const inode = (await Deno.stat(path)).ino;
    await writeFileAtomic(path, new TextEncoder().encode("new"));
    equal(await Deno.readTextFile(path), "new");
    equal((await Deno.stat(path)).mode! & 0o777, 0o640);
    equal((await Deno.stat(path)).ino !== inode, true, "a new inode was renamed in");
    equal((await entries(dir)).join(), "config.json", "no temp file remains");
  }));

Deno.test("writeFileAtomic() refuses a symlink and leaves it alone", () =>
  withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/target.json`, "target");
    await Deno.symlink(`${dir}/target.json`, `${dir}/config.json`);
    await rejects(writeFileAtomic(`${dir}/config.json`, new Uint8Array([1])), SpecError);
    equal(await Deno.readTextFile(`${dir}/target.json`), "target");
    equal((await Deno.lstat(`${dir}/config.json`)).isSymlink, true);
  }));

Deno.test("writeFileAtomic() refuses a directory", () =>
  withDir(async (dir) => {
    await Deno.mkdir(`${dir}/config.json`);
    await rejects(writeFileAtomic(`${dir}/config.json`, new Uint8Array([1])), /not a regular file/);
  }));

Deno.test("writeFileAtomic() leaves the original and no temp file when the disk is full", {
  ignore: Deno.uid() !== 0,
}, () =>
  withDir(async (dir) => {
    const mount = await new Deno.Command("mount", {
      args: ["-t", "tmpfs", "-o", "size=64k", "tmpfs", dir],
    }).output();
    if (!mount.success) throw new Error(new TextDecoder().decode(mount.stderr));
    try {
      const path = `${dir}/config.json`;
      await Deno.writeTextFile(path, "original");
      await rejects(
        writeFileAtomic(path, new Uint8Array(256 * 1024)),
        /cannot write the new content/,
      );
      equal(await Deno.readTextFile(path), "original");
      equal((await entries(dir)).join(), "config.json");
    } finally {
      await new Deno.Command("umount", { args: [dir] }).output();
    }
  }));
