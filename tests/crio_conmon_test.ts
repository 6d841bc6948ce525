/**
 * The wrapper as CRI-O starts it, with Debian's conmon 2.1.6 in CRI-O's
 * place of conmon's caller (no CRI-O package runs here): installed by
 * `strict-supplementalgroups install --cri crio` on a node whose own paths
 * (`/etc/strict-supplementalgroups-container-runtime`, `/etc/crio`,
 * `/usr/local`, the runtimes' state roots, CRI-O's storage) are tmpfs mounts
 * of a private mount namespace. For runc and crun, each configured by its
 * bare name:
 *
 * - a create and an ExecSync through conmon with an empty environment (what
 *   a handler without `monitor_env` gives conmon), and with the installed
 *   drop-in's `monitor_env`;
 * - a streaming exec run directly, with an empty environment;
 * - `start`, `kill` and `delete` run directly, as CRI-O runs them;
 * - a refusal, passed back through conmon's sync pipe as CRI-O reports it;
 * - an image that grants the user nothing, decided with no Pod lookup.
 *
 * The configuration reaches every call from its default path only. The
 * tests compare gids (`id -u`, `id -g`, `id -G`), not `id`'s names: CRI-O
 * writes its own lines into a container's /etc/group.
 */

import { deepEqual, equal, match } from "assert";
import { parseToml } from "../src/config/toml.ts";
import { parseLossless } from "../src/spec/json_lossless.ts";
import { crioAnnotations, makeBundle } from "./support/bundle.ts";
import {
  conmonCreate,
  type ConmonDirs,
  conmonExecSync,
  type Handler,
  k8sLogLines,
  writeExecProcess,
} from "./support/conmon.ts";
import { announceCrunBlocker } from "./support/crun.ts";
import { alicePod, startKubelet } from "./support/kubelet_standin.ts";
import { MountNamespace } from "./support/mount_ns.ts";
import {
  announceRootTestsBlocker,
  CLI,
  decisions,
  have,
  waitFor,
  WRAPPER,
  writeConfig,
} from "./support/wrapper.ts";
import { makeWorld, type World } from "./support/world.ts";

const blocker = await announceRootTestsBlocker("CRI-O (conmon) tests") ?? await _conmonBlocker();
if (blocker !== undefined) console.error(`\n*** SKIPPED: CRI-O (conmon) tests: ${blocker} ***\n`);
const crunSkip = blocker ?? await announceCrunBlocker("CRI-O (conmon) tests via crun");

/** What `id` prints as numbers: uid, gid, every group. */
const IDS = ["sh", "-c", 'echo "$(id -u) $(id -g) $(id -G)"'];
/** alice with the Pod's 60000 and without the image's 50000. */
const ALICE_STRICT = "1000 1000 1000 60000";
const DROP_IN = "/etc/crio/crio.conf.d/99-strict-supplementalgroups.conf";

async function _conmonBlocker(): Promise<string | undefined> {
  for (const [tool, args] of [["conmon", ["--version"]], ["unshare", ["--version"]]] as const) {
    if (!await have(tool, [...args])) return `${tool} is not installed`;
  }
  return undefined;
}

/** A node with the wrapper installed for CRI-O, in its own mount namespace. */
interface Node {
  readonly world: World;
  readonly ns: MountNamespace;
  /** The installed drop-in's handler. */
  readonly handler: Handler;
  readonly dirs: ConmonDirs;
}

async function installedNode(runtime: "runc" | "crun"): Promise<Node> {
  const world = await makeWorld(`ssgcr-crio-${runtime}-`);
  const ns = await MountNamespace.open(`${world.dir}/ns`);
  try {
    for (
      const path of [
        "/etc/strict-supplementalgroups-container-runtime",
        "/etc/crio",
        "/usr/local",
        "/var/lib/containers",
        `/run/${runtime}`,
      ]
    ) {
      await ns.tmpfs(path);
    }
    const config = await writeConfig(world.dir, world.pki, [
      'cri = "cri-o"',
      `runtime = "${runtime}"`,
    ]);
    await ns.run([
      CLI,
      "install",
      "--cri",
      "crio",
      "--config",
      config,
      "--wrapper",
      WRAPPER,
      "--no-restart",
    ]);
    const dropIn = parseToml(await ns.run(["cat", DROP_IN]), DROP_IN) as {
      crio: { runtime: { runtimes: Record<string, Record<string, unknown>> } };
    };
    const table = dropIn.crio.runtime.runtimes["strict-supplementalgroups"]!;
    const dirs = {
      exits: `${world.dir}/exits`,
      sockets: `${world.dir}/sockets`,
      scratch: `${world.dir}/scratch`,
    };
    for (const dir of Object.values(dirs)) await Deno.mkdir(dir);
    return {
      world,
      ns,
      dirs,
      handler: {
        runtimePath: table.runtime_path as string,
        runtimeRoot: table.runtime_root as string,
        monitorEnv: table.monitor_env as string[],
      },
    };
  } catch (error) {
    await ns.close();
    throw error;
  }
}

