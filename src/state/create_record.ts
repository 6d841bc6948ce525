/**
 * The create record: what a container's create found in its image, kept for
 * the execs that follow. An exec's process file carries the image's groups
 * again (the CRIs build it from the spec they stored), and by then the
 * container's own `/etc/group` is its tenant's to write; so an exec is
 * judged on what the image granted the container's user when it was
 * created, read from here, never from the running container.
 *
 * One file per container, `<state-dir>/creates/<id>`, written by the
 * create before the runtime starts (a later create of the same id replaces
 * it before its runtime starts, so a record never speaks for another
 * container), trusted as the caches are (`state_dir.ts`: root's alone, no
 * symlink, replaced atomically): an entry that cannot be trusted is no
 * record, and its exec is judged as one of a container the wrapper did not
 * create. Nothing tells the wrapper that a container is gone (`delete`
 * passes straight through): records whose container the runtime no longer
 * has are pruned by later creates.
 *
 * The format is lines, so that a POSIX shell can read it too:
 *
 * ```
 * strict-supplementalgroups create record 1
 * <the runtime's state root, effective: --root or the runtime's default>
 * <the uid the image was read for>
 * <the gids the image grants it, comma-separated>
 * ```
 *
 * @module
 */

import { TEMP_TAG } from "../spec/atomic_write.ts";
import { distrustDir, ensureStateDir, readTrustedSync, replaceStateFile } from "./state_dir.ts";

/** The first line of a record of this format. */
const HEADER = "strict-supplementalgroups create record 1";

/** Container ids that name a file (runc: `^[\w+-.]+$`; crun alike); nothing else does. */
const ID = /^[A-Za-z0-9_+-][A-Za-z0-9_.+-]{0,1023}$/;

/** Records are checked for a gone container once they are this old. */
const PRUNE_AFTER_MS = 10 * 60 * 1000;

/** What a container's create recorded. */
export interface CreateRecord {
  /** The runtime's state root the container was created in. */
  readonly root: string;
  /** The uid its image was read for. */
  readonly uid: number;
  /** The gids the image grants that uid. */
  readonly imageGids: readonly number[];
}

/**
 * A record's text.
 *
 * @param record The record.
 * @returns Its lines.
 *
 * @example
 * ```ts
 * import { equal } from "assert";
 * import { recordText } from "./create_record.ts";
 *
 * equal(
 *   recordText({ root: "/run/runc", uid: 1000, imageGids: [50000] }),
 *   "strict-supplementalgroups create record 1\n/run/runc\n1000\n50000\n",
 * );
 * ```
 */
export function recordText(record: CreateRecord): string {
  return [HEADER, record.root, String(record.uid), record.imageGids.join(","), ""].join("\n");
}

/**
 * A record read back from its text.
 *
 * @param text The file's text.
 * @returns The record, or `undefined` when it is not a whole record of this format.
 *
 * @example
 * ```ts
 * import { deepEqual, equal } from "assert";
 * import { parseRecord, recordText } from "./create_record.ts";
 *
 * const record = { root: "/run/runc", uid: 1000, imageGids: [50000, 50001] };
 * deepEqual(parseRecord(recordText(record)), record);
 * equal(parseRecord("strict-supplementalgroups create record 1\n/run/runc\n1000\n"), undefined);
 * ```
 */
export function parseRecord(text: string): CreateRecord | undefined {
  const lines = text.split("\n");
  if (lines.length !== 5 || lines[0] !== HEADER || lines[4] !== "") return undefined;
  const [, root, uid, gids] = lines as [string, string, string, string];
  const ids = gids === "" ? [] : gids.split(",");
  if (!root.startsWith("/") || ![uid, ...ids].every(_isId)) return undefined;
  return { root, uid: Number(uid), imageGids: ids.map(Number) };
}

/**
 * Writes a container's record, replacing any earlier one.
 *
 * @param dir The records' directory (`<state-dir>/creates`).
 * @param id The container id.
 * @param record The record.
 * @throws {Error} When the directory cannot be trusted or written.
 */
