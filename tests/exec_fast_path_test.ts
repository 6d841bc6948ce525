/**
 * Execs through the shell front end on real runc and crun, both ways
 * (docs/design.md, "Execs that need nothing"): into a container whose
 * create found nothing to take away, an exec carrying exactly its user, as
 * a CRI writes the process file, goes straight to the runtime, no Deno
 * started and nothing recorded; into a container whose image grants a gid
 * its Pod does not declare, the same exec goes to the program, which drops
 * the gid. A changed configuration sends every exec back to the program,
 * which names the identity again for the front end once the change is
 * older than the second the records are dated back by.
 */

import { deepEqual, equal } from "assert";
import { frontEndScript } from "../src/admin/front_end.ts";
import { DEFAULT_CONFIG_PATH, RUNTIME_RECORD } from "../src/config/config_file.ts";
import { containerdAnnotations, makeBundle } from "./support/bundle.ts";
import { crunBlocker } from "./support/crun.ts";
import { podFixture, startKubelet } from "./support/kubelet_standin.ts";
import { makeWorld, type World } from "./support/world.ts";
import {
  announceRootTestsBlocker,
  configSettled,
  decisions,
  runWrapper,
  spawnWrapper,
  waitFor,
  WRAPPER,
  writeConfig,
} from "./support/wrapper.ts";

const blocker = await announceRootTestsBlocker("exec fast path tests");
const crunSkip = blocker ?? await crunBlocker();
if (blocker === undefined && crunSkip !== undefined) {
  console.error(`\n*** SKIPPED: exec fast path tests on crun: ${crunSkip} ***\n`);
}

/** What the exec's command prints: uid, gid, every group, as numbers. */
const IDS = ["sh", "-c", 'echo "$(id -u) $(id -g) $(id -G)"'];

/** The tenant-a container's user as the CRI computed it: the image's 50000 included. */
const USER = { uid: 1000, gid: 1000, additionalGids: [1000, 50000, 60000] };

