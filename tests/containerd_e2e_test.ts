/**
 * End to end on real containerd CRIs, the kubelet (stand-in) as the
 * wrapper's source: every row of tests/e2e/scenarios.json on every node of
 * the runtime matrix (tools/runtimes.json: containerd 1.6, 1.7 and 2.x,
 * each with its own suite's runc and crun), through the bare runc and crun
 * handlers (the controls: what the CRI alone does) and the wrapper over
 * each. Also run alone by `make e2e`.
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
import { CONTROLS, expectation, kubeletRequests, WRAPPERS } from "./e2e/table.ts";
import { announceCrunBlocker } from "./support/crun.ts";
import { describeNode, matrixNodes } from "./support/runtimes.ts";
import { decisions } from "./support/wrapper.ts";

const skip = await e2eBlocker();
if (skip !== undefined) console.error(`\n*** SKIPPED: containerd e2e: ${skip} ***\n`);
const crunSkip = skip ?? await announceCrunBlocker("containerd e2e via crun");

for (const node of await matrixNodes()) {
  const blocker = skip ?? node.blocker;
  if (skip === undefined && node.blocker !== undefined) {
    console.error(`\n*** SKIPPED: containerd e2e on ${node.name}: ${node.blocker} ***\n`);
  }
  const label = `e2e ${describeNode(node)}`;
  const options = { ignore: blocker !== undefined, sanitizeResources: false, sanitizeOps: false };
  let world: Promise<E2e> | undefined;
  const counts = { passed: 0, rows: 0 };

  for (const [index, row] of TABLE.rows.entries()) {
    for (const handler of [...CONTROLS, ...WRAPPERS]) {
      const crun = handler.endsWith("crun");
      Deno.test({
        ...options,
        ignore: crun ? blocker !== undefined || crunSkip !== undefined : options.ignore,
        name: `${label}: row ${index + 1} (${row.name}) via ${handler}`,
        fn: async () => {
          world ??= E2e.start(node);
          const e2e = await world;
          counts.rows++;
          let outcome: Outcome | undefined;
          try {
            outcome = await e2e.run(row, index, handler);
          } finally {
            console.log(`${node.name} row ${index + 1} ${handler}: ${describeOutcome(outcome)}`);
          }
          assertOutcome(
            outcome,
            expectation(row, handler, "kubelet"),
            kubeletRequests(row, handler),
          );
          counts.passed++;
        },
      });
    }
  }

  Deno.test({
    ...options,
    name: `${label}: every exec through containerd's shim found its bundle from the shim's ` +
      "pid file, and the crun handler's wrapper handed off to crun",
    fn: async () => {
      if (world === undefined) return;
      const e2e = await world;
      const execs = [
        ...await decisions(e2e.dir),
        ...await decisions(`${e2e.dir}/crun-wrapper`),
      ].filter((r) => r.msg === "exec bundle");
      equal(execs.length > 0, true, "execs went through the wrapper");
      deepEqual(execs.filter((r) => r.from !== "pid-file"), []);
      if (crunSkip === undefined) {
        const crunDecisions = (await decisions(`${e2e.dir}/crun-wrapper`)).filter((r) =>
          r.msg === "decision" && r.command === "create"
        );
        equal(crunDecisions.length > 0, true, "the crun handler went through the wrapper");
        equal(await Deno.stat(`${e2e.dir}/crun/k8s.io`).then((i) => i.isDirectory), true);
      }
      console.log(`${node.name}: ${execs.length} execs, every bundle from containerd's --pid-file`);
    },
  });

  worldChecks({
    label,
    options,
    world: () => world,
    prefix: node.name,
    judged: true,
    summary: () =>
      `e2e summary ${describeNode(node)}, kubelet source: ${counts.passed} of ${counts.rows} ` +
      "row runs passed (runc, crun, and the wrapper over each)",
  });
}
