/**
 * The node Pod cache on real runc, through the shipped wrapper, against the
 * TLS kubelet stand-in: it spares the kubelet every request after a Pod's
 * first, never serves one Pod's groups to another (a Pod recreated under
 * its name, a tampered entry), and with the cache off the wrapper asks the
 * kubelet every time, as it always did.
 */

import { deepEqual, equal, match } from "assert";
import { containerdAnnotations, makeBundle } from "./support/bundle.ts";
import { podFixture, startKubelet } from "./support/kubelet_standin.ts";
import { TENANT_A } from "./support/tenant_a.ts";
import { makeWorld, type World } from "./support/world.ts";
import {
  announceRootTestsBlocker,
  decisions,
  listDir,
  runcDeleteAll,
  runcStatus,
  runWrapper,
  spawnWrapper,
  waitFor,
  writeConfig,
} from "./support/wrapper.ts";

const blocker = await announceRootTestsBlocker("pod cache tests on runc");

const ALICE = "uid=1000(alice) gid=1000(alice)";
const POD = podFixture({ runAsUser: 1000, runAsGroup: 1000, supplementalGroups: [60000] });
(POD.spec as { containers: unknown[] }).containers.push({ name: "side", image: TENANT_A.image });

function test(name: string, fn: (w: World) => Promise<void>): void {
  Deno.test({
    name,
    ignore: blocker !== undefined,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
      const w = await makeWorld("ssgcr-cache-runc-");
      try {
        await fn(w);
      } finally {
        await runcDeleteAll(w.root);
        await Deno.remove(w.dir, { recursive: true });
      }
    },
  });
}

/** Creates and starts a long-running container through the wrapper. */
async function start(w: World, id: string, annotations: Record<string, string>, config = w.config) {
  const bundle = `${w.dir}/${id}`;
  await makeBundle(bundle, { rootfs: w.rootfs, args: ["sleep", "60"], annotations });
  const created = spawnWrapper(["--root", w.root, "create", "--bundle", bundle, id], { config });
  equal((await created.status).code, 0, `create ${id}`);
  equal((await runWrapper(["--root", w.root, "start", id])).code, 0);
  await waitFor(`${id} to run`, async () => await runcStatus(w.root, id) === "running");
  return bundle;
}

/** An exec as containerd's shim makes it: a process file with the image's gids, a pid file in the bundle. */
async function exec(w: World, id: string, bundle: string, config = w.config) {
  const processFile = `${w.dir}/${id}-process-${crypto.randomUUID()}.json`;
  await Deno.writeTextFile(
    processFile,
    JSON.stringify({
      user: { uid: 1000, gid: 1000, additionalGids: [1000, 50000, 60000] },
      args: ["id"],
      env: ["PATH=/bin"],
      cwd: "/",
    }),
  );
  return await runWrapper(
    ["--root", w.root, "exec", "--process", processFile, "--pid-file", `${bundle}/e.pid`, id],
    { config },
  );
}

const sources = async (w: World) =>
  (await decisions(w.dir)).filter((r) => r.msg === "decision").map((r) => r.source);

test("a Pod's second container and its execs hit the cache: one kubelet request in all", async (w) => {
  const kubelet = await startKubelet(w.pki, [POD]);
  try {
    const main = await start(w, "c-main", containerdAnnotations());
    const side = await start(
      w,
      "c-side",
      containerdAnnotations({ "io.kubernetes.cri.container-name": "side" }),
    );
    for (let i = 0; i < 3; i++) {
      for (const [id, bundle] of [["c-main", main], ["c-side", side]] as const) {
        const result = await exec(w, id, bundle);
        equal(result.stdout, `${ALICE} groups=1000(alice),60000\n`, result.stderr);
      }
    }
    equal(kubelet.clients.length, 1, "the kubelet was asked once");
    deepEqual(await sources(w), ["kubelet", ...Array(7).fill("cache")]);
    deepEqual(await listDir(`${w.dir}/state/pods`), [`${TENANT_A.uid}.json`]);
  } finally {
    await kubelet.close();
  }
});

