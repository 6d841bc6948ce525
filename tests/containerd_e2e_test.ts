/**
 * End to end on a real containerd CRI (issue: prove the bypass and its
 * closing): every row of tests/e2e/scenarios.json through the baseline
 * `runc` handler, the wrapper's handler, and the wrapper handing off to crun
 * (expected to behave as the wrapper over runc). Also run alone by `make e2e`.
 */

import { deepEqual, equal } from "assert";
import { decisions } from "./support/wrapper.ts";
import {
  assertLookups,
  assertOutcome,
  assertStopsClean,
  CRUN_HANDLER,
  describeOutcome,
  E2e,
  e2eBlocker,
  HANDLERS,
  type Outcome,
  TABLE,
} from "./e2e/scenarios.ts";
import { expectation } from "./e2e/table.ts";
import { announceCrunBlocker } from "./support/crun.ts";

const skip = await e2eBlocker();
if (skip !== undefined) console.error(`\n*** SKIPPED: containerd e2e: ${skip} ***\n`);
const crunSkip = skip ?? await announceCrunBlocker("containerd e2e via crun");

let world: Promise<E2e> | undefined;
const options = { ignore: skip !== undefined, sanitizeResources: false, sanitizeOps: false };

for (const [index, row] of TABLE.rows.entries()) {
  for (const handler of [...HANDLERS, CRUN_HANDLER]) {
    Deno.test({
      ...options,
      ignore: handler === CRUN_HANDLER ? crunSkip !== undefined : options.ignore,
      name: `e2e row ${index + 1} (${row.name}) via ${handler}`,
      fn: async () => {
        world ??= E2e.start({ crun: crunSkip === undefined });
        const e2e = await world;
        let outcome: Outcome | undefined;
        try {
          outcome = await e2e.run(row, index, handler);
        } finally {
          console.log(`row ${index + 1} ${handler}: ${describeOutcome(outcome)}`);
        }
        // The sandbox's create fetched the Pod; its containers and execs found it in the cache.
        assertOutcome(outcome, expectation(row, handler, "kubelet"), handler === "runc" ? 0 : 1);
      },
    });
  }
}

Deno.test({
  ...options,
  name: "e2e: every exec through containerd's shim found its bundle from the shim's pid file",
  fn: async () => {
    if (world === undefined) return;
    const e2e = await world;
    const execs = [
      ...await decisions(e2e.dir),
      ...await decisions(`${e2e.dir}/crun-wrapper`),
    ].filter((r) => r.msg === "exec bundle");
    equal(execs.length > 0, true, "execs went through the wrapper");
    deepEqual(execs.filter((r) => r.from !== "pid-file"), []);
    if (e2e.withCrun) {
      // The crun handler's wrapper decided (its own log) and crun ran (its own root).
      const crunDecisions = (await decisions(`${e2e.dir}/crun-wrapper`)).filter((r) =>
        r.msg === "decision" && r.command === "create"
      );
      equal(crunDecisions.length > 0, true, "the crun handler went through the wrapper");
      equal(await Deno.stat(`${e2e.dir}/crun/k8s.io`).then((i) => i.isDirectory), true);
    }
    console.log(`e2e: ${execs.length} execs, every bundle from containerd's --pid-file`);
  },
});

Deno.test({
  ...options,
  name: "e2e: an image that grants the user no group is decided with no Pod lookup, by " +
    "every create and exec; alice's creates asked for her Pod",
  fn: async () => {
    if (world === undefined) return;
    const checked = await assertLookups(await world);
    console.log(`e2e: ${checked} judged records checked for where their groups came from`);
  },
});

Deno.test({
  ...options,
  name: "e2e leaves nothing running or mounted",
  fn: async () => {
    if (world === undefined) return;
    await assertStopsClean(await world);
  },
});
