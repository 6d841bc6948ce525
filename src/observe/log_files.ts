/**
 * The decision log's files on disk: its rotated backups, oldest first, then
 * the log itself; and a file's lines, streamed (a gzip backup through
 * `DecompressionStream`), in bounded memory.
 *
 * @module
 */

import { type Backup, backupOf, byRotation, logDir } from "../log/log_names.ts";
import { type Line, lineSplitter, MAX_LINE_BYTES } from "./lines.ts";

/**
 * The log's files, oldest first: its backups, then the log when it exists.
 *
 * @param logPath The log file.
 * @returns Their paths.
 */
export async function logFiles(logPath: string): Promise<string[]> {
  const dir = logDir(logPath);
  const backups = await listBackups(logPath);
  const current = await Deno.stat(logPath).then((info) => info.isFile, () => false);
  return [...backups.map((b) => `${dir}/${b.name}`), ...(current ? [logPath] : [])];
}

/**
 * The log's backups, oldest first.
 *
 * @param logPath The log file.
 * @returns The backups; none when the directory cannot be read.
 */
export async function listBackups(logPath: string): Promise<Backup[]> {
  const backups: Backup[] = [];
  try {
    for await (const entry of Deno.readDir(logDir(logPath))) {
      const backup = entry.isFile ? backupOf(logPath, entry.name) : undefined;
      if (backup !== undefined) backups.push(backup);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return backups.sort(byRotation);
}

/** The end of a file's last line, when it has no newline. */
export interface Truncated {
  /** Always `truncated`. */
  readonly kind: "truncated";
}

/**
 * Streams a file's lines, decompressing a `.gz` file; a last line without its
 * newline comes last as `truncated`.
 *
 * @param path The file.
 * @param maxLineBytes The longest line kept.
 * @yields Its lines.
 */
export async function* fileLines(
  path: string,
  maxLineBytes: number = MAX_LINE_BYTES,
): AsyncGenerator<Line | Truncated> {
  // The stream closes the file at its end, on an error, or when the caller stops early.
  const file = await Deno.open(path, { read: true });
  const bytes = path.endsWith(".gz")
    ? file.readable.pipeThrough(new DecompressionStream("gzip"))
    : file.readable;
  const split = lineSplitter(maxLineBytes);
  for await (const chunk of bytes) yield* split.push(chunk);
  if (split.discard()) yield { kind: "truncated" };
}
