/**
 * The wrapper's own log: one structured line per decision, JSON or text,
 * with size-based rotation named like lumberjack's (the original project's
 * logger), so existing log shippers keep working. Many wrapper processes
 * write the same file at once, so every append and every rotation happens
 * under an exclusive lock on `<log-file>.lock`, and each line is one
 * write(2).
 *
 * @module
 */

import type { LoggingConfig, LogLevel } from "../config/config.ts";
import { describe, MESSAGE_PREFIX } from "../core/errors.ts";
import { backupOf, backupPath, logDir } from "./log_names.ts";

/** One log record; `level` and `msg` first, then any fields. */
export interface LogRecord {
  /** The record's level. */
  readonly level: "debug" | "info" | "warn" | "error";
  /** What it is (`decision` for decision records). */
  readonly msg: string;
  /** Any other field. */
  readonly [field: string]: unknown;
}

/** Where the wrapper's records go. */
export interface DecisionLog {
  /**
   * Writes one record. Logging never decides a container's fate: a failure
   * is reported on stderr and the invocation carries on.
   *
   * @param record The record.
   */
  write(record: LogRecord): Promise<void>;
}

/**
 * The configured log file.
 *
 * @param logging The logging configuration.
 * @returns The log.
 */
export function fileLog(logging: LoggingConfig): DecisionLog {
  return {
    write: (record) =>
      writeRecord(logging, record).catch((error) => {
        console.error(`${MESSAGE_PREFIX}cannot write log ${logging.logFile}: ${describe(error)}`);
      }),
  };
}

const RANK: Readonly<Record<LogLevel, number>> = {
  trace: 0,
  debug: 1,
  info: 2,
  warn: 3,
  error: 4,
  fatal: 5,
  panic: 6,
  disabled: 99,
};

/**
 * Formats a record as one line.
 *
 * @param record The record.
 * @param format `json` or `text` (logfmt-style `key=value`).
 * @param now The time.
 * @returns The line with its newline.
 *
 * @example
 * ```ts
 * import { equal } from "assert";
 * import { formatRecord } from "./decision_log.ts";
 *
 * const record = { level: "info", msg: "decision", id: "c1", gids: [1, 2] } as const;
 * equal(
 *   formatRecord(record, "text", new Date(0)),
 *   "time=1970-01-01T00:00:00.000Z level=info msg=decision id=c1 gids=[1,2]\n",
 * );
 * equal(
 *   formatRecord(record, "json", new Date(0)),
 *   '{"time":"1970-01-01T00:00:00.000Z","level":"info","msg":"decision","id":"c1","gids":[1,2]}\n',
 * );
 * ```
 */
export function formatRecord(record: LogRecord, format: "json" | "text", now: Date): string {
  const time = now.toISOString();
  if (format === "json") return `${JSON.stringify({ time, ...record })}\n`;
  const fields = Object.entries({ time, ...record }).map(([key, value]) =>
    `${key}=${_textValue(value)}`
  );
  return `${fields.join(" ")}\n`;
}

/**
 * Appends a record to the configured log file, rotating it first when it
 * would exceed `max-size-in-mb`. Logging never decides a container's fate:
 * the caller reports a failure here on stderr and carries on.
 *
 * @param logging The logging configuration.
 * @param record The record.
 * @param now The time.
 */
export async function writeRecord(
  logging: LoggingConfig,
  record: LogRecord,
  now = new Date(),
): Promise<void> {
  if (RANK[record.level] < RANK[logging.logLevel]) return;
  const line = new TextEncoder().encode(formatRecord(record, logging.logFormat, now));
  if (logging.logFile === "/dev/null") return;
  using lock = await Deno.open(`${logging.logFile}.lock`, {
    create: true,
    write: true,
    mode: 0o600,
  });
  await lock.lock(true);
  try {
    const size = await Deno.stat(logging.logFile).then((info) => info.size, () => 0);
    if (size > 0 && size + line.length > logging.rotation.maxSizeInMb * 1024 * 1024) {
      await rotateLog(logging, now);
    }
    using file = await Deno.open(logging.logFile, {
      append: true,
      create: true,
      mode: 0o640,
    });
    await file.write(line);
  } finally {
    await lock.unlock();
  }
}

/**
 * Renames the log to its backup name (src/log/log_names.ts), compresses it
 * if asked, and prunes old backups. The caller holds the log's lock.
 *
 * @param logging The logging configuration.
 * @param now The time, which names the backup.
 */
export async function rotateLog(logging: LoggingConfig, now: Date): Promise<void> {
  const path = logging.logFile;
  let backup = backupPath(path, now, 0);
  for (let n = 1; await _exists(backup) || await _exists(`${backup}.gz`); n++) {
    backup = backupPath(path, now, n);
  }
  await Deno.rename(path, backup);
  if (logging.rotation.compress) {
    // Both streams close their files when the pipe completes.
    const source = await Deno.open(backup, { read: true });
    const target = await Deno.open(`${backup}.gz`, { createNew: true, write: true, mode: 0o640 });
    await source.readable.pipeThrough(new CompressionStream("gzip")).pipeTo(target.writable);
    await Deno.remove(backup);
  }
  const dir = logDir(path);
  const backups: { path: string; mtime: number }[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isFile && backupOf(path, entry.name) !== undefined) {
      const full = `${dir}/${entry.name}`;
      const info = await Deno.stat(full);
      backups.push({ path: full, mtime: info.mtime?.getTime() ?? 0 });
    }
  }
  backups.sort((a, b) => b.mtime - a.mtime);
  const maxAge = logging.rotation.maxAgeInDay * 24 * 3600 * 1000;
  for (const [index, entry] of backups.entries()) {
    const tooMany = logging.rotation.maxBackups > 0 && index >= logging.rotation.maxBackups;
    const tooOld = maxAge > 0 && now.getTime() - entry.mtime > maxAge;
    if (tooMany || tooOld) await Deno.remove(entry.path).catch(() => {});
  }
}

async function _exists(path: string): Promise<boolean> {
  return await Deno.lstat(path).then(() => true, () => false);
}

function _textValue(value: unknown): string {
  const text = typeof value === "string" ? value : JSON.stringify(value) ?? "null";
  return /^[^\s"=]+$/.test(text) ? text : JSON.stringify(text);
}
