/**
 * The spec files seam: read a spec or process file that must be a regular
 * file, and replace one atomically. The wrapper opens no other file of a
 * container's (never its rootfs, never a path found inside a spec).
 *
 * @module
 */

import { SpecError } from "../core/errors.ts";
import { writeFileAtomic } from "./atomic_write.ts";

/** Reads and replaces spec and process files. */
export interface SpecFiles {
  /**
   * Reads a file that must be a regular file (never a symlink, FIFO or device).
   *
   * @param path The file.
   * @returns Its text.
   * @throws {SpecError} When it is missing, not a regular file, or unreadable.
   */
  read(path: string): Promise<string>;
  /**
   * Replaces a regular file's content atomically (temp file, fsync, rename).
   *
   * @param path The file.
   * @param text The new content.
   * @throws {SpecError} When any step fails; the file is then as it was.
   */
  replace(path: string, text: string): Promise<void>;
}

/** The real files. */
export const specFiles: SpecFiles = {
  async read(path) {
    const info = await Deno.lstat(path).catch((error) => {
      throw new SpecError(`${path}: ${error.message}`, { cause: error });
    });
    // The wrapper follows no path but the ones its caller named: a link in
    // their place is refused rather than followed, and a FIFO would block.
    if (!info.isFile) throw new SpecError(`${path}: not a regular file`);
    try {
      return await Deno.readTextFile(path);
    } catch (error) {
      throw new SpecError(`${path}: ${(error as Error).message}`, { cause: error });
    }
  },

  replace(path, text) {
    return writeFileAtomic(path, new TextEncoder().encode(text));
  },
};
