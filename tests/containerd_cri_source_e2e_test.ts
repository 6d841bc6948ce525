/**
 * containerd's CRI as the source of a container's groups, end to end, on
 * every node of the runtime matrix (containerd 1.6, 1.7 and 2.x): the
 * scenario table through the wrapper over runc and over crun with the
 * kubelet stand-in stopped, so every create and exec that needs the Pod
 * is decided on what containerd's CRI holds for the container (a
 * PersistentVolume's gid included) with no network request. Each node's
 * containerd in turn listens on the node's default socket, the one path
 * the wrapper's permission set lets it connect to. Also run by `make e2e`.
 */

import { deepEqual, equal } from "assert";
import {
  assertOutcome,
  describeOutcome,
  E2e,
  e2eBlocker,
  judgedRecords,
  type Outcome,
  TABLE,
  worldChecks,
} from "./e2e/scenarios.ts";
import { expectation, WRAPPERS } from "./e2e/table.ts";
import { defaultSocketBlocker } from "./support/host.ts";
import { announceCrunBlocker } from "./support/crun.ts";
import { describeNode, matrixNodes } from "./support/runtimes.ts";

const skip = (await e2eBlocker()) ?? (await defaultSocketBlocker());
if (skip !== undefined) console.error(`\n*** SKIPPED: containerd CRI-source e2e: ${skip} ***\n`);
const crunSkip = skip ?? await announceCrunBlocker("containerd CRI-source e2e via crun");

for (const node of await matrixNodes()) {
  const blocker = skip ?? node.blocker;
  if (skip === undefined && node.blocker !== undefined) {
    console.error(
      `\n*** SKIPPED: containerd CRI-source e2e on ${node.name}: ${node.blocker} ***\n`,
    );
  }
  const label = `CRI source, kubelet down, ${describeNode(node)}`;
  const options = { ignore: blocker !== undefined, sanitizeResources: false, sanitizeOps: false };
  let world: Promise<E2e> | undefined;
  const counts = { passed: 0, rows: 0 };

  for (const [index, row] of TABLE.rows.entries()) {
    for (const handler of WRAPPERS) {
      Deno.test({
        ...options,
        ignore: handler.endsWith("crun")
          ? blocker !== undefined || crunSkip !== undefined
          : options.ignore,
        name: `${label}: row ${index + 1} (${row.name}) via ${handler}`,
        fn: async () => {
          world ??= E2e.start(node, { criSource: true });
          const e2e = await world;
          counts.rows++;
          let outcome: Outcome | undefined;
          try {
            outcome = await e2e.run(row, index, handler);
          } finally {
            console.log(
              `${node.name} CRI source row ${index + 1} ${handler}: ${describeOutcome(outcome)}`,
            );
          }
          assertOutcome(outcome, expectation(row, handler, "cri"), 0);
          counts.passed++;
        },
      });
    }
  }

  Deno.test({
    ...options,
    name: `${label}: creates asked containerd's CRI, execs needed no lookup or found the ` +
      "container cache, nothing asked the kubelet",
    fn: async () => {
      if (world === undefined) return;
      const e2e = await world;
      const judged = await judgedRecords(e2e);
      const by = (command: string) =>
        [...new Set(judged.filter((r) => r.command === command).map((r) => r.source))].sort();
      // The row whose image grants nothing asked no source at all ("image").
      deepEqual(by("create"), ["containerd", "image"]);
      // An exec asks only when its process file carries a gid the create found in the image.
      equal(by("exec").every((source) => source === "cache" || source === "image"), true);
      equal(by("exec").includes("cache"), true, "alice's execs found the container cache");
      // containerd wrote the image's name into each container's spec, and every record names it.
      deepEqual([...new Set(judged.map((r) => r.image))], [e2e.image]);
      const stored = await Array.fromAsync(Deno.readDir(`${e2e.dir}/state/containers`));
      equal(stored.length > 0, true, "the container cache holds the CRI's answers");
      equal(e2e.kubelet.clients.length, 0, "no request reached the kubelet stand-in");
      const count = (command: string) => judged.filter((r) => r.command === command).length;
      console.log(
        `${node.name} CRI source: ${count("create")} creates, ${count("exec")} execs, ` +
          "0 kubelet requests",
      );
    },
  });

  worldChecks({
    label,
    options,
    world: () => world,
    prefix: `${node.name} CRI source`,
    judged: true,
    summary: () =>
      `e2e summary ${describeNode(node)}, containerd's CRI source: ${counts.passed} of ` +
      `${counts.rows} row runs passed (the wrapper over runc and over crun)`,
  });
}
