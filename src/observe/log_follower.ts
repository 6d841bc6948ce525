/**
 * Follows the decision log the way `tail -F` does, for the exporter: it
 * keeps the file it reads open, so that when the wrapper rotates the log
 * (a rename, src/log/decision_log.ts) it still reads that file to its end
 * before it opens the new log from its start. Backups that appeared and were
 * rotated between two polls (two rotations in one interval) are read from
 * their backup files, found by name and told apart from the file already
 * read by its first bytes. A log truncated in place (`copytruncate`) is
 * read again from its start. Each line is handed out once.
 *
 * @module
 */

import { logDir } from "../log/log_names.ts";
import { fileLines, listBackups } from "./log_files.ts";
import { lineSplitter } from "./lines.ts";
import type { LineSink } from "./metrics.ts";

/** How many first bytes tell one log file from another. */
const HEAD_BYTES = 256;

/** Where the follower's lines and events go. */
export type FollowSink = LineSink;

/** A follower. */
export interface LogFollower {
  /** Reads what was written since the last poll. */
  poll(): Promise<void>;
  /** Closes the file it holds. */
  close(): void;
}

/** Where following starts. */
export interface FollowOptions {
  /** Read the log as it is from its start; else start at its end, counting only new lines. */
  readonly fromStart?: boolean;
}

/**
 * Starts following a log. Nothing is read until the first poll.
 *
 * @param path The log file.
 * @param sink Where lines and events go.
 * @param options Where to start.
 * @returns The follower.
 */
export function followLog(
  path: string,
  sink: FollowSink,
  options: FollowOptions = {},
): LogFollower {
  const dir = logDir(path);
  let current: Open | undefined;
  /** The backups' names at the last poll; none before the first. */
  let known: Set<string> | undefined;
  let buffer = new Uint8Array(64 * 1024);

  /** Reads an open file from its offset to its end. */
  const drain = async (open: Open) => {
    await open.file.seek(open.offset, Deno.SeekMode.Start);
    for (;;) {
      const n = await open.file.read(buffer);
      if (n === null || n === 0) break;
      const chunk = buffer.subarray(0, n);
      if (open.head.length < HEAD_BYTES && open.offset < HEAD_BYTES) {
        open.head = _concat(open.head, chunk.subarray(0, HEAD_BYTES - open.offset));
      }
      open.offset += n;
      for (const line of open.split.push(chunk)) sink.line(line);
      if (n === buffer.length && buffer.length < 1024 * 1024) buffer = new Uint8Array(n * 2);
    }
  };

  const finish = (open: Open) => {
    if (open.split.discard()) sink.line({ kind: "truncated" });
    open.file.close();
  };

  /** Reads, in order, the backups that appeared since the last poll, but the one just finished. */
  const catchUp = async (finished: Open | undefined) => {
    const backups = await listBackups(path);
    const names = new Set(backups.map((b) => b.name));
    let skipped = false;
    for (const backup of backups) {
      if (known?.has(backup.name)) continue;
      // Still being compressed: its plain twin is read instead.
      if (backup.compressed && names.has(backup.name.slice(0, -".gz".length))) continue;
      const file = `${dir}/${backup.name}`;
      const head = await _head(file, backup.compressed).catch(() => undefined);
      if (head === undefined) {
        sink.event("read-error");
        continue;
      }
      if (
        !skipped && finished !== undefined && finished.head.length > 0 &&
        _startsWith(head, finished.head)
      ) {
        skipped = true;
        continue;
      }
      await _readAll(file, sink).catch(() => sink.event("read-error"));
    }
    known = names;
  };

  return {
    async poll() {
      const atStart = known === undefined;
      if (known === undefined) known = new Set((await listBackups(path)).map((b) => b.name));
      // Holding no file, a backup that appeared is of a log that came and went unseen.
      else if (current === undefined) await catchUp(undefined);
      const info = await Deno.stat(path).catch((error) => {
        if (error instanceof Deno.errors.NotFound) return undefined;
        throw error;
      });
      if (current !== undefined) {
        const replaced = info === undefined || info.ino !== current.ino ||
          info.dev !== current.dev;
        // The held file itself may have been cut, whether or not it was then renamed.
        if (await _truncated(current, (await current.file.stat()).size)) {
          sink.event("truncation");
          current.split.discard();
          current.offset = 0;
          current.head = new Uint8Array(0);
        }
        await drain(current);
        if (!replaced) return;
        sink.event("rotation");
        finish(current);
        const finished = current;
        current = undefined;
        await catchUp(finished);
      }
      if (info === undefined || !info.isFile) return;
      const file = await Deno.open(path, { read: true });
      const opened = await file.stat();
      current = {
        file,
        ino: opened.ino,
        dev: opened.dev,
        offset: 0,
        head: new Uint8Array(0),
        split: lineSplitter(),
      };
      if (atStart && !options.fromStart) {
        current.head = await _readHead(file);
        current.offset = opened.size;
      }
      await drain(current);
    },
    close() {
      current?.file.close();
      current = undefined;
    },
  };
}

/** The file being followed. */
interface Open {
  readonly file: Deno.FsFile;
  readonly ino: number | null;
  readonly dev: number;
  /** Bytes read from it so far. */
  offset: number;
  /** Its first bytes, as read. */
  head: Uint8Array;
  readonly split: ReturnType<typeof lineSplitter>;
}

/** Whether the file was cut shorter than what was read, or rewritten from its start. */
async function _truncated(open: Open, size: number): Promise<boolean> {
  if (size < open.offset) return true;
  if (open.head.length === 0) return false;
  await open.file.seek(0, Deno.SeekMode.Start);
  const head = await _readHead(open.file, open.head.length);
  return !_startsWith(head, open.head);
}

async function _readHead(file: Deno.FsFile, length = HEAD_BYTES): Promise<Uint8Array> {
  await file.seek(0, Deno.SeekMode.Start);
  const head = new Uint8Array(length);
  let have = 0;
  while (have < length) {
    const n = await file.read(head.subarray(have));
    if (n === null || n === 0) break;
    have += n;
  }
  return head.subarray(0, have);
}

/** A backup's first bytes, decompressed. */
async function _head(path: string, compressed: boolean): Promise<Uint8Array> {
  const file = await Deno.open(path, { read: true });
  if (!compressed) {
    try {
      return await _readHead(file);
    } finally {
      file.close();
    }
  }
  const reader = file.readable.pipeThrough(new DecompressionStream("gzip")).getReader();
  let head: Uint8Array = new Uint8Array(0);
  try {
    while (head.length < HEAD_BYTES) {
      const { value, done } = await reader.read();
      if (done) break;
      head = _concat(head, value.subarray(0, HEAD_BYTES - head.length));
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  return head;
}

async function _readAll(path: string, sink: FollowSink): Promise<void> {
  for await (const line of fileLines(path)) sink.line(line);
}

function _startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (bytes.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

function _concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a);
  joined.set(b, a.length);
  return joined;
}
