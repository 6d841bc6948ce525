import { deepEqual, equal } from "assert";
import type { PodFacts } from "../core/pod_facts.ts";
import { TEMP_TAG } from "../spec/atomic_write.ts";
import { containerCache, ENTRY_TTL_MS } from "./container_cache.ts";

const root = Deno.uid() === 0;
if (!root) {
  console.error("\n*** SKIPPED: container cache tests need root (they chown entries) ***\n");
}

const ID = "4f7c".repeat(16);
/** What containerd's CRI answers for a container (`containerFacts`): its own group, the kubelet's list. */
const FACTS: PodFacts = {
  namespace: "tenant-a",
  name: "app",
  uid: "0b6c5a5e-8f4e-4c2a-9d1e-000000000001",
  supplementalGroups: [2000, 60000, 61000],
  supplementalGroupsPolicy: "Merge",
  containers: [{ name: "main", runAsGroup: 1000 }],
};
const REF = {
  namespace: "tenant-a",
  name: "app",
  uid: FACTS.uid!,
  container: "main",
  containerId: ID,
};

type Fresh = { dir: string; warnings: string[]; cache: ReturnType<typeof containerCache> };

function test(name: string, fn: (c: Fresh) => Promise<void>) {
  Deno.test({
    name,
    ignore: !root,
    fn: async () => {
      const base = await Deno.makeTempDir({ prefix: "ssgcr-ccache-" });
      const dir = `${base}/state/containers`;
      const warnings: string[] = [];
      try {
        await fn({ dir, warnings, cache: containerCache(dir, (m) => warnings.push(m)) });
      } finally {
        await Deno.remove(base, { recursive: true });
      }
    },
  });
}

/** The same directory, as the next wrapper process sees it. */
const again = (dir: string, warnings: string[]) => containerCache(dir, (m) => warnings.push(m));
const exists = (path: string) => Deno.lstat(path).then(() => true, () => false);

test("an exec finds what its create stored, by container id; another id is a quiet miss", async ({ dir, warnings, cache }) => {
  equal(await cache.source.lookup(REF), undefined, "no directory yet");
  await cache.store(ID, FACTS, Date.now());
  deepEqual(await again(dir, warnings).source.lookup(REF), { facts: FACTS, source: "cache" });
  equal(
    await again(dir, warnings).source.lookup({ ...REF, containerId: "9".repeat(64) }),
    undefined,
  );
  const { containerId: _, ...noId } = REF;
  equal(await again(dir, warnings).source.lookup(noId), undefined, "a ref without an id");
  deepEqual(warnings, []);
  equal((await Deno.stat(`${dir}/${ID}.json`)).mode! & 0o777, 0o600);
  equal((await Deno.stat(dir)).mode! & 0o777, 0o700);
});

test("an entry naming another Pod or container than the spec is a miss, reported", async ({ dir, warnings, cache }) => {
  await cache.store(ID, FACTS, Date.now());
  const reader = again(dir, warnings);
  equal(await reader.source.lookup({ ...REF, container: "side" }), undefined);
  equal(await again(dir, warnings).source.lookup({ ...REF, uid: "another" }), undefined);
  equal(warnings.length, 2, warnings.join(" | "));
  equal(
    warnings[0]!.includes("holds pod tenant-a/app container main, not tenant-a/app container side"),
    true,
    warnings[0]!,
  );
  equal(warnings[0]!.endsWith("; the CRI decides"), true);
});

for (
  const [what, spoil] of [
    ["owned by another user", (path: string) => Deno.chown(path, 65534, 65534)],
    ["writable by others", (path: string) => Deno.chmod(path, 0o666)],
    ["a symlink", async (path: string) => {
      await Deno.rename(path, `${path}.real`);
      await Deno.symlink(`${path}.real`, path);
    }],
    ["garbage", (path: string) => Deno.writeTextFile(path, "{")],
    ["of two containers", (path: string) =>
      Deno.writeTextFile(
        path,
        JSON.stringify({
          v: 1,
          facts: { ...FACTS, containers: [{ name: "main" }, { name: "x" }] },
        }),
      )],
  ] as const
) {
  test(`an entry that is ${what} is a miss, reported once`, async ({ dir, warnings, cache }) => {
    await cache.store(ID, FACTS, Date.now());
    await spoil(`${dir}/${ID}.json`);
    const reader = again(dir, warnings);
    equal(await reader.source.lookup(REF), undefined);
    equal(await reader.source.lookup(REF), undefined);
    equal(warnings.length, 1, warnings.join(" | "));
  });
}

test("a directory others may write is neither read nor written", async ({ dir, warnings, cache }) => {
  await cache.store(ID, FACTS, Date.now());
  await Deno.chmod(dir, 0o777);
  const reader = again(dir, warnings);
  equal(await reader.source.lookup(REF), undefined);
  const other = "a".repeat(64);
  await reader.store(other, FACTS, Date.now());
  equal(await exists(`${dir}/${other}.json`), false);
  equal(warnings.length, 1, warnings.join(" | "));
  equal(warnings[0]!.includes("writable by group or others"), true, warnings[0]!);
});

test("an entry older than its lifetime is a quiet miss, and the next store removes it", async ({ dir, warnings, cache }) => {
  await cache.store(ID, FACTS, Date.now());
  const old = new Date(Date.now() - ENTRY_TTL_MS - 60_000);
  await Deno.utime(`${dir}/${ID}.json`, old, old);
  const stray = `${dir}/.x.json.${TEMP_TAG}-1`;
  await Deno.writeTextFile(stray, "", { mode: 0o600 });
  await Deno.utime(stray, old, old);
  equal(await again(dir, warnings).source.lookup(REF), undefined);
  const other = "b".repeat(64);
  await again(dir, warnings).store(other, FACTS, Date.now());
  equal(await exists(`${dir}/${ID}.json`), false, "the expired entry is gone");
  equal(await exists(stray), false, "so is a killed writer's temp file");
  equal(await exists(`${dir}/${other}.json`), true);
  deepEqual(warnings, []);
});

test("a container id that cannot name a file, or facts without a Pod uid, are not stored", async ({ dir, warnings, cache }) => {
  await cache.store("../escape", FACTS, Date.now());
  const { uid: _, ...noUid } = FACTS;
  await cache.store(ID, noUid, Date.now());
  equal(await exists(dir), false, "nothing was written");
  equal(await cache.source.lookup({ ...REF, containerId: "../escape" }), undefined);
  deepEqual(warnings, []);
});
