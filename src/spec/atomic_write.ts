/**
 * Crash-safe replacement of a file: a temp file in the same
 * directory (exclusive create, same mode and owner), fsync, rename over the
 * original, fsync of the directory. A crash or a full disk leaves either the
 * old or the new content under the name, never a torn file; a failed write
 * removes its temp file.
 *
 * @module
 */

import { SpecError } from "../core/errors.ts";

/** Temp files are named `.<name>.<TEMP_TAG>-<random>`, so a later run can recognise strays. */
export const TEMP_TAG = "ssgcr-tmp";

/**
 * Replaces a regular file's content atomically.
 *
 * @param path The file; it must be a regular file (not a symlink), or be missing when
 *   `options.createMode` is given.
 * @param data The new content.
 * @param options `createMode`: create a missing file with this mode (owned by
 *   the caller); `sync: false` skips the two fsyncs, for state that is
 *   rebuilt when lost (the rename still makes the swap atomic for readers).
 * @throws {SpecError} When the file is not a regular file or any step fails; the original is intact.
 *
 * @example The new content under the old name, mode kept, no temp file left
 * ```ts
 * import { deepEqual, equal } from "assert";
 * import { writeFileAtomic } from "./atomic_write.ts";
 *
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/config.json`, "{}", { mode: 0o600 });
 * await Deno.chmod(`${dir}/config.json`, 0o600);
 * await writeFileAtomic(`${dir}/config.json`, new TextEncoder().encode('{"a":1}'));
 * equal(await Deno.readTextFile(`${dir}/config.json`), '{"a":1}');
 * equal((await Deno.stat(`${dir}/config.json`)).mode! & 0o777, 0o600);
 * deepEqual((await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name), ["config.json"]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeFileAtomic(
  path: string,
  data: Uint8Array,
  options: { createMode?: number; sync?: boolean } = {},
): Promise<void> {
  const sync = options.sync ?? true;
  const slash = path.lastIndexOf("/");
  const dir = slash < 0 ? "." : slash === 0 ? "/" : path.slice(0, slash);
  const info = await Deno.lstat(path).catch((error) => {
    if (error instanceof Deno.errors.NotFound && options.createMode !== undefined) return undefined;
    throw new SpecError(`${path}: cannot stat: ${error.message}`, { cause: error });
  });
  if (info && !info.isFile) throw new SpecError(`${path}: not a regular file`);
  const random = crypto.getRandomValues(new Uint32Array(2)).join("");
  const temp = `${dir}/.${path.slice(slash + 1)}.${TEMP_TAG}-${random}`;
  try {
    using file = await Deno.open(temp, { createNew: true, write: true, mode: 0o600 });
    await Deno.chmod(temp, (info?.mode ?? options.createMode ?? 0o644) & 0o7777);
    if (info) await Deno.chown(temp, info.uid, info.gid);
    for (let written = 0; written < data.length;) {
      written += await file.write(data.subarray(written));
    }
    if (sync) await file.sync();
  } catch (error) {
    await Deno.remove(temp).catch(() => {});
    throw new SpecError(`${path}: cannot write the new content: ${(error as Error).message}`, {
      cause: error,
    });
  }
  try {
    await Deno.rename(temp, path);
  } catch (error) {
    await Deno.remove(temp).catch(() => {});
    throw new SpecError(`${path}: cannot replace: ${(error as Error).message}`, { cause: error });
  }
  if (!sync) return;
  using directory = await Deno.open(dir, { read: true });
  await directory.sync();
}
