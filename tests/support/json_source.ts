/**
 * An oracle for lossless spec comparisons, independent of
 * `src/json_lossless.ts`: every number is kept as its exact source text, so
 * two parsed documents are equal only when every value, big integers
 * included, is written the same.
 *
 * @module
 */

import { deepStrictEqual } from "assert";

/** A JSON number as the exact text it was written with. */
export class SourceNumber {
  constructor(readonly source: string) {}
}

/**
 * Parses JSON text, turning every number into a {@linkcode SourceNumber}.
 *
 * @param text JSON text.
 * @returns The parsed tree.
 */
export function parseWithSource(text: string): unknown {
  return JSON.parse(
    text,
    // deno-lint-ignore no-explicit-any
    (_key, value, context?: any) =>
      typeof value === "number" ? new SourceNumber(context.source) : value,
  );
}

/**
 * Where `process.user` is in a tree: at `process.user` of a bundle's
 * `config.json`, at `user` of an exec process file.
 */
export type SpecKind = "config" | "process";

/**
 * Asserts that a rewritten spec equals the original in every value except
 * `additionalGids`, which must be `gids`.
 *
 * @param original The original text.
 * @param rewritten The rewritten text.
 * @param gids The list the rewrite must carry.
 * @param kind Which kind of file it is.
 */
export function assertOnlyGidsChanged(
  original: string,
  rewritten: string,
  gids: readonly number[],
  kind: SpecKind = "config",
): void {
  const expected = parseWithSource(original) as Record<string, Record<string, unknown>>;
  const user = (kind === "config" ? expected.process!.user : expected.user) as Record<
    string,
    unknown
  >;
  user.additionalGids = gids.map((gid) => new SourceNumber(String(gid)));
  deepStrictEqual(parseWithSource(rewritten), expected);
}
