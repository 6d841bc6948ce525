/**
 * Crash safety of the spec rewrite (docs/design.md): the shipped wrapper is
 * SIGKILLed at random moments of real creates (no fault hooks in the
 * product). Every spec afterwards is either the original or the complete
 * rewrite, never torn; the decision log holds only whole lines; and the
 * temp files a kill leaves behind are ignored by the next run, which writes
 * the complete rewrite.
 */

// Strict comparisons: Deno 2.9's named equal/deepEqual of node:assert/strict are loose.
import { deepStrictEqual as deepEqual, strictEqual as equal } from "assert";
import { TEMP_TAG } from "../src/spec/atomic_write.ts";
import { containerdAnnotations, makeBundle } from "./support/bundle.ts";
import { alicePod, podFixture, startKubelet } from "./support/kubelet_standin.ts";
import {
  announceRootTestsBlocker,
  inPool,
  listDir,
  runcDelete,
  runcDeleteAll,
  runcStatus,
  spawnWrapper,
  waitFor,
} from "./support/wrapper.ts";
import { makeWorld, type World } from "./support/world.ts";

const blocker = await announceRootTestsBlocker("crash safety tests");

const KILLS = 300;
const PADDING = 512 * 1024;
/** Kills during pod cache refreshes. */
const CACHE_KILLS = 100;
const WORKERS = 3;
const POD = alicePod();
const POD_UID = (POD.metadata as { uid: string }).uid;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Run {
  /** How the wrapper ended: killed, or exited with this code before the kill. */
  readonly ended: "killed" | number;
  /** Milliseconds from the spawn to the spec's replacement (mtime), when it was replaced. */
  readonly replacedAfterMs: number | undefined;
  readonly spec: string;
  /** Names left in the bundle besides config.json. */
  readonly strays: string[];
}

/** One create on a fresh copy of the original bundle, SIGKILLed after `delayMs` (if still running). */
async function create(w: World, n: number, original: string, delayMs: number): Promise<Run> {
  const bundle = `${w.dir}/bundle-${n}`;
  const id = `ssgcr-crash-${Deno.pid}-${n}`;
  await Deno.mkdir(bundle, { recursive: true });
  await Deno.writeTextFile(`${bundle}/config.json`, original);
  const started = Date.now();
  const child = spawnWrapper(["--root", w.root, "create", "--bundle", bundle, id], {
    config: w.config,
  });
  if (Number.isFinite(delayMs)) {
    await sleep(delayMs);
    try {
      child.kill("SIGKILL");
    } catch {
      // It had already exited.
    }
  }
  const status = await child.status;
  // A killed wrapper may have handed off already: let that runc finish, then remove its container.
  await waitFor(`runc create ${id} to finish`, async () => {
    const out = await new Deno.Command("pgrep", { args: ["-f", ` ${id}$`] }).output();
    return out.code === 1;
  });
  await runcDelete(w.root, id);
  const info = await Deno.stat(`${bundle}/config.json`);
  const spec = await Deno.readTextFile(`${bundle}/config.json`);
  return {
    ended: status.signal === "SIGKILL" ? "killed" : status.code,
    replacedAfterMs: spec === original ? undefined : info.mtime!.getTime() - started,
    spec,
    strays: (await listDir(bundle)).filter((name) => name !== "config.json"),
  };
}

