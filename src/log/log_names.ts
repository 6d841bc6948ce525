/**
 * The names of the decision log's rotated backups, lumberjack's scheme
 * (gopkg.in/natefinch/lumberjack.v2 `backupName`): `<stem>-<UTC time><ext>`
 * in the log's directory, the time as `2006-01-02T15-04-05.000`, and `.gz`
 * after a compressed one. Two rotations in one millisecond get `.1`, `.2`,
 * … after the time. The wrapper names its backups with these; `report` and
 * `metrics` find them with them.
 *
 * @module
 */

/** A log file's directory and the parts of its name. */
interface LogName {
  readonly dir: string;
  readonly stem: string;
  readonly ext: string;
}

function _split(logPath: string): LogName {
  const slash = logPath.lastIndexOf("/");
  const dir = logPath.slice(0, slash) || "/";
  const file = logPath.slice(slash + 1);
  const dot = file.lastIndexOf(".");
  return dot > 0
    ? { dir, stem: file.slice(0, dot), ext: file.slice(dot) }
    : { dir, stem: file, ext: "" };
}

/**
 * The directory a log and its backups are in.
 *
 * @param logPath The log file.
 * @returns Its directory.
 */
export function logDir(logPath: string): string {
  return _split(logPath).dir;
}

/**
 * The path of a backup made at a time.
 *
 * @param logPath The log file.
 * @param at When it is rotated.
 * @param n 0 for the first backup of that millisecond, then 1, 2, …
 * @returns The backup's path, without `.gz`.
 *
 * @example
 * ```ts
 * import { equal } from "assert";
 * import { backupPath } from "./log_names.ts";
 *
 * const at = new Date("2026-12-01T10:20:30.456Z");
 * equal(backupPath("/var/log/w.log", at, 0), "/var/log/w-2026-12-01T10-20-30.456.log");
 * equal(backupPath("/var/log/w.log", at, 2), "/var/log/w-2026-12-01T10-20-30.456.2.log");
 * ```
 */
export function backupPath(logPath: string, at: Date, n: number): string {
  const { dir, stem, ext } = _split(logPath);
  const stamp = at.toISOString().replace(/:/g, "-").replace(/Z$/, "");
  return `${dir}/${stem}-${stamp}${n > 0 ? `.${n}` : ""}${ext}`;
}

/** What a backup's name tells. */
export interface Backup {
  /** Its file name in the log's directory. */
  readonly name: string;
  /** When it was rotated, in milliseconds since the epoch. */
  readonly rotatedAt: number;
  /** Its place among backups of the same millisecond. */
  readonly n: number;
  /** Whether it is gzip-compressed. */
  readonly compressed: boolean;
}

/**
 * Reads a file name as a backup of a log.
 *
 * @param logPath The log file.
 * @param name A file name in the log's directory.
 * @returns The backup, or `undefined` when the name is not one of the log's backups.
 *
 * @example
 * ```ts
 * import { equal } from "assert";
 * import { backupOf } from "./log_names.ts";
 *
 * const backup = backupOf("/var/log/w.log", "w-2026-12-01T10-20-30.456.1.log.gz");
 * equal(backup?.rotatedAt, Date.parse("2026-12-01T10:20:30.456Z"));
 * equal(backup?.n, 1);
 * equal(backup?.compressed, true);
 * equal(backupOf("/var/log/w.log", "w.log"), undefined);
 * equal(backupOf("/var/log/w.log", "other-2026-12-01T10-20-30.456.log"), undefined);
 * ```
 */
export function backupOf(logPath: string, name: string): Backup | undefined {
  const { stem, ext } = _split(logPath);
  if (!name.startsWith(`${stem}-`)) return undefined;
  const rest = name.slice(stem.length + 1);
  const match = /^(\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3})(?:\.(\d+))?(.*?)(\.gz)?$/.exec(rest);
  if (match === null || match[3] !== ext) return undefined;
  const [date, time] = match[1]!.split("T") as [string, string];
  const rotatedAt = Date.parse(`${date}T${time.replace(/-/g, ":")}Z`);
  if (Number.isNaN(rotatedAt)) return undefined;
  return { name, rotatedAt, n: Number(match[2] ?? 0), compressed: match[4] !== undefined };
}

/**
 * Orders backups oldest first, as they were rotated.
 *
 * @param a One backup.
 * @param b Another.
 * @returns The order.
 */
export function byRotation(a: Backup, b: Backup): number {
  return a.rotatedAt - b.rotatedAt || a.n - b.n;
}
