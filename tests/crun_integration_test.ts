/**
 * The wrapper in front of real crun, every crun of the runtime matrix
 * (tools/runtimes.json: Debian 12's 1.8, 13's 1.21, sid's 1.28), with the
 * TLS kubelet stand-in: the runc rows where crun supports them, and crun's
 * own ways: `--config/-f`, its exec rules (which differ by version: a
 * process without `user` runs as root before 1.16.1 and inherits the
 * create-time user after; `-u uid` runs as uid 0 from 1.19 to 1.26), no
 * `-g`, its `--log` spellings. Every identity the wrapper records is the one
 * that crun runs.
 */

import { deepEqual, equal, match } from "assert";
import { containerdAnnotations, makeBundle } from "./support/bundle.ts";
import { announceCrunBlocker } from "./support/crun.ts";
import { podFixture, startKubelet } from "./support/kubelet_standin.ts";
import { matrixNodes } from "./support/runtimes.ts";
import { makeWorld, type World } from "./support/world.ts";
import { decisions, runWrapper, spawnWrapper, waitFor, writeConfig } from "./support/wrapper.ts";
import { crunRules } from "../src/core/identity.ts";

const blocker = await announceCrunBlocker("crun integration tests");
const POD = podFixture({ runAsUser: 1000, runAsGroup: 1000, supplementalGroups: [60000] });
const ALICE = "uid=1000(alice) gid=1000(alice)";

for (const node of await matrixNodes()) {
  if (blocker === undefined && node.blocker !== undefined) {
    console.error(`\n*** SKIPPED: crun integration tests on ${node.name}: ${node.blocker} ***\n`);
  }
  suite(node.versions.crun, node.path, blocker ?? node.blocker);
}

