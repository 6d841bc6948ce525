/**
 * End to end on a real containerd CRI (issue: prove the bypass and its
 * closing): every row of tests/e2e/scenarios.json through the baseline
 * `runc` handler and the wrapper's handler. Also run alone by `make e2e`.
 */

import { deepEqual, equal, match } from "assert";
import { have } from "./support/wrapper.ts";
import { mountsBelow } from "./e2e/containerd.ts";
import { E2e, HANDLERS, type Outcome, TABLE } from "./e2e/scenarios.ts";

async function blocker(): Promise<string | undefined> {
  if (Deno.uid() !== 0) return "not root";
  for (
    const [tool, args] of [
      ["containerd", ["--version"]],
      ["ctr", ["--version"]],
      ["umoci", ["--version"]],
      ["runc", ["--version"]],
      ["openssl", ["version"]],
    ] as const
  ) {
    if (!await have(tool, [...args])) return `${tool} is not installed`;
  }
  return undefined;
}

const skip = await blocker();
if (skip !== undefined) console.error(`\n*** SKIPPED: containerd e2e: ${skip} ***\n`);

let world: Promise<E2e> | undefined;
const options = { ignore: skip !== undefined, sanitizeResources: false, sanitizeOps: false };

for (const [index, row] of TABLE.rows.entries()) {
  for (const handler of HANDLERS) {
    Deno.test({
      ...options,
      name: `e2e row ${index + 1} (${row.name}) via ${handler}`,
      fn: async () => {
        world ??= E2e.start();
        const e2e = await world;
        let outcome: Outcome | undefined;
        try {
          outcome = await e2e.run(row, index, handler);
        } finally {
          console.log(`row ${index + 1} ${handler}: ${describe(outcome)}`);
        }
        equal(outcome.sandboxReady, true, "the pod sandbox starts on every handler");
        const expected = row.expect[handler]!;
        if (typeof expected === "string") {
          deepEqual(outcome, { kind: "ran", create: expected, exec: expected, sandboxReady: true });
        } else {
          equal(outcome.kind, "refused");
          match((outcome as { error: string }).error, new RegExp(escape(expected.error)));
        }
      },
    });
  }
}

Deno.test({
  ...options,
  name: "e2e leaves nothing running or mounted",
  fn: async () => {
    if (world === undefined) return;
    const e2e = await world;
    await e2e.stop();
    const alive = await new Deno.Command("bash", {
      args: [
        "-c",
        `kill -0 ${e2e.containerd.pid} 2>/dev/null && echo alive; pgrep -f -- "-address ${e2e.dir}/containerd[.]sock" || true`,
      ],
    }).output();
    equal(new TextDecoder().decode(alive.stdout).trim(), "");
    deepEqual(await mountsBelow(e2e.dir), []);
    await Deno.remove(e2e.dir, { recursive: true });
  },
});

function describe(outcome: Outcome | undefined): string {
  if (outcome === undefined) return "FAILED before an outcome";
  if (outcome.kind === "refused") return `refused: ${outcome.error}`;
  return `create "${outcome.create}" exec "${outcome.exec}"`;
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
