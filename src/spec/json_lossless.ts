/**
 * Lossless JSON for OCI specs. Plain `JSON.parse` rounds integers beyond
 * 2^53 (an rlimit of 18446744073709551615 becomes 18446744073709552000), so
 * every number whose text would not survive a round trip is kept as raw JSON
 * text (`JSON.rawJSON`), which `JSON.stringify` writes back verbatim.
 *
 * @module
 */

/** A number kept as its exact source text. */
export interface RawJsonNumber {
  /** The number's source text. */
  readonly rawJSON: string;
}

interface JsonWithRaw {
  rawJSON(text: string): RawJsonNumber;
  isRawJSON(value: unknown): value is RawJsonNumber;
  parse(
    text: string,
    reviver: (key: string, value: unknown, context: { source?: string }) => unknown,
  ): unknown;
}

const _json = JSON as unknown as JsonWithRaw;

/**
 * Parses JSON, keeping every number that a double cannot hold exactly as raw
 * source text.
 *
 * @param text JSON text.
 * @returns The parsed value; numbers are `number` or {@linkcode RawJsonNumber}.
 * @throws {SyntaxError} When the text is not JSON.
 *
 * @example 2^64-1 survives; plain JSON.parse would round it
 * ```ts
 * import { equal, notEqual } from "assert";
 * import { parseLossless, stringifyLossless } from "./json_lossless.ts";
 *
 * const text = '{"hard":18446744073709551615}';
 * equal(stringifyLossless(parseLossless(text)), text);
 * notEqual(JSON.stringify(JSON.parse(text)), text);
 * ```
 */
export function parseLossless(text: string): unknown {
  return _json.parse(text, (_key, value, context) => {
    if (typeof value !== "number" || context.source === undefined) return value;
    return String(value) === context.source ? value : _json.rawJSON(context.source);
  });
}

/**
 * Serialises a value produced by {@linkcode parseLossless}, writing raw
 * numbers back as their original text.
 *
 * @param value The value.
 * @returns Compact JSON text.
 *
 * @example Raw numbers are written as their text
 * ```ts
 * import { equal } from "assert";
 * import { rawNumber, stringifyLossless } from "./json_lossless.ts";
 *
 * equal(stringifyLossless({ limit: rawNumber("9223372036854775807") }), '{"limit":9223372036854775807}');
 * ```
 */
export function stringifyLossless(value: unknown): string {
  return JSON.stringify(value);
}

/**
 * Tells whether a parsed value is a number kept as raw text (one that is not
 * exactly representable, or not written in canonical form, such as `1.0`).
 *
 * @param value A parsed value.
 * @returns `true` for a raw number.
 *
 * @example
 * ```ts
 * import { equal } from "assert";
 * import { isRawNumber, parseLossless } from "./json_lossless.ts";
 *
 * const [big, small, spelled] = parseLossless("[18446744073709551615, 7, 1.0]") as unknown[];
 * equal(isRawNumber(big), true);
 * equal(isRawNumber(small), false);
 * equal(isRawNumber(spelled), true);
 * ```
 */
export function isRawNumber(value: unknown): value is RawJsonNumber {
  return _json.isRawJSON(value);
}

/**
 * Makes a number from its exact text, for writing values a double cannot hold.
 *
 * @param text A JSON number literal.
 * @returns The raw number.
 */
export function rawNumber(text: string): RawJsonNumber {
  return _json.rawJSON(text);
}
