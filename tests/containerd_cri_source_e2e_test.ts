/**
 * containerd's CRI as the source of a container's groups, end to end: the
 * scenario table through the wrapper's handlers with the kubelet stand-in
 * stopped, so every create and exec is decided on what containerd's CRI
 * holds for the container (a PersistentVolume's gid included) with no
 * network request. containerd listens on the node's default socket, the one
 * path the wrapper's permission set lets it connect to. Also run by
 * `make e2e`.
 */

import { deepEqual, equal } from "assert";
import {
  assertLookups,
  assertOutcome,
  assertStopsClean,
  CRUN_HANDLER,
  describeOutcome,
  E2e,
  e2eBlocker,
  type Outcome,
  TABLE,
} from "./e2e/scenarios.ts";
import { expectation } from "./e2e/table.ts";
import { defaultSocketBlocker } from "./support/host.ts";
import { announceCrunBlocker } from "./support/crun.ts";
import { decisions } from "./support/wrapper.ts";

const skip = (await e2eBlocker()) ?? (await defaultSocketBlocker());
if (skip !== undefined) console.error(`\n*** SKIPPED: containerd CRI-source e2e: ${skip} ***\n`);
const crunSkip = skip ?? await announceCrunBlocker("containerd CRI-source e2e via crun");

let world: Promise<E2e> | undefined;
const options = { ignore: skip !== undefined, sanitizeResources: false, sanitizeOps: false };

for (const [index, row] of TABLE.rows.entries()) {
  for (const handler of ["strict-supplementalgroups", CRUN_HANDLER]) {
    Deno.test({
      ...options,
      ignore: handler === CRUN_HANDLER ? crunSkip !== undefined : options.ignore,
      name: `CRI source, kubelet down: row ${index + 1} (${row.name}) via ${handler}`,
      fn: async () => {
        world ??= E2e.start({ criSource: true, crun: crunSkip === undefined });
        const e2e = await world;
        let outcome: Outcome | undefined;
        try {
          outcome = await e2e.run(row, index, handler);
        } finally {
          console.log(`CRI source row ${index + 1} ${handler}: ${describeOutcome(outcome)}`);
        }
        assertOutcome(outcome, expectation(row, handler, "cri"), 0);
      },
    });
  }
}

Deno.test({
  ...options,
  name: "CRI source: an image that grants the user no group is decided with no Pod lookup, by " +
    "every create and exec; alice's creates asked for her Pod",
  fn: async () => {
    if (world === undefined) return;
    const checked = await assertLookups(await world);
    console.log(`CRI source: ${checked} judged records checked for where their groups came from`);
  },
});

Deno.test({
  ...options,
  name: "CRI source: creates asked containerd's CRI, execs found the container cache, " +
    "nothing asked the kubelet",
  fn: async () => {
    if (world === undefined) return;
    const e2e = await world;
    const logs = [e2e.dir, ...e2e.withCrun ? [`${e2e.dir}/crun-wrapper`] : []];
    const judged = (await Promise.all(logs.map(decisions))).flat()
      .filter((r) => r.msg === "decision" && r.source !== undefined);
    const by = (command: string) =>
      [...new Set(judged.filter((r) => r.command === command).map((r) => r.source))].sort();
    // (The row whose image grants nothing asked no source at all: "image".)
    deepEqual(by("create"), ["containerd", "image"]);
    deepEqual(by("exec"), ["cache", "image"]);
    // containerd wrote the image's name into each container's spec, and every record names it.
    deepEqual([...new Set(judged.map((r) => r.image))], [e2e.image]);
    const stored = await Array.fromAsync(Deno.readDir(`${e2e.dir}/state/containers`));
    equal(stored.length > 0, true, "the container cache holds the CRI's answers");
    equal(e2e.kubelet.clients.length, 0, "no request reached the kubelet stand-in");
    const count = (command: string) => judged.filter((r) => r.command === command).length;
    console.log(
      `CRI source: ${count("create")} creates from containerd's CRI, ${count("exec")} execs ` +
        `from the container cache, 0 kubelet requests`,
    );
  },
});

Deno.test({
  ...options,
  name: "CRI source e2e leaves nothing running or mounted",
  fn: async () => {
    if (world === undefined) return;
    await assertStopsClean(await world);
  },
});
