/**
 * The create record: what a container's create found, kept for the execs
 * that follow. An exec's process file carries the image's groups again (the
 * CRIs build it from the spec they stored), and by then the container's own
 * `/etc/group` is its tenant's to write; so an exec is judged on what the
 * image granted the container's user when it was created, read from here,
 * never from the running container. The record also names one identity
 * known to need nothing (`pass`): the shell front end execs the runtime
 * directly, with no Deno, for an exec whose process file carries exactly
 * that identity while the configuration is the one the record was made
 * under (docs/design.md, "Execs that need nothing").
 *
 * One file per container, `<state-dir>/creates/<id>`, written by the
 * create before the runtime starts (a later create of the same id replaces
 * it before its runtime starts, so a record never speaks for another
 * container the wrapper created), trusted as the caches are
 * (`state_dir.ts`: root's alone, no symlink, replaced atomically): an entry
 * that cannot be trusted is no record, and its exec is judged as one of a
 * container the wrapper did not create. Nothing tells the wrapper that a
 * container is gone (`delete` passes straight through): records whose
 * container the runtime no longer has are pruned by later creates. It is
 * dated a second before the configuration was read, as the pass-through
 * record is (`runtime_record.ts`): a configuration changed since is newer
 * than the record, in any shell's `-nt`.
 *
 * The format is lines, so that a POSIX shell can read it with `read`:
 *
 * ```
 * strict-supplementalgroups create record 2
 * <the runtime's state root, effective: --root or the runtime's default>
 * <the uid the image was read for>
 * <the gids the image grants it, comma-separated>
 * <the configuration file the record was made under>
 * <present | absent: whether that file existed>
 * <pass: a process user as Go's encoding/json writes it, or nothing>
 * ```
 *
 * @module
 */

import { CREATE_RECORD_HEADER } from "../config/config_file.ts";
import { TEMP_TAG } from "../spec/atomic_write.ts";
import {
  distrustDir,
  ensureStateDir,
  inForce,
  readTrustedSync,
  replaceStateFile,
} from "./state_dir.ts";

/** Container ids that name a file (runc: `^[\w+-.]+$`; crun alike); nothing else does. */
const ID = /^[A-Za-z0-9_+-][A-Za-z0-9_.+-]{0,1023}$/;

/** Records are checked for a gone container once they are this old. */
const PRUNE_AFTER_MS = 10 * 60 * 1000;

/** The configuration a record was made under. */
export interface RecordBinding {
  /** The configuration file. */
  readonly configPath: string;
  /** Whether it existed (else the embedded defaults applied). */
  readonly present: boolean;
  /** The moment before it was read (the record is dated a second earlier). */
  readonly readAt: Date;
}

/** What a container's create recorded. */
export interface CreateRecord {
  /** The runtime's state root the container was created in. */
  readonly root: string;
  /** The uid its image was read for. */
  readonly uid: number;
  /** The gids the image grants that uid. */
  readonly imageGids: readonly number[];
  /** The configuration file the record was made under. */
  readonly configPath: string;
  /** Whether that file existed. */
  readonly present: boolean;
  /**
   * A process user, as Go's encoding/json writes it, that needs nothing
   * under that configuration: an exec carrying exactly it is handed off
   * as it is. Empty when none is known.
   */
  readonly pass: string;
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
 *   recordText({
 *     root: "/run/runc", uid: 1000, imageGids: [50000], configPath: "/etc/c.toml",
 *     present: true, pass: "",
 *   }),
 *   "strict-supplementalgroups create record 2\n/run/runc\n1000\n50000\n/etc/c.toml\npresent\n\n",
 * );
 * ```
 */
export function recordText(record: CreateRecord): string {
  return [
    CREATE_RECORD_HEADER,
    record.root,
    String(record.uid),
    record.imageGids.join(","),
    record.configPath,
    record.present ? "present" : "absent",
    record.pass,
    "",
  ].join("\n");
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
 * const record = {
 *   root: "/run/runc", uid: 1000, imageGids: [50000, 50001], configPath: "/etc/c.toml",
 *   present: false, pass: '{"uid":1000,"gid":1000,"additionalGids":[1000]}',
 * };
 * deepEqual(parseRecord(recordText(record)), record);
 * equal(parseRecord("strict-supplementalgroups create record 2\n/run/runc\n1000\n"), undefined);
 * ```
 */
