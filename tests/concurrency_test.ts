/**
 * Concurrency (docs/design.md, the log): 100 creates at once through the shipped wrapper,
 * on distinct bundles, with real runc and one shared decision log that is
 * one decision away from its size limit, so that it rotates under the load.
 * Every container is created with the right spec, and the log files hold one
 * whole JSON line per decision and every earlier line, none lost.
 */

// Strict comparisons: Deno 2.9's named equal/deepEqual of node:assert/strict are loose.
import { deepStrictEqual as deepEqual, strictEqual as equal } from "assert";
import { containerdAnnotations, makeBundle } from "./support/bundle.ts";
import { assertOnlyGidsChanged } from "./support/json_source.ts";
import { alicePod, podFixture, startKubelet } from "./support/kubelet_standin.ts";
import {
  announceRootTestsBlocker,
  inPool,
  listDir,
  runcDeleteAll,
  runcStatus,
  spawnWrapper,
  writeConfig,
} from "./support/wrapper.ts";
import { makeWorld } from "./support/world.ts";

const blocker = await announceRootTestsBlocker("concurrency tests");

const CREATES = 100;
const MAX_LOG_BYTES = 1024 * 1024;
/** Room left in the log before it must rotate: fewer bytes than the 100 decisions need. */
const HEADROOM = 24 * 1024;

Deno.test({
  name: "100 concurrent creates all succeed and the rotating log keeps one whole line per decision",
  ignore: blocker !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const w = await makeWorld("ssgcr-concurrency-");
    const original = await makeBundle(`${w.dir}/template`, {
      rootfs: w.rootfs,
      args: ["sleep", "60"],
      annotations: containerdAnnotations(),
    });
    const config = await writeConfig(w.dir, w.pki, [
      // Generous for 100 TLS handshakes on 2 cores, yet bounded.
      "kubelet-timeout-seconds = 60",
      "[logging.rotation]",
      "max-size-in-mb = 1",
    ]);
    // Earlier lines fill the log to just below its limit.
    const earlier: string[] = [];
    let size = 0;
    while (size < MAX_LOG_BYTES - HEADROOM) {
      const line = JSON.stringify({ level: "info", msg: "earlier", n: earlier.length });
      earlier.push(line);
      size += line.length + 1;
    }
    await Deno.writeTextFile(`${w.dir}/wrapper.log`, earlier.map((l) => `${l}\n`).join(""));
    const ids = Array.from({ length: CREATES }, (_, n) => `ssgcr-conc-${Deno.pid}-${n}`);
    for (const id of ids) {
      await Deno.mkdir(`${w.dir}/${id}`);
      await Deno.writeTextFile(`${w.dir}/${id}/config.json`, original);
    }
    // A node's worth of Pods: every wrapper's answer refreshes the same 200 cache entries.
    const kubelet = await startKubelet(w.pki, [
      alicePod(),
      ...Array.from(
        { length: 199 },
        (_, i) => podFixture({ name: `pod-${i}`, uid: crypto.randomUUID() }),
      ),
    ]);
    try {
      const started = performance.now();
      const codes = await Promise.all(ids.map(async (id) => {
        const child = spawnWrapper(
          ["--root", w.root, "create", "--bundle", `${w.dir}/${id}`, id],
          { config },
        );
        return (await child.status).code;
      }));
      const elapsed = Math.round(performance.now() - started);
      deepEqual(codes, ids.map(() => 0));

      let compared = 0;
      for (const id of ids) {
        assertOnlyGidsChanged(
          original,
          await Deno.readTextFile(`${w.dir}/${id}/config.json`),
          [1000, 60000],
        );
        compared++;
        deepEqual(await listDir(`${w.dir}/${id}`), ["config.json"]);
      }
      const states = await inPool(ids.length, 4, (n) => runcStatus(w.root, ids[n]!));
      deepEqual(states, ids.map(() => "created"));

      // The log and its backups: whole JSON lines only, each earlier line and each decision once.
      const files = (await listDir(w.dir)).filter((name) => /^wrapper(-.*)?\.log$/.test(name));
      const lines: string[] = [];
      for (const name of files) {
        const text = await Deno.readTextFile(`${w.dir}/${name}`);
        equal(text.endsWith("\n"), true, `${name} ends with a whole line`);
        equal(text.length <= MAX_LOG_BYTES, true, `${name} is within max-size-in-mb`);
        lines.push(...text.split("\n").slice(0, -1));
      }
      const records = lines.map((line) => JSON.parse(line));
      const earlierSeen = records.filter((r) => r.msg === "earlier").map((r) => r.n);
      deepEqual(earlierSeen.sort((a, b) => a - b), earlier.map((_, n) => n));
      const decided = records.filter((r) => r.msg === "decision");
      deepEqual(decided.map((r) => r.container).sort(), [...ids].sort());
      for (const r of decided) deepEqual(r.gids.after, [1000, 60000]);
      equal(records.length, earlier.length + CREATES, "no other line");
      equal(files.length >= 2, true, `the log rotated under the load: ${files.join(", ")}`);

      // The pod cache the 100 wrappers read and refreshed at once: whole entries only.
      const entries = await listDir(`${w.dir}/state/pods`);
      equal(entries.length, 200, entries.filter((name) => !name.endsWith(".json")).join(", "));
      for (const name of entries) {
        const entry = JSON.parse(await Deno.readTextFile(`${w.dir}/state/pods/${name}`));
        equal(`${entry.facts.uid}.json`, name);
      }
      const sources = decided.map((r) => r.source);
      equal(sources.every((s) => s === "kubelet" || s === "cache"), true);

      console.log(
        `concurrency: ${CREATES} concurrent creates in ${elapsed} ms, ${compared} specs ` +
          `compared, ${decided.length} decision lines + ${earlierSeen.length} earlier lines ` +
          `in ${files.length} files (${files.length - 1} rotations), 0 lost, 0 malformed; ` +
          `${sources.filter((s) => s === "cache").length} answered from the pod cache, ` +
          `${entries.length} whole entries`,
      );
    } finally {
      await kubelet.close();
      await runcDeleteAll(w.root);
      await Deno.remove(w.dir, { recursive: true });
    }
  },
});
