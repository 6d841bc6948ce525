/**
 * The assertions every test imports as `"assert"`: node's strict ones.
 * Deno 2.9.6 exports the *loose* `equal` and `deepEqual` by name from
 * `node:assert/strict` (only its default export is strict), so
 * `equal(1, "1")` would pass; this module takes them from the strict object.
 *
 * @module
 */

import strict from "node:assert/strict";

export const {
  deepEqual,
  deepStrictEqual,
  doesNotMatch,
  equal,
  match,
  notEqual,
  ok,
  rejects,
  strictEqual,
  throws,
} = strict;