export function parseRecord(text: string): CreateRecord | undefined {
  const lines = text.split("\n");
  if (lines.length !== 8 || lines[0] !== CREATE_RECORD_HEADER || lines[7] !== "") return undefined;
  const [, root, uid, gids, configPath, present, pass] = lines as string[] as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const ids = gids === "" ? [] : gids.split(",");
  if (
    !root.startsWith("/") || !configPath.startsWith("/") || ![uid, ...ids].every(_isId) ||
    (present !== "present" && present !== "absent")
  ) {
    return undefined;
  }
  return {
    root,
    uid: Number(uid),
    imageGids: ids.map(Number),
    configPath,
    present: present === "present",
    pass,
  };
}

/**
 * Writes a container's record, replacing any earlier one, dated a second
 * before its configuration was read.
 *
 * @param dir The records' directory (`<state-dir>/creates`).
 * @param id The container id.
 * @param record The record.
 * @param readAt The moment before the configuration was read.
 * @throws {Error} When the directory cannot be trusted or written.
 */
export function writeCreateRecord(
  dir: string,
  id: string,
  record: CreateRecord,
  readAt: Date,
): void {
  if (!ID.test(id)) throw new Error(`container id ${JSON.stringify(id)} names no record file`);
  ensureStateDir(dir);
  replaceStateFile(`${dir}/${id}`, recordText(record), readAt);
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
 * @returns The record and its mtime, or `undefined` when there is none to trust.
 */
export function readCreateRecord(
  dir: string,
  id: string,
  distrusted: (why: string) => void,
): { record: CreateRecord; written: number } | undefined {
  if (!ID.test(id)) return undefined;
  const path = `${dir}/${id}`;
  try {
    const why = distrustDir(dir);
    if (why !== undefined) {
      distrusted(why);
      return undefined;
    }
    const read = readTrustedSync(path);
    const record = parseRecord(read.text);
    if (record === undefined) {
      distrusted(`${path}: not a whole create record`);
      return undefined;
    }
    return { record, written: read.info.mtime?.getTime() ?? 0 };
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
   * @param found The uid, what its image grants it, and the identity that needs nothing.
   * @throws {Error} When neither the record can be written nor an earlier one removed.
   */
  write(
    id: string,
    root: string | undefined,
    found: { readonly uid: number; readonly imageGids: readonly number[]; readonly pass: string },
  ): void;
  /**
   * Notes an identity an exec was judged to need nothing with, when the
   * record does not name it under the current configuration already: the
   * container's later execs with it then pass through the front end.
   *
   * @param id The container id.
   * @param root The caller's `--root`.
   * @param pass The exec's process user, as Go's encoding/json writes it.
   */
  learn(id: string, root: string | undefined, pass: string): void;
}

/**
 * The records in a directory.
 *
 * @param dir `<state-dir>/creates`.
 * @param defaultRoot The runtime's state root when the caller names none.
 * @param binding The configuration this call runs under.
 * @param warn Told why a record is not trusted, or was not written.
 * @returns The seam.
 */
export function createRecords(
  dir: string,
  defaultRoot: string,
  binding: RecordBinding,
  warn: (why: string) => void,
): CreateRecords {
  const bound = { configPath: binding.configPath, present: binding.present };
  const write = (id: string, record: CreateRecord) => {
    try {
      writeCreateRecord(dir, id, record, binding.readAt);
    } catch (error) {
      removeCreateRecord(dir, id);
      warn(`create record of ${id} not written: ${(error as Error).message}`);
    }
  };
  return {
    read(id, root) {
      const found = readCreateRecord(dir, id, warn);
      return found?.record.root === (root ?? defaultRoot) ? found.record : undefined;
    },
    write(id, root, found) {
      write(id, { root: root ?? defaultRoot, ...found, ...bound });
    },
    learn(id, root, pass) {
      const found = readCreateRecord(dir, id, warn);
      if (found === undefined || found.record.root !== (root ?? defaultRoot)) return;
      const { record, written } = found;
      const current = record.pass === pass && record.configPath === bound.configPath &&
        record.present === bound.present && inForce(written, binding.configPath);
      if (!current) write(id, { ...record, ...bound, pass });
    },
  };
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
