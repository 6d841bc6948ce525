/**
 * The image's account files, `/etc/passwd` and `/etc/group`, read inside a
 * container's rootfs at its create, the way the CRIs read them when they
 * compute its groups: every symlink on the way resolved inside the rootfs,
 * an absolute target taken from the rootfs's root and `..` stopping there
 * (containerd: continuity `fs.RootPath`; CRI-O: `securejoin.SecureJoin`;
 * both at most 255 links), a missing file read as no entries. Unlike them,
 * anything that cannot be read safely is refused rather than read: a file
 * that is not a regular file (a FIFO would block the start path), one
 * larger than containerd's own bound (`maxUserFileBytes`, 10 MiB), a loop.
 *
 * At `create` nothing runs in the container yet, and its rootfs is mounted
 * from the image's layers and an empty upper layer (containerd's shim at
 * `<bundle>/rootfs`, CRI-O at the spec's `root.path`): the files read are
 * the image's. An exec never reads them again: the container's own
 * `/etc/group` is its tenant's to write by then.
 *
 * @module
 */

import { SpecError } from "../core/errors.ts";

/** containerd's bound on an account file (oci/spec_opts.go `maxUserFileBytes`). */
export const MAX_ACCOUNT_FILE_BYTES = 10 << 20;

/** Symlinks followed at most while resolving one path (continuity and securejoin: 255). */
const MAX_LINKS = 255;

/** The texts of the image's account files; an absent one has no entries. */
export interface AccountFiles {
  /** `/etc/passwd`. */
  readonly passwd?: string | undefined;
  /** `/etc/group`. */
  readonly group?: string | undefined;
}

/** Reads an image's account files. */
export interface ImageFiles {
  /**
   * Reads `/etc/passwd` and `/etc/group` inside a rootfs.
   *
   * @param rootfs The container's rootfs, absolute.
   * @returns Their texts.
   * @throws {SpecError} When one cannot be read safely; the message names it.
   */
  accountFiles(rootfs: string): Promise<AccountFiles>;
}

/** The real files. */
export const imageFiles: ImageFiles = {
  accountFiles(rootfs) {
    return Promise.resolve({
      passwd: readInRoot(rootfs, "/etc/passwd"),
      group: readInRoot(rootfs, "/etc/group"),
    });
  },
};

/**
 * Reads a file inside a root directory, resolving every symlink on the way
 * within it.
 *
 * @param root The root, absolute.
 * @param path The file, as the container sees it.
 * @returns Its text, or `undefined` when it does not exist.
 * @throws {SpecError} When it is not a regular file, is too large, or cannot be resolved or read.
 */
export function readInRoot(root: string, path: string): string | undefined {
  const where = `image file ${path} (in ${root})`;
  let resolved: string;
  try {
    resolved = resolveInRoot(root, path);
  } catch (error) {
    throw new SpecError(`${where}: ${(error as Error).message}`, { cause: error });
  }
  try {
    const seen = Deno.lstatSync(resolved);
    if (!seen.isFile) throw new Error("not a regular file");
    if (seen.size > MAX_ACCOUNT_FILE_BYTES) {
      throw new Error(`larger than ${MAX_ACCOUNT_FILE_BYTES} bytes`);
    }
    using file = Deno.openSync(resolved, { read: true });
    const opened = file.statSync();
    // What was opened must be what was checked: nothing else may swap it meanwhile.
    if (opened.ino !== seen.ino || opened.dev !== seen.dev) throw new Error("replaced while read");
    // One byte more than it holds: reading that byte means it changed meanwhile.
    const bytes = new Uint8Array(opened.size + 1);
    let read = 0;
    while (read < bytes.length) {
      const n = file.readSync(bytes.subarray(read));
      if (n === null) break;
      read += n;
    }
    if (read !== opened.size) throw new Error("changed while read");
    return new TextDecoder().decode(bytes.subarray(0, read));
  } catch (error) {
    if (_absent(error)) return undefined;
    throw new SpecError(`${where}: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * A path inside a root with every symlink resolved within the root: an
 * absolute target starts again at the root, `..` never climbs above it,
 * and a component that does not exist is taken as it is (the file is then
 * missing).
 *
 * @param root The root, absolute.
 * @param path The path inside it.
 * @returns The host path it names.
 * @throws {Error} When more than 255 symlinks are followed.
 *
 * @example An absolute link stays in the root
 * ```ts ignore
 * // <root>/etc -> /usr/etc resolves to <root>/usr/etc, never the host's /usr/etc.
 * ```
 */
export function resolveInRoot(root: string, path: string): string {
  const done: string[] = [];
  const pending = _parts(path);
  let links = 0;
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === "..") {
      done.pop();
      continue;
    }
    const candidate = `${root}/${[...done, part].join("/")}`;
    let info: Deno.FileInfo;
    try {
      info = Deno.lstatSync(candidate);
    } catch (error) {
      if (!_absent(error)) throw error;
      done.push(part);
      continue;
    }
    if (!info.isSymlink) {
      done.push(part);
      continue;
    }
    if (++links > MAX_LINKS) throw new Error(`more than ${MAX_LINKS} symlinks`);
    const target = Deno.readLinkSync(candidate);
    if (target.startsWith("/")) done.length = 0;
    pending.unshift(..._parts(target));
  }
  return `${root}/${done.join("/")}`;
}

/** A path that does not exist, or runs through a file that is not a directory. */
function _absent(error: unknown): boolean {
  return error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory;
}

function _parts(path: string): string[] {
  return path.split("/").filter((part) => part !== "" && part !== ".");
}
