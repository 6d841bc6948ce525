/**
 * Splits a byte stream into lines in bounded memory: a line longer than the
 * bound is not kept but reported as one oversized line, however long it is,
 * so a corrupt log of any size is read with the same memory as a good one.
 *
 * @module
 */

/** The longest line kept: a decision record is well under 4 KiB. */
export const MAX_LINE_BYTES = 64 * 1024;

/** What a splitter hands out. */
export type Line =
  | { readonly kind: "line"; readonly text: string }
  | { readonly kind: "oversized" };

/** A splitter for one stream. */
export interface LineSplitter {
  /**
   * Takes the next bytes.
   *
   * @param chunk The bytes.
   * @returns The lines they complete, in order.
   */
  push(chunk: Uint8Array): Line[];
  /** Whether bytes after the last newline are held (a line not yet ended). */
  readonly pending: boolean;
  /** Drops a line not yet ended, reporting whether there was one. */
  discard(): boolean;
}

/**
 * Makes a splitter.
 *
 * @param maxLineBytes The longest line kept.
 * @returns The splitter.
 *
 * @example
 * ```ts
 * import { deepEqual, equal } from "assert";
 * import { lineSplitter } from "./lines.ts";
 *
 * const split = lineSplitter(8);
 * const bytes = (text: string) => new TextEncoder().encode(text);
 * deepEqual(split.push(bytes("ab\ncd")), [{ kind: "line", text: "ab" }]);
 * equal(split.pending, true);
 * deepEqual(split.push(bytes("e\n0123456789\nf\n")), [
 *   { kind: "line", text: "cde" },
 *   { kind: "oversized" },
 *   { kind: "line", text: "f" },
 * ]);
 * ```
 */
export function lineSplitter(maxLineBytes: number = MAX_LINE_BYTES): LineSplitter {
  const decoder = new TextDecoder();
  let held: Uint8Array[] = [];
  let heldBytes = 0;
  let oversized = false;
  const take = (bytes: Uint8Array) => {
    if (oversized) return;
    if (heldBytes + bytes.length > maxLineBytes) {
      oversized = true;
      held = [];
      heldBytes = 0;
      return;
    }
    held.push(bytes);
    heldBytes += bytes.length;
  };
  return {
    push(chunk) {
      const lines: Line[] = [];
      let start = 0;
      for (let end = chunk.indexOf(10); end !== -1; end = chunk.indexOf(10, start)) {
        take(chunk.subarray(start, end));
        if (oversized) {
          lines.push({ kind: "oversized" });
        } else {
          lines.push({ kind: "line", text: decoder.decode(_join(held, heldBytes)) });
        }
        held = [];
        heldBytes = 0;
        oversized = false;
        start = end + 1;
      }
      // The rest is copied: the caller may reuse its buffer.
      if (start < chunk.length) take(chunk.slice(start));
      return lines;
    },
    get pending() {
      return heldBytes > 0 || oversized;
    },
    discard() {
      const had = heldBytes > 0 || oversized;
      held = [];
      heldBytes = 0;
      oversized = false;
      return had;
    },
  };
}

function _join(parts: readonly Uint8Array[], length: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const joined = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    joined.set(part, at);
    at += part.length;
  }
  return joined;
}