/** A container's bundle as CRI-O lays it out, its rootfs in CRI-O's storage. */
async function crioBundle(
  node: Node,
  id: string,
  options: { uid?: number; gid?: number; additionalGids?: number[]; pod?: string } = {},
): Promise<{ bundle: string; process: Record<string, unknown> }> {
  const merged = `/var/lib/containers/storage/overlay/${id}/merged`;
  await node.ns.run(["mkdir", "-p", merged]);
  await node.ns.run(["mount", "--bind", node.world.rootfs, merged]);
  const bundle = `${node.world.dir}/overlay-containers/${id}/userdata`;
  const uid = options.uid ?? 1000;
  const gid = options.gid ?? 1000;
  const text = await makeBundle(bundle, {
    rootfs: merged,
    args: ["sh", "-c", `${IDS[2]}; exec sleep 60`],
    uid,
    gid,
    // CRI-O's order: the primary gid, the image's groups, the Pod's (setupContainerUser).
    additionalGids: options.additionalGids ?? [1000, 50000, 60000],
    annotations: crioAnnotations(
      options.pod === undefined ? {} : { "io.kubernetes.pod.name": options.pod },
    ),
  });
  return { bundle, process: (parseLossless(text) as { process: Record<string, unknown> }).process };
}

/** Runs the handler's runtime directly, as CRI-O runs start, kill, delete and a streaming exec. */
function direct(node: Node, args: string[], env?: Record<string, string>): Promise<string> {
  const prefix = env === undefined
    ? []
    : ["env", "-i", ...Object.entries(env).map(([k, v]) => `${k}=${v}`)];
  return node.ns.run([
    ...prefix,
    node.handler.runtimePath,
    "--root",
    node.handler.runtimeRoot,
    ...args,
  ]);
}

async function removeContainer(node: Node, id: string): Promise<void> {
  await direct(node, ["kill", id, "KILL"]).catch(() => {});
  await waitFor("the container stopped", async () => {
    const state = await direct(node, ["state", id]).catch(() => "");
    return !state.includes('"running"');
  }, 10_000).catch(() => {});
  await direct(node, ["delete", "--force", id]).catch(() => {});
}

/** A container created through conmon with `env`, started, exec'd into both ways. */
async function runContainer(
  node: Node,
  id: string,
  monitorEnv: readonly string[],
): Promise<{ created: string; execSync: string; streamed: string }> {
  const handler = { ...node.handler, monitorEnv };
  const { bundle, process } = await crioBundle(node, id);
  const log = `${node.world.dir}/${id}.log`;
  await Deno.mkdir(`${node.world.dir}/persist-${id}`);
  const sync = await conmonCreate(
    node.ns,
    handler,
    { id, bundle, log, persist: `${node.world.dir}/persist-${id}` },
    node.dirs,
  );
  equal(typeof sync.pid === "number" && sync.pid > 0, true, JSON.stringify(sync));
  await direct(node, ["start", id]);
  await waitFor(
    "the container's first line",
    async () => k8sLogLines(await Deno.readTextFile(log).catch(() => ""), "stdout").length > 0,
    10_000,
  );
  const created = k8sLogLines(await Deno.readTextFile(log), "stdout")[0]!;
  // Both exec process files carry the image's 50000 again: CRI-O builds them from its own spec.
  const execFile = await writeExecProcess(process, IDS);
  const exec = await conmonExecSync(node.ns, handler, { id, processFile: execFile }, node.dirs);
  equal(exec.exit_code, 0, JSON.stringify(exec));
  const streamFile = await writeExecProcess(process, IDS);
  const streamed = (await direct(node, ["exec", "--process", streamFile, id], {})).trim();
  for (const file of [execFile, streamFile]) await Deno.remove(file).catch(() => {});
  return { created, execSync: exec.stdout, streamed };
}

