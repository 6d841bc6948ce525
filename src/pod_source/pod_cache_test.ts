import { deepEqual, equal } from "assert";
import type { PodFacts } from "../core/pod_facts.ts";
import { TEMP_TAG } from "../spec/atomic_write.ts";
import { podCache } from "./pod_cache.ts";

const root = Deno.uid() === 0;
if (!root) console.error("\n*** SKIPPED: pod cache tests need root (they chown entries) ***\n");

const FACTS: PodFacts = {
  namespace: "tenant-a",
  name: "app",
  uid: "0b6c5a5e-8f4e-4c2a-9d1e-000000000001",
  runAsGroup: 1000,
  supplementalGroups: [60000],
  supplementalGroupsPolicy: "Merge",
  containers: [{ name: "main" }, { name: "side", runAsGroup: 2000 }],
};
const REF = { namespace: "tenant-a", name: "app", uid: FACTS.uid!, container: "main" };

/** A cache in a fresh root-only directory, with the warnings it gave. */
async function fresh(): Promise<
  { dir: string; warnings: string[]; cache: ReturnType<typeof podCache> }
> {
  const base = await Deno.makeTempDir({ prefix: "ssgcr-cache-" });
  const dir = `${base}/state/pods`;
  const warnings: string[] = [];
  return { dir, warnings, cache: podCache(dir, (message) => warnings.push(message)) };
}

function test(name: string, fn: (c: Awaited<ReturnType<typeof fresh>>) => Promise<void>) {
  Deno.test({
    name,
    ignore: !root,
    fn: async () => {
      const c = await fresh();
      try {
        await fn(c);
      } finally {
        await Deno.remove(c.dir.slice(0, -"/state/pods".length), { recursive: true });
      }
    },
  });
}

/** The same cache directory, as a new wrapper process would see it. */
function again(dir: string, warnings: string[]) {
  return podCache(dir, (message) => warnings.push(message));
}

test("the cache answers what was stored, naming itself; a new Pod or no uid is a miss", async ({ dir, warnings, cache }) => {
  equal(await cache.source.lookup(REF), undefined, "no directory yet: a quiet miss");
  await cache.store([FACTS], { fetchedAt: Date.now() });
  deepEqual(await again(dir, warnings).source.lookup(REF), { facts: FACTS, source: "cache" });
  equal(await again(dir, warnings).source.lookup({ ...REF, uid: "another-uid" }), undefined);
  equal(
    await again(dir, warnings).source.lookup({ namespace: "tenant-a", name: "app" }),
    undefined,
  );
  deepEqual(warnings, []);
  const info = await Deno.stat(`${dir}/${FACTS.uid}.json`);
  equal(info.mode! & 0o777, 0o600);
  equal((await Deno.stat(dir)).mode! & 0o777, 0o700);
});

test("an entry whose namespace or name disagree with the annotations is a miss, reported", async ({ dir, warnings, cache }) => {
  await cache.store([FACTS], { fetchedAt: Date.now() });
  equal(await again(dir, warnings).source.lookup({ ...REF, name: "other" }), undefined);
  equal(await again(dir, warnings).source.lookup({ ...REF, namespace: "tenant-b" }), undefined);
  equal(warnings.length, 2);
  equal(warnings[0]!.includes("holds pod tenant-a/app, not tenant-a/other"), true, warnings[0]!);
});

test("a container the entry does not know (an ephemeral one added since) is a quiet miss", async ({ dir, warnings, cache }) => {
  await cache.store([FACTS], { fetchedAt: Date.now() });
  equal(await again(dir, warnings).source.lookup({ ...REF, container: "debugger" }), undefined);
  deepEqual(warnings, []);
});