for (const runtime of ["runc", "crun"] as const) {
  Deno.test({
    name: `${runtime}: an exec that needs nothing goes straight to the runtime; one that must ` +
      "be enforced goes to the program",
    ignore: runtime === "crun" ? crunSkip !== undefined : blocker !== undefined,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
      const w = await makeWorld(`ssgcr-fast-${runtime}-`);
      const config = await writeConfig(w.dir, w.pki, [`runtime = "${runtime}"`], [
        'log-level = "debug"',
      ]);
      // Older than the records' margin, as a node's configuration is.
      await configSettled(config);
      const frontEnd = `${w.dir}/front-end`;
      await Deno.writeTextFile(
        frontEnd,
        frontEndScript({
          program: WRAPPER,
          record: `${w.dir}/state/${RUNTIME_RECORD}`,
          configDefault: DEFAULT_CONFIG_PATH,
        }),
        { mode: 0o755 },
      );
      // Pod "declared" declares the image's 50000; Pod "undeclared" (tenant-a) does not.
      const declared = podFixture({
        name: "declared",
        uid: "00000000-0000-0000-0000-0000000000d1",
        runAsUser: 1000,
        runAsGroup: 1000,
        supplementalGroups: [50000, 60000],
      });
      const undeclared = podFixture({
        runAsUser: 1000,
        runAsGroup: 1000,
        supplementalGroups: [60000],
      });
      const kubelet = await startKubelet(w.pki, [declared, undeclared]);
      const ids = { declared: `ssgcr-fast-${Deno.pid}-d`, undeclared: `ssgcr-fast-${Deno.pid}-u` };
      const run = (args: string[], env: Record<string, string> = {}) =>
        runWrapper(["--root", w.root, ...args], { program: frontEnd, config, env });
      try {
        await start(w, frontEnd, config, ids.declared, {
          "io.kubernetes.cri.sandbox-name": "declared",
          "io.kubernetes.cri.sandbox-uid": "00000000-0000-0000-0000-0000000000d1",
        });
        await start(w, frontEnd, config, ids.undeclared, {});
        // The create decided: the declared Pod's container needs nothing; the other's loses 50000.
        const creates = (await decisions(w.dir)).filter((r) => r.msg === "decision");
        deepEqual(creates.map((r) => [r.container, r.verdict]), [
          [ids.declared, "unchanged"],
          [ids.undeclared, "rewrite"],
        ]);

        const execsBefore = await execRecords(w);
        // A process file per exec, as containerd's shim writes one (the program rewrites it).
        let execs = 0;
        const shim = async (id: string) => [
          "--log",
          `${w.dir}/log.json`,
          "--log-format",
          "json",
          "exec",
          "--process",
          await processFile(w, `exec-${++execs}`),
          "--pid-file",
          `${w.dir}/${id}.pid`,
          id,
        ];
        const before = (await execRecords(w)).length;
        const passed = await run(await shim(ids.declared));
        equal(passed.stdout, "1000 1000 1000 50000 60000\n", passed.stderr);
        equal((await execRecords(w)).length, before, "no Deno started: nothing recorded");

        const enforced = await run(await shim(ids.undeclared));
        equal(enforced.stdout, "1000 1000 1000 60000\n", enforced.stderr);
        const [record] = (await execRecords(w)).slice(before);
        deepEqual([record?.container, record?.verdict, record?.gids], [
          ids.undeclared,
          "rewrite",
          { before: [1000, 50000, 60000], after: [1000, 60000], dropped: [50000] },
        ]);

        // A changed configuration: every exec goes to the program, which names the identity
        // afresh once the change is older than the records' margin; then the front end alone.
        await Deno.writeTextFile(config, (await Deno.readTextFile(config)) + "\n");
        const again = (await execRecords(w)).length;
        const right = await run(await shim(ids.declared));
        equal(right.stdout, "1000 1000 1000 50000 60000\n");
        equal(
          (await execRecords(w)).length,
          again + 1,
          "right after the change, the program decided",
        );
        await configSettled(config);
        const relearned = await run(await shim(ids.declared));
        equal(relearned.stdout, "1000 1000 1000 50000 60000\n");
        equal((await execRecords(w)).length, again + 2, "a second later, the program again");
        const fastAgain = await run(await shim(ids.declared));
        equal(fastAgain.stdout, "1000 1000 1000 50000 60000\n");
        equal((await execRecords(w)).length, again + 2, "and then the front end alone again");
        console.log(
          `${runtime}: ${(await execRecords(w)).length - execsBefore.length} of 5 execs ` +
            "reached the program; the others went straight to the runtime",
        );
      } finally {
        await kubelet.close();
        for (const id of Object.values(ids)) {
          await new Deno.Command(runtime, {
            args: ["--root", w.root, "delete", "--force", id],
            stderr: "null",
          }).output();
        }
        await Deno.remove(w.dir, { recursive: true });
      }
    },
  });
}

/** Creates and starts a container of the tenant-a image through the front end. */
async function start(
  w: World,
  frontEnd: string,
  config: string,
  id: string,
  annotations: Record<string, string>,
): Promise<void> {
  const bundle = `${w.dir}/${id}`;
  await makeBundle(bundle, {
    rootfs: w.rootfs,
    args: ["sleep", "60"],
    ...USER,
    annotations: containerdAnnotations(annotations),
  });
  const created = spawnWrapper(["--root", w.root, "create", "--bundle", bundle, id], {
    program: frontEnd,
    config,
  });
  equal((await created.status).code, 0);
  const started = await runWrapper(["--root", w.root, "start", id], { program: frontEnd, config });
  equal(started.code, 0, started.stderr);
  await waitFor(`${id} to run`, async () => {
    const state = await runWrapper(["--root", w.root, "state", id], { program: frontEnd, config });
    return state.code === 0 && JSON.parse(state.stdout).status === "running";
  });
}

/**
 * An exec process file as containerd's shim writes it: Go's encoding of the stored spec's
 * process, compact, a final newline.
 */
async function processFile(w: World, name: string): Promise<string> {
  const path = `${w.dir}/${name}.json`;
  await Deno.writeTextFile(
    path,
    `{"user":${JSON.stringify(USER)},"args":${JSON.stringify(IDS)},"env":["PATH=/bin"],` +
      `"cwd":"/"}\n`,
  );
  return path;
}

/** Every record the program wrote about an exec (it writes one at debug level for each). */
async function execRecords(w: World): Promise<Record<string, unknown>[]> {
  return (await decisions(w.dir)).filter((r) => r.msg === "decision" && r.command === "exec");
}
