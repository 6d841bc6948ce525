/**
 * The node-local state directory, a trust boundary: the wrapper reads from
 * it only what root alone can have written. A directory or file counts as
 * trusted when it is owned by root, is what it should be (not a symlink),
 * and cannot be written by group or others (a directory that others may
 * write counts only with the sticky bit, as `/tmp` has, where nobody but
 * root can replace root's entries). For a directory, every ancestor below
 * `/` must pass the same test, since whoever can rename an ancestor can
 * swap the whole tree (`/` itself is root's on any node that root still
 * owns, and the permission set does not let the wrapper read it).
 *
 * The calls are synchronous: a handful of `lstat(2)`s on tmpfs cost a few
 * microseconds each that way, against tens through Deno's async ops, on
 * the path of every exec.
 *
 * @module
 */

import { WrapperError } from "../core/errors.ts";
import { TEMP_TAG } from "../spec/atomic_write.ts";

/** The owner the state must have: the wrapper runs as root. */
const ROOT = 0;

const STICKY = 0o1000;

/**
 * Why an entry cannot be trusted, from its `lstat`.
 *
 * @param info The entry's `lstat`.
 * @param kind What it must be.
 * @returns The reason, or `undefined` when it can be trusted.
 *
 * @example
 * ```ts
 * import { equal } from "assert";
 * import { distrust } from "./state_dir.ts";
 *
 * const info = { isFile: true, isDirectory: false, isSymlink: false, uid: 0, mode: 0o100600 };
 * equal(distrust(info, "file"), undefined);
 * equal(distrust({ ...info, uid: 1000 }, "file"), "owned by uid 1000, not root");
 * equal(distrust({ ...info, mode: 0o100666 }, "file"), "writable by group or others (mode 0666)");
 * equal(distrust({ ...info, isFile: false, isSymlink: true }, "file"), "a symlink");
 * ```
 */
export function distrust(
  info: Pick<Deno.FileInfo, "isFile" | "isDirectory" | "isSymlink" | "uid" | "mode">,
  kind: "file" | "directory",
): string | undefined {
  if (info.isSymlink) return "a symlink";
  if (kind === "file" ? !info.isFile : !info.isDirectory) return `not a ${kind}`;
  if (info.uid !== ROOT) return `owned by uid ${info.uid}, not root`;
  const mode = info.mode ?? 0;
  if ((mode & 0o022) !== 0 && !(kind === "directory" && (mode & STICKY) !== 0)) {
    return `writable by group or others (mode ${(mode & 0o7777).toString(8).padStart(4, "0")})`;
  }
  return undefined;
}

/**
 * Why a directory cannot be trusted: itself or one of its ancestors.
 *
 * @param dir An absolute directory path.
 * @returns The reason (naming the path at fault), `undefined` when trusted.
 * @throws {Deno.errors.NotFound} When the directory does not exist.
 */
export function distrustDir(dir: string): string | undefined {
  for (const path of _ancestry(dir).reverse()) {
    const why = distrust(Deno.lstatSync(path), "directory");
    if (why !== undefined) return `${path} is ${why}`;
  }
  return undefined;
}

/**
 * Makes sure a state directory exists and can be trusted, creating what is
 * missing with mode 0700.
 *
 * @param dir An absolute directory path.
 * @throws {WrapperError} When it or an ancestor cannot be trusted, or cannot be made.
 */
export function ensureStateDir(dir: string): void {
  for (const path of _ancestry(dir).reverse()) {
    let info: Deno.FileInfo;
    try {
      info = Deno.lstatSync(path);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      try {
        Deno.mkdirSync(path, { mode: 0o700 });
        // mkdir(2) honours the umask; a directory this made gets 0700 exactly.
        Deno.chmodSync(path, 0o700);
      } catch (made) {
        if (!(made instanceof Deno.errors.AlreadyExists)) throw made;
      }
      info = Deno.lstatSync(path);
    }
    const why = distrust(info, "directory");
    if (why !== undefined) throw new WrapperError(`state directory ${path} is ${why}`);
  }
}

