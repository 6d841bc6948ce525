/**
 * Durations as `--since` takes them: Go's `time.ParseDuration` units that
 * make sense for a log (`s`, `m`, `h`) and days (`d`), combined: `90m`,
 * `1h30m`, `7d`.
 *
 * @module
 */

const UNIT_MS: Readonly<Record<string, number>> = {
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/**
 * Parses a duration.
 *
 * @param text The duration.
 * @returns Milliseconds, or `undefined` when the text is not a duration.
 *
 * @example
 * ```ts
 * import { equal } from "assert";
 * import { parseDuration } from "./duration.ts";
 *
 * equal(parseDuration("1h30m"), 5_400_000);
 * equal(parseDuration("7d"), 604_800_000);
 * equal(parseDuration("1.5h"), 5_400_000);
 * equal(parseDuration("yesterday"), undefined);
 * equal(parseDuration(""), undefined);
 * ```
 */
export function parseDuration(text: string): number | undefined {
  if (!/^(\d+(\.\d+)?[smhd])+$/.test(text)) return undefined;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(/(\d+(?:\.\d+)?)([smhd])/g)) {
    total += Number(amount) * UNIT_MS[unit!]!;
  }
  return total;
}
