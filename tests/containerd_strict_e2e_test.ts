/**
 * The wrapper beside containerd's own `supplementalGroupsPolicy: Strict`
 * (KEP-3619, containerd 2.0 and later), on every node of the runtime matrix
 * whose containerd has it. Each row of tests/e2e/scenarios.json runs:
 *
 * - on the bare runc handler with the Pod at Strict, as the kubelet sends it
 *   (the sandbox's and each container's CRI security context): native Strict;
 * - through the wrapper over runc and over crun with the Pod left at Merge:
 *   the container, its second container and every exec must show the very
 *   same `id` as native Strict, unless the row says why not (the wrapper's
 *   own deny and audit modes);
 * - through the wrapper with the Pod at Strict: the CRI already left the
 *   image's groups out, so the wrapper changes nothing, and records that.
 */

import { deepEqual, equal } from "assert";
import {
  assertOutcome,
  describeOutcome,
  E2e,
  e2eBlocker,
  type Outcome,
  TABLE,
  worldChecks,
} from "./e2e/scenarios.ts";
import { expectation, kubeletRequests, strictExpectation, WRAPPERS } from "./e2e/table.ts";
import { announceCrunBlocker } from "./support/crun.ts";
import { describeNode, matrixNodes } from "./support/runtimes.ts";
import { decisions } from "./support/wrapper.ts";

const skip = await e2eBlocker();
if (skip !== undefined) console.error(`\n*** SKIPPED: native Strict e2e: ${skip} ***\n`);
const crunSkip = skip ?? await announceCrunBlocker("native Strict e2e via crun");

const strictNodes = (await matrixNodes()).filter((node) => node.pins.containerd.startsWith("2."));
if (strictNodes.length === 0) {
  console.error("\n*** SKIPPED: native Strict e2e: no containerd 2.x in tools/runtimes.json ***\n");
}

for (const node of strictNodes) {
  const blocker = skip ?? node.blocker;
  if (skip === undefined && node.blocker !== undefined) {
    console.error(`\n*** SKIPPED: native Strict e2e on ${node.name}: ${node.blocker} ***\n`);
  }
  const label = `native Strict beside the wrapper, ${describeNode(node)}`;
  const options = { ignore: blocker !== undefined, sanitizeResources: false, sanitizeOps: false };
  let world: Promise<E2e> | undefined;
  const counts = { equal: 0, differ: 0 };

  for (const [index, row] of TABLE.rows.entries()) {
    Deno.test({
      ...options,
      name: `${label}: row ${index + 1} (${row.name}): the wrapper (Pod at Merge) shows what ` +
        "native Strict shows, and changes nothing for a Strict Pod",
      fn: async () => {
        world ??= E2e.start(node);
        const e2e = await world;
        const run = async (handler: string, strict: boolean): Promise<Outcome> => {
          const tag = strict ? "strict" : "merge";
          let outcome: Outcome | undefined;
          try {
            outcome = await e2e.run(row, index, handler, { strict, tag });
          } finally {
            console.log(
              `${node.name} row ${index + 1} ${handler} (${tag}): ${describeOutcome(outcome)}`,
            );
          }
          return outcome;
        };
        const native = await run("runc", true);
        assertOutcome(native, strictExpectation(row), 0);
        const wrappers = WRAPPERS.filter((h) => crunSkip === undefined || !h.endsWith("crun"));
        for (const handler of wrappers) {
          const merged = await run(handler, false);
          if (row.strictDiffers === undefined) {
            // The same identity in the first container, the second and every exec.
            deepEqual(_identity(merged), _identity(native), `${handler} at Merge vs native Strict`);
          } else {
            assertOutcome(
              merged,
              expectation(row, handler, "kubelet"),
              kubeletRequests(row, handler),
            );
            console.log(
              `${node.name} row ${index + 1}: differs from native Strict: ${row.strictDiffers}`,
            );
          }
          // A Strict Pod: containerd left the image's groups out; the wrapper must keep its hands off.
          const strict = await run(handler, true);
          deepEqual(_identity(strict), _identity(native), `${handler} on a Strict Pod`);
          const home = handler.endsWith("crun") ? `${e2e.dir}/crun-wrapper` : e2e.dir;
          const records = (await decisions(home)).filter((r) =>
            r.msg === "decision" && r.gids !== undefined &&
            (r.pod as { name: string }).name === `row${index + 1}-${handler}-strict`
          );
          equal(records.length > 0, true, "the wrapper judged the Strict Pod's containers");
          deepEqual(
            [...new Set(records.map((r) => `${r.verdict} ${JSON.stringify(r.gids)}`))]
              .filter((v) => !v.startsWith("unchanged ")),
            [],
            "every record of the Strict Pod says unchanged",
          );
          equal(records.some((r) => (r.gids as { dropped: number[] }).dropped.length > 0), false);
        }
        if (row.strictDiffers === undefined) counts.equal++;
        else counts.differ++;
      },
    });
  }

  worldChecks({
    label,
    options,
    world: () => world,
    prefix: node.name,
    judged: false,
    summary: () =>
      `e2e summary ${describeNode(node)}, native Strict: ${counts.equal} rows identical to the ` +
      `wrapper at Merge, ${counts.differ} differing by the row's reason; every Strict Pod ` +
      "left unchanged by the wrapper",
  });
}

/** What a run showed, without its kubelet request count (the handlers differ in lookups). */
function _identity(outcome: Outcome): Omit<Outcome, "kubeletRequests"> {
  const { kubeletRequests: _, ...rest } = outcome as Outcome & { kubeletRequests?: number };
  return rest;
}