/** `/a/b/c` → `["/a/b/c", "/a/b", "/a"]`. */
function _ancestry(dir: string): string[] {
  const parts = dir.split("/").filter(Boolean);
  return parts.map((_, i) => `/${parts.slice(0, i + 1).join("/")}`).reverse();
}

/**
 * How long before the configuration was read a record made from it is
 * dated. The kernel stamps a file from a clock that may lag the system's by
 * a tick, so a change made just after the read could otherwise look older
 * than the record.
 */
export const STAMP_MARGIN_MS = 1000;

/**
 * Whether a record written at `written` still speaks for its configuration
 * file as the shell front end's `-nt` sees it in every shell: newer than
 * the file by whole seconds (busybox compares seconds), or the file absent.
 *
 * @param written The record's mtime, in milliseconds.
 * @param configPath The configuration file.
 * @returns Whether the record is in force.
 */
export function inForce(written: number, configPath: string): boolean {
  let configured: number;
  try {
    configured = Deno.statSync(configPath).mtime?.getTime() ?? 0;
  } catch {
    return true;
  }
  return Math.floor(written / 1000) > Math.floor(configured / 1000);
}

/**
 * Replaces a file of the state directory: a root-only temp file beside it,
 * renamed over it, so a reader sees the old content or the new, never a
 * part. No fsync: the state is rebuilt when a crash loses it (a lost or
 * empty file reads as a miss).
 *
 * @param path The file, in a directory {@linkcode ensureStateDir} made.
 * @param text Its new content.
 * @param readAt For a record of the configuration the shell front end
 *   compares with `-nt`: the moment before that configuration was read.
 *   The file appears already dated a second earlier, so that a later change
 *   to the configuration is always newer than it.
 */
export function replaceStateFile(path: string, text: string, readAt?: Date): void {
  const slash = path.lastIndexOf("/");
  const random = crypto.getRandomValues(new Uint32Array(2)).join("");
  const temp = `${path.slice(0, slash)}/.${path.slice(slash + 1)}.${TEMP_TAG}-${random}`;
  try {
    Deno.writeTextFileSync(temp, text, { createNew: true, mode: 0o600 });
    if (readAt !== undefined) {
      const stamp = new Date(readAt.getTime() - STAMP_MARGIN_MS);
      Deno.utimeSync(temp, stamp, stamp);
    }
    Deno.renameSync(temp, path);
  } catch (error) {
    try {
      Deno.removeSync(temp);
    } catch {
      // Never made, or already renamed.
    }
    throw error;
  }
}

/**
 * Reads a file only when it is a regular, root-owned file nobody else may
 * write, and the file opened is the one `lstat` saw (a symlink put in its
 * place between the two would open another inode).
 *
 * @param path The file.
 * @returns Its text, and the `fstat` of the file read.
 * @throws {Deno.errors.NotFound} When it does not exist.
 * @throws {Error} When it cannot be trusted (the message says why) or read.
 */
export function readTrustedSync(path: string): { text: string; info: Deno.FileInfo } {
  // Another wrapper may replace the entry (rename) between lstat and open:
  // look again a few times before calling the entry untrustworthy.
  for (let attempt = 1;; attempt++) {
    const seen = Deno.lstatSync(path);
    const why = distrust(seen, "file");
    if (why !== undefined) throw new Error(`is ${why}`);
    using file = Deno.openSync(path, { read: true });
    const opened = file.statSync();
    if (opened.ino === seen.ino && opened.dev === seen.dev) {
      const bytes = new Uint8Array(opened.size);
      let read = 0;
      while (read < bytes.length) {
        const n = file.readSync(bytes.subarray(read));
        if (n === null) break;
        read += n;
      }
      return { text: new TextDecoder().decode(bytes.subarray(0, read)), info: opened };
    }
    if (attempt === 3) throw new Error("kept being replaced while it was read");
  }
}
