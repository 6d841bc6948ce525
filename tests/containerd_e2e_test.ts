/**
 * End to end on a real containerd CRI (issue: prove the bypass and its
 * closing): every row of tests/e2e/scenarios.json through the baseline
 * `runc` handler, the wrapper's handler, and the wrapper handing off to crun
 * (expected to behave as the wrapper over runc). Also run alone by `make e2e`.
 */

import { deepEqual, equal, match } from "assert";
import { decisions, have } from "./support/wrapper.ts";
import { mountsBelow } from "./e2e/containerd.ts";
import { CRUN_HANDLER, E2e, HANDLERS, type Outcome, TABLE } from "./e2e/scenarios.ts";
import { announceCrunBlocker } from "./support/crun.ts";

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
          console.log(`row ${index + 1} ${handler}: ${describe(outcome)}`);
        }
        equal(outcome.sandboxReady, true, "the pod sandbox starts on every handler");
        const expected = row
          .expect[handler === CRUN_HANDLER ? "strict-supplementalgroups" : handler]!;
        if (typeof expected === "string") {
          const { kubeletRequests, same, ...seen } = outcome as Outcome & { kind: "ran" };
          deepEqual(seen, { kind: "ran", create: expected, exec: expected, sandboxReady: true });
          equal(same, true, "the second container and every exec show the same identity");
          // The sandbox's create fetched the Pod; its containers and execs found it in the cache.
          equal(kubeletRequests, handler === "runc" ? 0 : 1, "kubelet requests for the Pod");
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
  return `create "${outcome.create}" exec "${outcome.exec}" (same in both containers and ` +
    `6 execs: ${outcome.same}; kubelet requests: ${outcome.kubeletRequests})`;
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