Deno.test({
  name: "a wrapper killed at any moment of create leaves the original or the complete rewrite",
  ignore: blocker !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const w = await makeWorld("ssgcr-crash-");
    const original = await makeBundle(`${w.dir}/template`, {
      rootfs: w.rootfs,
      args: ["sleep", "60"],
      // A large spec (an annotation of 512 KiB) widens the moments when a kill lands mid-write.
      annotations: containerdAnnotations({ "example.com/padding": "x".repeat(PADDING) }),
    });
    const kubelet = await startKubelet(w.pki, [POD]);
    try {
      // Calibration, at the same concurrency: uninterrupted creates give the complete rewrite,
      // the run time and when the spec is replaced.
      const calm = await inPool(
        WORKERS * 2,
        WORKERS,
        (n) => create(w, 10_000 + n, original, Infinity),
      );
      for (const run of calm) equal(run.ended, 0);
      const rewrite = calm[0]!.spec;
      equal(rewrite.includes('"additionalGids":[1000,60000]'), true);
      for (const run of calm) deepEqual([run.spec, run.strays], [rewrite, []]);
      const replaced = calm.map((run) => run.replacedAfterMs!);
      const window = { from: Math.min(...replaced) - 15, to: Math.max(...replaced) + 10 };
      console.log(`calibration: spec replaced ${replaced.join(",")} ms after the spawn`);
      const span = Math.max(...replaced) * 1.5;

      // Half the kills land anywhere in the run, half around the moment of the rewrite.
      const runs = await inPool(KILLS, WORKERS, (n) => {
        const delay = n % 2 === 0
          ? Math.random() * span
          : Math.max(0, window.from + Math.random() * (window.to - window.from));
        return create(w, n, original, delay);
      });

      const torn = runs.filter((run) => run.spec !== original && run.spec !== rewrite);
      const before = runs.filter((run) => run.spec === original).length;
      const after = runs.filter((run) => run.spec === rewrite).length;
      const killed = runs.filter((run) => run.ended === "killed").length;
      const withStrays = runs.map((run, n) => ({ run, n })).filter(({ run }) => run.strays.length);
      for (const { run } of withStrays) {
        for (const name of run.strays) equal(name.startsWith(`.config.json.${TEMP_TAG}-`), true);
      }
      // The decision log holds whole JSON lines only, whatever a kill interrupted.
      const lines = (await Deno.readTextFile(`${w.dir}/wrapper.log`)).split("\n").slice(0, -1);
      for (const line of lines) JSON.parse(line);

      // The next run on a bundle that a kill left temp files in ignores them; one more bundle
      // gets a torn temp file by hand, so that this is shown even when no kill left one.
      const synthetic = `${w.dir}/bundle-synthetic`;
      await Deno.mkdir(synthetic);
      await Deno.writeTextFile(
        `${synthetic}/.config.json.${TEMP_TAG}-1234`,
        rewrite.slice(0, rewrite.length / 2),
      );
      const next = [...withStrays.map(({ n }) => `${w.dir}/bundle-${n}`), synthetic];
      let ignored = 0;
      for (const [i, bundle] of next.entries()) {
        const strays = await listDir(bundle).then((names) =>
          names.filter((s) => s !== "config.json")
        );
        const contents = await Promise.all(strays.map((s) => Deno.readTextFile(`${bundle}/${s}`)));
        await Deno.writeTextFile(`${bundle}/config.json`, original);
        const id = `ssgcr-crash-next-${Deno.pid}-${i}`;
        const child = spawnWrapper(["--root", w.root, "create", "--bundle", bundle, id], {
          config: w.config,
        });
        equal((await child.status).code, 0, bundle);
        equal(await runcStatus(w.root, id), "created");
        await runcDelete(w.root, id);
        equal(await Deno.readTextFile(`${bundle}/config.json`), rewrite);
        const left = (await listDir(bundle)).filter((s) => s !== "config.json");
        deepEqual(left, strays, "the next run leaves others' temp files alone");
        for (const [k, s] of strays.entries()) {
          equal(await Deno.readTextFile(`${bundle}/${s}`), contents[k]);
        }
        ignored += strays.length;
      }

      console.log(
        `crash safety: ${KILLS} kills (${killed} landed before the wrapper exited), ` +
          `${runs.length} specs compared: ${before} original, ${after} complete rewrite, ` +
          `${torn.length} torn; ${withStrays.length} kills left temp files; ` +
          `${ignored} temp files ignored by the next run; ${lines.length} log lines whole`,
      );
      equal(torn.length, 0, `torn specs: ${torn.map((run) => run.spec.length).join(",")}`);
      equal(runs.length, KILLS);
      equal(before + after, KILLS);
      // The random delays reached both sides of the rewrite.
      equal(before > 0 && after > 0, true, `${before} original, ${after} rewritten`);
    } finally {
      await kubelet.close();
      // A kill during the spawn could race the wait for runc: remove whatever is left.
      await runcDeleteAll(w.root);
      await Deno.remove(w.dir, { recursive: true });
    }
  },
});