for (const runtime of ["runc", "crun"] as const) {
  Deno.test({
    name:
      `CRI-O with ${runtime}: through conmon with an empty environment and with the installed ` +
      `drop-in's, create, ExecSync and a streaming exec drop the image's gid`,
    ignore: runtime === "crun" ? crunSkip !== undefined : blocker !== undefined,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
      const node = await installedNode(runtime);
      const kubelet = await startKubelet(node.world.pki, [alicePod()]);
      const ids = [`ssgcr-crio-${Deno.pid}-empty`, `ssgcr-crio-${Deno.pid}-dropin`];
      try {
        // What install wrote: the runtime's own root, and a PATH for conmon.
        equal(
          node.handler.runtimePath,
          "/usr/local/bin/strict-supplementalgroups-container-runtime",
        );
        equal(node.handler.runtimeRoot, `/run/${runtime}`);
        deepEqual(node.handler.monitorEnv, [
          "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        ]);
        const empty = await runContainer(node, ids[0]!, []);
        deepEqual(empty, { created: ALICE_STRICT, execSync: ALICE_STRICT, streamed: ALICE_STRICT });
        const dropIn = await runContainer(node, ids[1]!, node.handler.monitorEnv);
        deepEqual(dropIn, {
          created: ALICE_STRICT,
          execSync: ALICE_STRICT,
          streamed: ALICE_STRICT,
        });

        // Every call found the configuration at its default path: its log is this test's.
        const judged = (await decisions(node.world.dir)).filter((r) => r.msg === "decision");
        deepEqual(
          judged.map((r) => [r.container, r.command, r.verdict, r.imageGids]),
          ids.flatMap((id) => [
            [id, "create", "rewrite", [50000]],
            // The execs are judged on what the create read in the image, never on the container's.
            [id, "exec", "rewrite", [50000]],
            [id, "exec", "rewrite", [50000]],
          ]),
        );
        console.log(
          `CRI-O ${runtime}: ${judged.length} decisions through conmon (empty environment and ` +
            `monitor_env) and direct calls; every container and exec ran as "${ALICE_STRICT}"`,
        );
      } finally {
        for (const id of ids) await removeContainer(node, id);
        await kubelet.close();
        await node.ns.close();
        await Deno.remove(node.world.dir, { recursive: true }).catch(() => {});
      }
    },
  });
}

Deno.test({
  name: "CRI-O: a refusal comes back through conmon's sync pipe as CRI-O reports it; an image " +
    "that grants the user nothing needs no Pod lookup",
  ignore: blocker !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const node = await installedNode("runc");
    const kubelet = await startKubelet(node.world.pki, [alicePod()]);
    const refused = `ssgcr-crio-${Deno.pid}-refused`;
    const bob = `ssgcr-crio-${Deno.pid}-bob`;
    try {
      // A Pod the kubelet does not list, whose image grants alice 50000: the lookup fails closed.
      const ghost = await crioBundle(node, refused, { pod: "ghost" });
      await Deno.mkdir(`${node.world.dir}/persist-${refused}`);
      const sync = await conmonCreate(node.ns, { ...node.handler, monitorEnv: [] }, {
        id: refused,
        bundle: ghost.bundle,
        log: `${node.world.dir}/${refused}.log`,
        persist: `${node.world.dir}/persist-${refused}`,
      }, node.dirs);
      equal(sync.pid, -1);
      match(
        `container create failed: ${sync.message?.trimEnd()}`,
        /^container create failed: strict-supplementalgroups: pod tenant-a\/ghost not found in the node pod cache .* or on this node.s kubelet$/,
      );

      // uid 2000 has no entry in the image's /etc/passwd: no group to drop, no Pod to ask.
      const asked = kubelet.clients.length;
      const { bundle } = await crioBundle(node, bob, {
        uid: 2000,
        gid: 2000,
        additionalGids: [2000, 60000],
        pod: "ghost",
      });
      await Deno.mkdir(`${node.world.dir}/persist-${bob}`);
      const created = await conmonCreate(node.ns, { ...node.handler, monitorEnv: [] }, {
        id: bob,
        bundle,
        log: `${node.world.dir}/${bob}.log`,
        persist: `${node.world.dir}/persist-${bob}`,
      }, node.dirs);
      equal(typeof created.pid === "number" && created.pid > 0, true, JSON.stringify(created));
      equal(kubelet.clients.length, asked, "nobody asked the kubelet");
      const record = (await decisions(node.world.dir)).find((r) =>
        r.msg === "decision" && r.container === bob
      );
      deepEqual([record?.verdict, record?.source, record?.imageGids], ["unchanged", "image", []]);
    } finally {
      for (const id of [refused, bob]) await removeContainer(node, id);
      await kubelet.close();
      await node.ns.close();
      await Deno.remove(node.world.dir, { recursive: true }).catch(() => {});
    }
  },
});