for (
  const [what, spoil] of [
    ["owned by another user", (path: string) => Deno.chown(path, 65534, 65534)],
    ["writable by others", (path: string) => Deno.chmod(path, 0o666)],
    ["writable by its group", (path: string) => Deno.chmod(path, 0o620)],
    ["a symlink", async (path: string) => {
      await Deno.rename(path, `${path}.real`);
      await Deno.symlink(`${path}.real`, path);
    }],
    ["garbage", (path: string) => Deno.writeTextFile(path, "not json")],
    ["truncated", async (path: string) => {
      const text = await Deno.readTextFile(path);
      await Deno.writeTextFile(path, text.slice(0, text.length / 2));
    }],
    [
      "of another version",
      (path: string) => Deno.writeTextFile(path, JSON.stringify({ v: 2, facts: FACTS })),
    ],
    ["a claim of an id no API server accepts", (path: string) =>
      Deno.writeTextFile(
        path,
        JSON.stringify({ v: 1, facts: { ...FACTS, supplementalGroups: [-1] } }),
      )],
  ] as const
) {
  test(`an entry that is ${what} is a miss, reported once`, async ({ dir, warnings, cache }) => {
    await cache.store([FACTS], { fetchedAt: Date.now() });
    await spoil(`${dir}/${FACTS.uid}.json`);
    const reader = again(dir, warnings);
    equal(await reader.source.lookup(REF), undefined);
    equal(await reader.source.lookup(REF), undefined);
    equal(warnings.length, 1, `one warning: ${warnings.join(" | ")}`);
    equal(warnings[0]!.endsWith("; the kubelet decides"), true);
  });
}

for (
  const [what, spoil] of [
    ["writable by others", (dir: string) => Deno.chmod(dir, 0o777)],
    ["owned by another user", (dir: string) => Deno.chown(dir, 65534, 65534)],
    ["a symlink", async (dir: string) => {
      await Deno.rename(dir, `${dir}.real`);
      await Deno.symlink(`${dir}.real`, dir);
    }],
    [
      "below a directory others may write",
      (dir: string) => Deno.chmod(dir.slice(0, dir.lastIndexOf("/")), 0o757),
    ],
  ] as const
) {
  test(`a cache directory that is ${what} is neither read nor written`, async ({ dir, warnings, cache }) => {
    await cache.store([FACTS], { fetchedAt: Date.now() });
    await spoil(dir);
    const other = { ...FACTS, uid: "0b6c5a5e-8f4e-4c2a-9d1e-000000000002" };
    const reader = again(dir, warnings);
    equal(await reader.source.lookup(REF), undefined);
    await reader.store([FACTS, other], { fetchedAt: Date.now() });
    equal(await Deno.lstat(`${dir}/${other.uid}.json`).then(() => true, () => false), false);
    equal(warnings.length, 1, warnings.join(" | "));
    equal(/is (writable by group or others|owned by uid 65534|a symlink)/.test(warnings[0]!), true);
  });
}

test("store writes only new Pods (and the one it is told to rewrite)", async ({ dir, warnings, cache }) => {
  await cache.store([FACTS], { fetchedAt: Date.now() });
  const path = `${dir}/${FACTS.uid}.json`;
  const past = new Date(Date.now() - 3_600_000);
  await Deno.utime(path, past, past);
  const withDebugger = { ...FACTS, containers: [...FACTS.containers, { name: "debugger" }] };
  await again(dir, warnings).store([withDebugger], { fetchedAt: Date.now() });
  equal((await Deno.stat(path)).mtime!.getTime(), past.getTime(), "an existing entry is kept");
  await again(dir, warnings).store([withDebugger], { fetchedAt: Date.now(), rewrite: FACTS.uid });
  deepEqual(
    (await again(dir, warnings).source.lookup({ ...REF, container: "debugger" }))?.facts,
    withDebugger,
  );
});

test("store prunes what a fresh answer no longer lists, unless a newer answer wrote it", async ({ dir, warnings, cache }) => {
  const gone = { ...FACTS, uid: "0b6c5a5e-8f4e-4c2a-9d1e-00000000000a" };
  const newer = { ...FACTS, uid: "0b6c5a5e-8f4e-4c2a-9d1e-00000000000b" };
  const fetchedAt = Date.now();
  await cache.store([FACTS, gone], { fetchedAt: fetchedAt - 10_000 });
  const old = new Date(fetchedAt - 5_000);
  await Deno.utime(`${dir}/${gone.uid}.json`, old, old);
  // Written after the fresh answer was asked for: by a wrapper that saw a newer list.
  await again(dir, warnings).store([newer], { fetchedAt: fetchedAt + 1_000 });
  const strayTemp = `${dir}/.${FACTS.uid}.json.${TEMP_TAG}-123`;
  await Deno.writeTextFile(strayTemp, "{", { mode: 0o600 });
  const long = new Date(fetchedAt - 120_000);
  await Deno.utime(strayTemp, long, long);
  await again(dir, warnings).store([FACTS], { fetchedAt });
  const names = (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
  deepEqual(names, [`${FACTS.uid}.json`, `${newer.uid}.json`].sort());
  deepEqual(warnings, []);
});