/** A node's worth of Pods: the tenant-a Pod and 299 others, each with its own uid. */
function nodePods(): Record<string, unknown>[] {
  return [
    POD,
    ...Array.from(
      { length: 299 },
      (_, i) =>
        podFixture({ namespace: `ns-${i % 20}`, name: `pod-${i}`, uid: crypto.randomUUID() }),
    ),
  ];
}

/** Every cache entry under `dir` is whole (a complete v1 entry for the uid it is named after). */
async function wholeEntries(dir: string): Promise<{ entries: number; temps: number }> {
  let entries = 0;
  let temps = 0;
  for (const name of await listDir(dir).catch(() => [])) {
    if (name.includes(TEMP_TAG)) {
      temps++;
      continue;
    }
    const entry = JSON.parse(await Deno.readTextFile(`${dir}/${name}`));
    equal(entry.v, 1, name);
    equal(`${entry.facts.uid}.json`, name);
    equal(Array.isArray(entry.facts.supplementalGroups), true, name);
    entries++;
  }
  return { entries, temps };
}

Deno.test({
  name: "a wrapper killed at any moment of a pod cache refresh leaves only whole entries",
  ignore: blocker !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const w = await makeWorld("ssgcr-crash-cache-");
    const pods = `${w.dir}/state/pods`;
    const original = await makeBundle(`${w.dir}/template`, {
      rootfs: w.rootfs,
      args: ["sleep", "60"],
      annotations: containerdAnnotations(),
    });
    const kubelet = await startKubelet(w.pki, nodePods());
    try {
      // Calibration: an uninterrupted create on an empty cache writes all 300 entries.
      const calm: number[] = [];
      for (let n = 0; n < 3; n++) {
        await Deno.remove(pods, { recursive: true }).catch(() => {});
        const started = Date.now();
        equal((await create(w, 20_000 + n, original, Infinity)).ended, 0);
        calm.push(Date.now() - started);
        deepEqual(await wholeEntries(pods), { entries: 300, temps: 0 });
      }
      const span = Math.max(...calm) * 1.2;
      let killed = 0;
      let partial = 0;
      let temps = 0;
      for (let n = 0; n < CACHE_KILLS; n++) {
        await Deno.remove(pods, { recursive: true }).catch(() => {});
        const run = await create(w, 30_000 + n, original, Math.random() * span);
        if (run.ended === "killed") killed++;
        const left = await wholeEntries(pods);
        if (left.entries > 0 && left.entries < 300) partial++;
        temps += left.temps;
      }
      // The next wrapper to ask the kubelet completes the cache.
      await Deno.remove(`${pods}/${POD_UID}.json`).catch(() => {});
      const next = await create(w, 40_000, original, Infinity);
      equal(next.ended, 0);
      const after = await wholeEntries(pods);
      equal(after.entries, 300);
      console.log(
        `crash safety (pod cache): ${CACHE_KILLS} kills (${killed} landed before the wrapper ` +
          `exited), ${partial} left a partly filled cache, every entry whole; ${temps} temp ` +
          `files left by kills (pruned after a minute)`,
      );
      equal(killed > 0 && partial > 0, true, `${killed} killed, ${partial} partly filled`);
    } finally {
      await kubelet.close();
      await runcDeleteAll(w.root);
      await Deno.remove(w.dir, { recursive: true });
    }
  },
});