test("a sandbox's create asks no Pod source: a container that needs its Pod fetches it", async (w) => {
  const kubelet = await startKubelet(w.pki, [POD]);
  try {
    const sandbox = `${w.dir}/sandbox`;
    await makeBundle(sandbox, {
      rootfs: w.rootfs,
      args: ["sleep", "60"],
      annotations: containerdAnnotations({ "io.kubernetes.cri.container-type": "sandbox" }),
    });
    // A created container keeps the runtime's stdio: no pipes to wait on.
    const created = spawnWrapper(["--root", w.root, "create", "--bundle", sandbox, "s1"], {
      config: w.config,
    });
    equal((await created.status).code, 0);
    // Most images grant their user nothing, and need no Pod: nothing is fetched ahead of need.
    equal(kubelet.clients.length, 0, "the sandbox's create asked nobody");
    await start(w, "c-main", containerdAnnotations());
    equal(kubelet.clients.length, 1, "the container whose image grants 50000 asked for its Pod");
    await start(w, "c-side", containerdAnnotations({ "io.kubernetes.cri.container-name": "side" }));
    equal(kubelet.clients.length, 1, "its Pod's next container found it in the cache");
    // (The sandbox's own record is at level debug, below the log's info.)
    deepEqual(await sources(w), ["kubelet", "cache"]);
  } finally {
    await kubelet.close();
  }
  // With the kubelet gone, a sandbox starts as before, and nothing warns.
  const again = `${w.dir}/sandbox-2`;
  await makeBundle(again, {
    rootfs: w.rootfs,
    args: ["sleep", "60"],
    annotations: containerdAnnotations({
      "io.kubernetes.cri.container-type": "sandbox",
      "io.kubernetes.cri.sandbox-uid": crypto.randomUUID(),
    }),
  });
  const lonely = spawnWrapper(["--root", w.root, "create", "--bundle", again, "s2"], {
    config: w.config,
  });
  equal((await lonely.status).code, 0);
  equal((await decisions(w.dir)).some((r) => r.level === "warn"), false);
});

test("a Pod recreated under its name gets its own groups, and the old one's entry goes", async (w) => {
  const kubelet = await startKubelet(w.pki, [POD]);
  try {
    await start(w, "old", containerdAnnotations());
    const uid = crypto.randomUUID();
    kubelet.behaviour.pods = [
      podFixture({ uid, runAsUser: 1000, runAsGroup: 1000, supplementalGroups: [50000] }),
    ];
    const bundle = `${w.dir}/new`;
    // As the CRI computes them for the new Pod: the image's 50000, which it declares.
    await makeBundle(bundle, {
      rootfs: w.rootfs,
      additionalGids: [1000, 50000],
      annotations: containerdAnnotations({ "io.kubernetes.cri.sandbox-uid": uid }),
    });
    const result = await runWrapper(["--root", w.root, "run", "new"], {
      cwd: bundle,
      config: w.config,
    });
    equal(result.stdout, `${ALICE} groups=1000(alice),50000(bypassed-group)\n`, result.stderr);
    deepEqual(await sources(w), ["kubelet", "kubelet"]);
    // The fresh list no longer names the old Pod: its entry was pruned, the new one written.
    deepEqual(await listDir(`${w.dir}/state/pods`), [`${uid}.json`]);
  } finally {
    await kubelet.close();
  }
});

test("a tampered entry (another owner, gid 50000 declared) changes nothing and is replaced", async (w) => {
  const kubelet = await startKubelet(w.pki, [POD]);
  try {
    await Deno.mkdir(`${w.dir}/state/pods`, { recursive: true, mode: 0o700 });
    const entry = `${w.dir}/state/pods/${TENANT_A.uid}.json`;
    await Deno.writeTextFile(
      entry,
      JSON.stringify({
        v: 1,
        facts: {
          namespace: TENANT_A.namespace,
          name: TENANT_A.name,
          uid: TENANT_A.uid,
          supplementalGroups: [50000, 60000],
          supplementalGroupsPolicy: "Merge",
          containers: [{ name: "main" }],
        },
      }),
      { mode: 0o600 },
    );
    await Deno.chown(entry, 65534, 65534);
    const bundle = `${w.dir}/c1`;
    await makeBundle(bundle, { rootfs: w.rootfs, annotations: containerdAnnotations() });
    const result = await runWrapper(["--root", w.root, "run", "c1"], {
      cwd: bundle,
      config: w.config,
    });
    equal(result.stdout, `${ALICE} groups=1000(alice),60000\n`, result.stderr);
    equal(kubelet.clients.length, 1, "the kubelet decided");
    const records = await decisions(w.dir);
    const warning = records.find((r) => r.msg === "pod cache not used")!;
    match(String(warning.reason), /owned by uid 65534, not root; the kubelet decides$/);
    equal(records.find((r) => r.msg === "decision")!.source, "kubelet");
    // The kubelet's answer replaced it: root's entry, with the Pod's own groups.
    equal((await Deno.stat(entry)).uid, 0);
    deepEqual(JSON.parse(await Deno.readTextFile(entry)).facts.supplementalGroups, [60000]);
  } finally {
    await kubelet.close();
  }
});

test("with pod-cache = false every create and exec asks the kubelet, as before", async (w) => {
  const kubelet = await startKubelet(w.pki, [POD]);
  const config = await writeConfig(w.dir, w.pki, ["pod-cache = false"]);
  try {
    const bundle = await start(w, "c-main", containerdAnnotations(), config);
    for (let i = 0; i < 2; i++) {
      equal(
        (await exec(w, "c-main", bundle, config)).stdout,
        `${ALICE} groups=1000(alice),60000\n`,
      );
    }
    equal(kubelet.clients.length, 3);
    deepEqual(await sources(w), ["kubelet", "kubelet", "kubelet"]);
    equal(await Deno.stat(`${w.dir}/state/pods`).then(() => true, () => false), false);
  } finally {
    await kubelet.close();
  }
});