/** The tests for one crun, found first on `path`. */
function suite(version: string, path: string, skip: string | undefined): void {
  const env = { PATH: path };
  let shared: Promise<World & { crunConfig: string }> | undefined;
  function world() {
    shared ??= makeWorld("ssgcr-crun-").then(async (w) => ({
      ...w,
      crunConfig: await writeConfig(w.dir, w.pki, ['runtime = "crun"']),
    }));
    return shared;
  }

  let serial = 0;
  function test(
    name: string,
    fn: (w: World & { crunConfig: string }, id: string) => Promise<void>,
  ) {
    Deno.test({
      name: `${version}: ${name}`,
      ignore: skip !== undefined,
      sanitizeResources: false,
      sanitizeOps: false,
      fn: async () => {
        const w = await world();
        const id = `ssgcr-crun-${Deno.pid}-${++serial}`;
        const kubelet = await startKubelet(w.pki, [POD]);
        try {
          await fn(w, id);
        } finally {
          await kubelet.close();
          for (const name of [id, `${id}-bare`]) {
            await new Deno.Command("crun", {
              args: ["--root", w.root, "delete", "--force", name],
              env,
              stderr: "null",
            }).output();
          }
        }
      },
    });
  }

  const crun = (w: World, args: string[], options: { cwd?: string } = {}) =>
    runWrapper(["--root", w.root, ...args], { program: "crun", env, ...options });
  const wrapped = (
    w: World & { crunConfig: string },
    args: string[],
    options: { cwd?: string } = {},
  ) => runWrapper(["--root", w.root, ...args], { config: w.crunConfig, env, ...options });

  /** The last decision record the wrapper logged for a container. */
  async function recordOf(w: World, id: string): Promise<Record<string, unknown>> {
    return (await decisions(w.dir)).findLast((r) => r.container === id && r.msg === "decision")!;
  }

  /** Creates and starts a long-running container through the wrapper, over crun. */
  async function start(w: World & { crunConfig: string }, id: string): Promise<string> {
    const bundle = `${w.dir}/${id}`;
    await makeBundle(bundle, {
      rootfs: w.rootfs,
      args: ["sleep", "60"],
      annotations: containerdAnnotations(),
    });
    const created = spawnWrapper(["--root", w.root, "create", "--bundle", bundle, id], {
      config: w.crunConfig,
      env,
    });
    equal((await created.status).code, 0);
    equal((await crun(w, ["start", id])).code, 0);
    await waitFor(`${id} to run`, async () => {
      const state = await crun(w, ["state", id]);
      return state.code === 0 && JSON.parse(state.stdout).status === "running";
    });
    return bundle;
  }

  test("run drops the image's gid that bare crun grants", async (w, id) => {
    for (const name of [id, `${id}-bare`]) {
      await makeBundle(`${w.dir}/${name}`, {
        rootfs: w.rootfs,
        annotations: containerdAnnotations(),
      });
    }
    const bare = await crun(w, ["run", `${id}-bare`], { cwd: `${w.dir}/${id}-bare` });
    equal(bare.stdout, `${ALICE} groups=1000(alice),50000(bypassed-group),60000\n`);
    const result = await wrapped(w, ["run", id], { cwd: `${w.dir}/${id}` });
    equal(result.stderr, "");
    equal(result.stdout, `${ALICE} groups=1000(alice),60000\n`);
    match(await Deno.readTextFile(`${w.dir}/${id}/config.json`), /"additionalGids":\[1000,60000\]/);
  });

  test("create and start: the container runs with the Pod's gids", async (w, id) => {
    const bundle = await start(w, id);
    equal((await recordOf(w, id)).verdict, "rewrite");
    // crun copied the rewritten spec into its state; an exec inheriting nothing shows the process.
    match(await Deno.readTextFile(`${bundle}/config.json`), /"additionalGids":\[1000,60000\]/);
    const status = JSON.parse((await crun(w, ["state", id])).stdout);
    // Deno grants /proc/<pid>/ only to programs allowed everything: grep reads it.
    const proc = await new Deno.Command("grep", {
      args: ["^Groups:", `/proc/${status.pid}/status`],
    })
      .output();
    equal(new TextDecoder().decode(proc.stdout).replace(/\s+/g, " ").trim(), "Groups: 1000 60000");
  });

  test(
    "crun's --config/-f names a spec outside the bundle, and that file is judged",
    async (w, id) => {
      const bundle = `${w.dir}/${id}`;
      await makeBundle(bundle, { rootfs: w.rootfs, annotations: containerdAnnotations() });
      const elsewhere = `${w.dir}/${id}-elsewhere.json`;
      await Deno.rename(`${bundle}/config.json`, elsewhere);
      await Deno.writeTextFile(`${bundle}/config.json`, "{}");
      const result = await wrapped(w, ["run", "-b", bundle, "-f", elsewhere, id]);
      equal(result.stdout, `${ALICE} groups=1000(alice),60000\n`, result.stderr);
      equal(
        await Deno.readTextFile(`${bundle}/config.json`),
        "{}",
        "the bundle's config.json is not it",
      );
      equal((await recordOf(w, id)).spec, elsewhere);
    },
  );

  test(
    "exec with a process file: its user is rewritten; without user crun runs root (before 1.16.1) or the create-time user, as recorded",
    async (w, id) => {
      await start(w, id);
      const withUser = `${w.dir}/${id}-p1.json`;
      const process = { args: ["id"], env: ["PATH=/bin"], cwd: "/" };
      await Deno.writeTextFile(
        withUser,
        JSON.stringify({
          ...process,
          user: { uid: 1000, gid: 1000, additionalGids: [1000, 50000, 60000] },
        }),
      );
      const rewritten = await wrapped(w, ["exec", "--process", withUser, id]);
      equal(rewritten.stdout, `${ALICE} groups=1000(alice),60000\n`, rewritten.stderr);

      const noUser = `${w.dir}/${id}-p2.json`;
      await Deno.writeTextFile(noUser, JSON.stringify(process));
      const bare = await crun(w, ["exec", "--process", noUser, id]);
      const result = await wrapped(w, ["exec", "--process", noUser, id]);
      equal(result.stdout, bare.stdout);
      const record = await recordOf(w, id);
      const rules = crunRules(`crun version ${version.split(" ")[1]}\n`);
      if (rules?.flavour === "crun" && !rules.inheritsUser) {
        // busybox's id prints no groups= when the process holds none.
        equal(bare.stdout, "uid=0(root) gid=0(root)\n");
        deepEqual([record.uid, record.gid, record.identityFrom], [0, 0, "runtime default"]);
      } else {
        equal(bare.stdout, `${ALICE} groups=1000(alice),60000\n`);
        deepEqual([record.uid, record.gid, record.identityFrom], [1000, 1000, "create-time spec"]);
      }
    },
  );

  test(
    "exec -u sets uid and gid and no groups, as recorded; crun has no -g, and neither has the wrapper",
    async (w, id) => {
      await start(w, id);
      const bare = await crun(w, ["exec", "-u", "1000:1000", id, "id"]);
      const result = await wrapped(w, ["exec", "-u", "1000:1000", id, "id"]);
      equal(result.stdout, bare.stdout);
      equal(bare.stdout, `${ALICE}\n`, "no supplementary groups at all");
      deepEqual((await recordOf(w, id)).gids, { before: [], after: [], dropped: [] });

      const bareG = await crun(w, ["exec", "-g", "50000", id, "id"]);
      equal(bareG.code === 0, false, "crun refuses -g");
      match(bareG.stderr, /invalid option -- 'g'/);
      const wrappedG = await wrapped(w, ["exec", "-g", "50000", id, "id"]);
      equal(wrappedG.code, 1);
      equal(wrappedG.stdout, "");
      match(wrappedG.stderr, /^strict-supplementalgroups: invalid option -- 'g' in -g\n$/);
    },
  );

  test(
    "exec -u uid without a gid runs as crun runs it (uid 0 on 1.19 to 1.26), as recorded",
    async (w, id) => {
      await start(w, id);
      const bare = await crun(w, ["exec", "-u", "1000", id, "id"]);
      const result = await wrapped(w, ["exec", "-u", "1000", id, "id"]);
      equal(result.stdout, bare.stdout, result.stderr);
      const record = await recordOf(w, id);
      const rules = crunRules(`crun version ${version.split(" ")[1]}\n`);
      if (rules?.flavour === "crun" && rules.bareUidIsRoot) {
        equal(bare.stdout, "uid=0(root) gid=0(root)\n");
        deepEqual([record.uid, record.gid], [0, 0]);
      } else {
        equal(bare.stdout, "uid=1000(alice) gid=0(root)\n");
        deepEqual([record.uid, record.gid], [1000, 0]);
      }
    },
  );

  test(
    "a refusal reaches crun's --log, in either spelling, as a line its callers parse",
    async (w, id) => {
      const bundle = `${w.dir}/${id}`;
      await makeBundle(bundle, { rootfs: w.rootfs, annotations: containerdAnnotations() });
      await Deno.mkdir(`${w.dir}/deny`, { recursive: true });
      const config = await writeConfig(`${w.dir}/deny`, w.pki, [
        'runtime = "crun"',
        'mode = "deny"',
      ]);
      for (const spelling of ["plain", "file:"]) {
        const log = `${w.dir}/${id}-${spelling.replace(":", "")}.json`;
        const target = spelling === "plain" ? log : `file:${log}`;
        const result = await runWrapper(
          [
            "--root",
            w.root,
            "--log",
            target,
            "--log-format",
            "json",
            "create",
            "--bundle",
            bundle,
            id,
          ],
          { config, env },
        );
        equal(result.code, 1);
        const line = JSON.parse(await Deno.readTextFile(log));
        equal(line.level, "error");
        match(
          line.msg,
          /^strict-supplementalgroups: gids 50000 are not declared by pod tenant-a\/app/,
        );
        // containerd decodes `time` as RFC 3339 (time.Time).
        equal(Number.isNaN(Date.parse(line.time)), false);
      }
      // journald:ID and syslog:ID name no file: the refusal is on stderr only.
      const journald = await runWrapper(
        ["--root", w.root, "--log", "journald:crun", "create", "--bundle", bundle, id],
        { config, cwd: w.dir, env },
      );
      equal(journald.code, 1);
      equal(await Deno.stat(`${w.dir}/journald:crun`).then(() => true, () => false), false);
    },
  );

  test(
    "pass-through state, kill, delete, features and --version are byte-identical to crun's",
    async (w, id) => {
      await start(w, id);
      const untimed = (text: string) => text.replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, "T");
      for (
        const args of [["--version"], ["features"], ["state", id], ["state", "no-such"], [
          "kill",
          id,
          "SIGCONT",
        ]]
      ) {
        const bare = await crun(w, args);
        const result = await wrapped(w, args);
        equal(result.stdout, bare.stdout, args.join(" "));
        equal(result.code, bare.code, args.join(" "));
        equal(untimed(result.stderr), untimed(bare.stderr), args.join(" "));
      }
      const deleted = await wrapped(w, ["delete", "--force", id]);
      equal(deleted.code, 0);
      equal((await crun(w, ["state", id])).code === 0, false, "the container is gone");
    },
  );
}