export function writeCreateRecord(dir: string, id: string, record: CreateRecord): void {
  if (!ID.test(id)) throw new Error(`container id ${JSON.stringify(id)} names no record file`);
  ensureStateDir(dir);
  replaceStateFile(`${dir}/${id}`, recordText(record));
}

/**
 * Removes a container's record, when it has one.
 *
 * @param dir The records' directory.
 * @param id The container id.
 */
export function removeCreateRecord(dir: string, id: string): void {
  if (!ID.test(id)) return;
  try {
    Deno.removeSync(`${dir}/${id}`);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}

/**
 * Reads a container's record, trusting it only as the caches are trusted.
 *
 * @param dir The records' directory.
 * @param id The container id.
 * @param distrusted Told why an existing record is not trusted.
 * @returns The record, or `undefined` when there is none to trust.
 */
export function readCreateRecord(
  dir: string,
  id: string,
  distrusted: (why: string) => void,
): CreateRecord | undefined {
  if (!ID.test(id)) return undefined;
  const path = `${dir}/${id}`;
  try {
    const why = distrustDir(dir);
    if (why !== undefined) {
      distrusted(why);
      return undefined;
    }
    const record = parseRecord(readTrustedSync(path).text);
    if (record === undefined) distrusted(`${path}: not a whole create record`);
    return record;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) {
      distrusted(`${path}: ${(error as Error).message}`);
    }
    return undefined;
  }
}

/**
 * Removes the records of containers their runtime no longer has (its state
 * directory `<root>/<id>` is gone), and the temp files of killed writers.
 *
 * @param dir The records' directory.
 * @param now The time to age records against (epoch ms).
 */
export function pruneCreateRecords(dir: string, now: number): void {
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(dir)];
  } catch {
    return;
  }
  for (const entry of entries) {
    const path = `${dir}/${entry.name}`;
    try {
      const info = Deno.lstatSync(path);
      if (now - (info.mtime?.getTime() ?? now) < PRUNE_AFTER_MS) continue;
      const record = entry.name.includes(TEMP_TAG)
        ? undefined
        : parseRecord(readTrustedSync(path).text);
      if (record === undefined || !_exists(`${record.root}/${entry.name}`)) Deno.removeSync(path);
    } catch {
      // Gone already, or another create is pruning it.
    }
  }
}

function _exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

function _isId(text: string): boolean {
  return /^\d{1,10}$/.test(text) && Number(text) <= 4294967295;
}

/** The records as the wrapper's seam: by container id and the caller's `--root`. */
export interface CreateRecords {
  /**
   * The record of a container, when there is one to trust for this root.
   *
   * @param id The container id.
   * @param root The caller's `--root` (`undefined`: the runtime's default).
   * @returns The record, or `undefined`.
   */
  read(id: string, root: string | undefined): CreateRecord | undefined;
  /**
   * Records a create, replacing any earlier record of the id. A record that
   * cannot be written is reported, and the id's earlier one removed: its
   * execs are then judged as a container's the wrapper did not create.
   *
   * @param id The container id.
   * @param root The caller's `--root`.
   * @param found The uid and what its image grants it.
   * @throws {Error} When neither the record can be written nor an earlier one removed.
   */
  write(
    id: string,
    root: string | undefined,
    found: { readonly uid: number; readonly imageGids: readonly number[] },
  ): void;
}

/**
 * The records in a directory.
 *
 * @param dir `<state-dir>/creates`.
 * @param defaultRoot The runtime's state root when the caller names none.
 * @param warn Told why a record is not trusted, or was not written.
 * @returns The seam.
 */
export function createRecords(
  dir: string,
  defaultRoot: string,
  warn: (why: string) => void,
): CreateRecords {
  return {
    read(id, root) {
      const record = readCreateRecord(dir, id, warn);
      return record?.root === (root ?? defaultRoot) ? record : undefined;
    },
    write(id, root, found) {
      try {
        writeCreateRecord(dir, id, { root: root ?? defaultRoot, ...found });
      } catch (error) {
        removeCreateRecord(dir, id);
        warn(`create record of ${id} not written: ${(error as Error).message}`);
      }
    },
  };
}
