/**
 * TOML parsed into plain objects, for strict deep comparisons in tests:
 * smol-toml's tables have no prototype, which `deepStrictEqual` tells
 * apart from an object literal.
 *
 * @module
 */

import { parse } from "toml";

/**
 * Parses TOML into plain JSON values.
 *
 * @param text The TOML text.
 * @returns Its tables as ordinary objects.
 */
// deno-lint-ignore no-explicit-any
export function parsePlainToml(text: string): any {
  return JSON.parse(JSON.stringify(parse(text)));
}
