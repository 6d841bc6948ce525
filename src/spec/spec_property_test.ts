import fc from "fast-check";
// Strict comparisons: Deno 2.9's named equal/deepEqual of node:assert/strict are loose.
import { deepStrictEqual as deepEqual, strictEqual as equal } from "assert";
import { gid, ociSpec } from "../../tests/support/arbitraries.ts";
import { assertOnlyGidsChanged } from "../../tests/support/json_source.ts";
import { SpecError } from "../core/errors.ts";
import { parseSpec, readAnnotations, readUser, withAdditionalGids } from "./spec.ts";

const RUNS = 10_000;

const anySpec = fc.constantFrom("config" as const, "process" as const).chain((kind) =>
  ociSpec(kind).map((spec) => ({ kind, ...spec }))
);

Deno.test("a rewrite changes additionalGids and nothing else, big integers and unknown fields included", () => {
  let cases = 0;
  let compared = 0;
  fc.assert(
    fc.property(anySpec, fc.array(gid, { maxLength: 6 }), (spec, gids) => {
      cases++;
      const path = `/bundle/${spec.kind}.json`;
      const doc = parseSpec(spec.text, { path, kind: spec.kind });
      deepEqual(readUser(doc), {
        uid: spec.uid,
        gid: spec.gid,
        additionalGids: spec.additionalGids ?? [],
      });
      const rewritten = withAdditionalGids(doc, gids);
      assertOnlyGidsChanged(spec.text, rewritten, gids, spec.kind);
      compared++;
      // The rewrite reads back as what was written, and writing it again changes nothing.
      const again = parseSpec(rewritten, { path, kind: spec.kind });
      deepEqual(readUser(again).additionalGids, gids);
      equal(withAdditionalGids(again, gids), rewritten);
    }),
    { numRuns: RUNS },
  );
  console.log(`spec property (lossless rewrite): ${cases} cases, ${compared} specs compared`);
});

/** Damages a spec text the ways a disk, a CRI bug or an attacker might. */
const damaged = fc.tuple(
  anySpec,
  fc.nat(),
  fc.constantFrom("truncate", "delete", "insert", "replace", "negate", "grow"),
  fc.constantFrom("{", "}", "[", "]", '"', ",", ":", "-", "1.5", "\\", "\u0000", "null", "1e99"),
).map(([spec, at, how, junk]) => {
  const i = spec.text.length === 0 ? 0 : at % spec.text.length;
  const text = spec.text;
  const damage = {
    truncate: () => text.slice(0, i),
    delete: () => text.slice(0, i) + text.slice(i + 1),
    insert: () => text.slice(0, i) + junk + text.slice(i),
    replace: () => text.slice(0, i) + junk + text.slice(i + 1),
    negate: () =>
      text.replace(/(\d+)/g, (digits, _m, offset: number) => offset >= i ? `-${digits}` : digits),
    grow: () =>
      text.replace(
        /(\d+)/g,
        (digits, _m, offset: number) => offset >= i ? `${digits}0000000000` : digits,
      ),
  }[how];
  return { kind: spec.kind, text: damage() };
});

Deno.test("a damaged spec is read or refused with an error naming the file, never a crash", () => {
  let cases = 0;
  let refused = 0;
  fc.assert(
    fc.property(damaged, ({ kind, text }) => {
      cases++;
      const path = `/bundle/${kind}.json`;
      try {
        const doc = parseSpec(text, { path, kind });
        if (kind === "config") readAnnotations(doc);
        readUser(doc, { optional: true });
        withAdditionalGids(doc, []);
      } catch (error) {
        if (!(error instanceof SpecError) || !error.message.startsWith(`${path}: `)) throw error;
        refused++;
      }
    }),
    { numRuns: RUNS },
  );
  console.log(`spec property (damaged specs): ${cases} cases, ${refused} refusals`);
});
