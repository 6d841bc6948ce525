/**
 * The wrapper in front of a real runc, with a real HTTPS kubelet stand-in:
 * the shipped launcher, the shipped permission set, real containers.
 */

import { deepEqual, equal, match } from "assert";
import { containerdAnnotations, makeBundle } from "./support/bundle.ts";
import { podFixture, startKubelet } from "./support/kubelet_standin.ts";
import { makeWorld, type World } from "./support/world.ts";
import {
  announceRootTestsBlocker,
  decisions,
  runcDelete,
  runcStatus,
  runWrapper,
  spawnWrapper,
  waitFor,
  WRAPPER,
  writeConfig,
} from "./support/wrapper.ts";

const blocker = await announceRootTestsBlocker("runc integration tests");

const POD = podFixture({ runAsUser: 1000, runAsGroup: 1000, supplementalGroups: [60000, 60001] });
const ALICE = "uid=1000(alice) gid=1000(alice)";

let shared: Promise<World> | undefined;
function world(): Promise<World> {
  shared ??= makeWorld("ssgcr-runc-");
  return shared;
}

let serial = 0;
function test(name: string, fn: (w: World, id: string) => Promise<void>): void {
  Deno.test({
    name,
    ignore: blocker !== undefined,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
      const w = await world();
      const id = `ssgcr-${Deno.pid}-${++serial}`;
      const kubelet = await startKubelet(w.pki, [POD]);
      try {
        await fn(w, id);
      } finally {
        await kubelet.close();
        await runcDelete(w.root, id);
        await runcDelete(w.root, `${id}-bare`);
      }
    },
  });
}

test(
  "the wrapper drops the image's gid that bare runc grants (the demo scenario)",
  async (w, id) => {
    const annotations = containerdAnnotations();
    await makeBundle(`${w.dir}/${id}-bare`, { rootfs: w.rootfs, annotations });
    await makeBundle(`${w.dir}/${id}`, { rootfs: w.rootfs, annotations });
    const bare = await runWrapper(["--root", w.root, "run", `${id}-bare`], {
      cwd: `${w.dir}/${id}-bare`,
      program: "runc",
    });
    equal(bare.stdout, `${ALICE} groups=1000(alice),50000(bypassed-group),60000\n`);

    const wrapped = await runWrapper(["--root", w.root, "run", id], {
      cwd: `${w.dir}/${id}`,
      config: w.config,
    });
    equal(wrapped.stderr, "");
    equal(wrapped.stdout, `${ALICE} groups=1000(alice),60000\n`);
    equal(wrapped.code, 0);

    const spec = await Deno.readTextFile(`${w.dir}/${id}/config.json`);
    match(spec, /"additionalGids":\[1000,60000\]/);
    match(spec, /"hard":18446744073709551615,"soft":18446744073709551615/);
    match(spec, /"limit":9223372036854775807/);
    const decision = (await decisions(w.dir)).findLast((r) => r.container === id)!;
    equal(decision.verdict, "rewrite");
    deepEqual(decision.gids, {
      before: [1000, 50000, 60000],
      after: [1000, 60000],
      dropped: [50000],
    });
    // The timings `make bench` breaks a create down with: real, and nested.
    const { startupMs, lookupMs, elapsedMs } = decision as Record<string, number>;
    equal(decision.source, "kubelet");
    equal([startupMs, lookupMs, elapsedMs].every((ms) => ms! > 0), true);
    equal(lookupMs! < elapsedMs!, true, `kubelet ${lookupMs} ms within ${elapsedMs} ms`);
  },
);

test("exec --process and exec -g are filtered on a running container", async (w, id) => {
  const bundle = `${w.dir}/${id}`;
  await makeBundle(bundle, {
    rootfs: w.rootfs,
    args: ["sleep", "60"],
    annotations: containerdAnnotations(),
  });
  const create = spawnWrapper(["--root", w.root, "create", "--bundle", bundle, id], {
    config: w.config,
  });
  equal((await create.status).code, 0);
  equal((await runWrapper(["--root", w.root, "start", id])).code, 0);
  await waitFor("the container to run", async () => await runcStatus(w.root, id) === "running");

  const processFile = `${w.dir}/${id}-process.json`;
  await Deno.writeTextFile(
    processFile,
    JSON.stringify({
      terminal: false,
      user: { uid: 1000, gid: 1000, additionalGids: [1000, 50000, 60000] },
      args: ["id"],
      env: ["PATH=/bin"],
      cwd: "/",
    }),
  );
  const viaProcess = await runWrapper(["--root", w.root, "exec", "--process", processFile, id], {
    config: w.config,
  });
  equal(viaProcess.stdout, `${ALICE} groups=1000(alice),60000\n`);
  deepEqual(JSON.parse(await Deno.readTextFile(processFile)).user.additionalGids, [1000, 60000]);

  const bareG = await runWrapper(["--root", w.root, "exec", "-g", "50000", id, "id"], {
    program: "runc",
  });
  equal(bareG.stdout, `${ALICE} groups=1000(alice),50000(bypassed-group),60000\n`);
  const viaG = await runWrapper(
    ["--root", w.root, "exec", "-g", "50000", "--additional-gids", "60001", id, "id"],
    { config: w.config },
  );
  equal(viaG.stdout, `${ALICE} groups=1000(alice),60000,60001\n`);
});

test(
  "fds passed with --preserve-fds reach the runtime through the enforcement path",
  async (w, id) => {
    const bundle = `${w.dir}/${id}`;
    await makeBundle(bundle, {
      rootfs: w.rootfs,
      args: ["sh", "-c", "echo through-fd3 >&3"],
      annotations: containerdAnnotations(),
    });
    const out = `${w.dir}/${id}-fd3.txt`;
    const shell = await new Deno.Command("bash", {
      args: [
        "-c",
        `exec 3>"${out}"; exec "${WRAPPER}" --root "${w.root}" run --preserve-fds 1 ${id}`,
      ],
      cwd: bundle,
      env: { STRICT_SUPPLEMENTALGROUPS_CONFIG: w.config },
    }).output();
    equal(shell.code, 0, new TextDecoder().decode(shell.stderr));
    equal(await Deno.readTextFile(out), "through-fd3\n");
  },
);

test(
  "pass-through --version and state are byte-identical to runc's, exit codes included",
  async (w, id) => {
    for (
      const args of [["--version"], ["--root", w.root, "state", "no-such-container"], ["features"]]
    ) {
      const bare = await runWrapper(args, { program: "runc" });
      const wrapped = await runWrapper(args, { config: w.config });
      equal(wrapped.stdout, bare.stdout, args.join(" "));
      equal(wrapped.code, bare.code, args.join(" "));
      // runc's error lines carry a timestamp; everything else must match.
      const untimed = (text: string) => text.replace(/time="[^"]*"/g, "time=T");
      equal(untimed(wrapped.stderr), untimed(bare.stderr), args.join(" "));
    }
    const bundle = `${w.dir}/${id}`;
    await makeBundle(bundle, { rootfs: w.rootfs, args: ["sleep", "60"] });
    equal(
      (await spawnWrapper(["--root", w.root, "create", "--bundle", bundle, id]).status).code,
      0,
    );
    const bare = await runWrapper(["--root", w.root, "state", id], { program: "runc" });
    const wrapped = await runWrapper(["--root", w.root, "state", id], { config: w.config });
    equal(bare.code, 0);
    equal(wrapped.stdout, bare.stdout);
    equal(JSON.parse(wrapped.stdout).status, "created");
  },
);

test("the runtime's exit status is mirrored", async (w, id) => {
  const bundle = `${w.dir}/${id}`;
  await makeBundle(bundle, { rootfs: w.rootfs, args: ["sh", "-c", "exit 3"] });
  const result = await runWrapper(["--root", w.root, "run", id], { cwd: bundle, config: w.config });
  equal(result.code, 3);
  await runcDelete(w.root, id);
  await makeBundle(bundle, { rootfs: w.rootfs, args: ["sh", "-c", "exit 255"] });
  equal(
    (await runWrapper(["--root", w.root, "run", id], { cwd: bundle, config: w.config })).code,
    255,
  );
});

test(
  "SIGTERM is forwarded to the runtime and a runtime killed by a signal is mirrored as 128+N",
  async (w, id) => {
    const bundle = `${w.dir}/${id}`;
    await makeBundle(bundle, {
      rootfs: w.rootfs,
      args: ["sh", "-c", 'trap "exit 42" TERM; while true; do sleep 0.05; done'],
    });
    const child = spawnWrapper(["--root", w.root, "run", id], { cwd: bundle, config: w.config });
    await waitFor("the container to run", async () => await runcStatus(w.root, id) === "running");
    child.kill("SIGTERM");
    equal((await child.status).code, 42);

    await runcDelete(w.root, id);
    const second = spawnWrapper(["--root", w.root, "run", id], { cwd: bundle, config: w.config });
    await waitFor("the container to run", async () => await runcStatus(w.root, id) === "running");
    const runcPid = await childOf(second.pid);
    Deno.kill(runcPid, "SIGKILL");
    equal((await second.status).code, 128 + 9);
  },
);

test(
  "a refusal reaches the caller's --log in runc's format, stderr in one line, nothing on stdout",
  async (w, id) => {
    const bundle = `${w.dir}/${id}`;
    const original = await makeBundle(bundle, {
      rootfs: w.rootfs,
      annotations: containerdAnnotations(),
    });
    const config = await writeConfig(`${w.dir}`, w.pki, ['mode = "deny"']);
    const log = `${bundle}/log.json`;
    await Deno.writeTextFile(
      log,
      '{"level":"info","msg":"earlier","time":"2026-01-01T00:00:00Z"}\n',
    );
    const result = await runWrapper(
      ["--root", w.root, "--log", log, "--log-format", "json", "create", "--bundle", bundle, id],
      { config },
    );
    equal(result.code, 1);
    equal(result.stdout, "");
    const message = "strict-supplementalgroups: gids 50000 are not declared by pod tenant-a/app " +
      "(mode deny): declare them in securityContext.supplementalGroups or remove them from the " +
      "image's /etc/group";
    equal(result.stderr, `${message}\n`);
    const lines = (await Deno.readTextFile(log)).trim().split("\n").map((l) => JSON.parse(l));
    equal(lines.length, 2);
    equal(lines[1].level, "error");
    equal(lines[1].msg, message);
    match(lines[1].time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    equal(await Deno.readTextFile(`${bundle}/config.json`), original);
    equal(await runcStatus(w.root, id), undefined);
    await writeConfig(`${w.dir}`, w.pki);
  },
);

test("audit mode runs the container unchanged and logs what enforce would drop", async (w, id) => {
  const bundle = `${w.dir}/${id}`;
  const original = await makeBundle(bundle, {
    rootfs: w.rootfs,
    annotations: containerdAnnotations(),
  });
  const config = await writeConfig(`${w.dir}`, w.pki, ['mode = "audit"']);
  try {
    const result = await runWrapper(["--root", w.root, "run", id], { cwd: bundle, config });
    equal(result.stdout, `${ALICE} groups=1000(alice),50000(bypassed-group),60000\n`);
    equal(await Deno.readTextFile(`${bundle}/config.json`), original);
    const line = (await decisions(w.dir)).findLast((r) => r.container === id)!;
    equal(line.level, "warn");
    equal(line.verdict, "audit");
    deepEqual((line.gids as { dropped: number[] }).dropped, [50000]);
  } finally {
    await writeConfig(`${w.dir}`, w.pki);
  }
});

test("the node policy refuses an image-derived gid 0 on a real runc", async (w, id) => {
  const bundle = `${w.dir}/${id}`;
  const original = await makeBundle(bundle, {
    rootfs: w.rootfs,
    gid: 0,
    additionalGids: [0, 60000],
    annotations: containerdAnnotations(),
  });
  const config = await writeConfig(`${w.dir}`, w.pki, [
    "[policy]",
    'run-as-group = { rule = "MustRunAsRange", ranges = [{ min = 1000, max = 65534 }] }',
  ]);
  try {
    const log = `${bundle}/log.json`;
    const result = await runWrapper(
      ["--root", w.root, "--log", log, "--log-format", "json", "run", id],
      { cwd: bundle, config },
    );
    equal(result.code, 1);
    equal(result.stdout, "");
    const message = "strict-supplementalgroups: run-as-group: 0 is not in the allowed ranges " +
      "[1000-65534] (namespace tenant-a)";
    equal(result.stderr, `${message}\n`);
    equal(JSON.parse(await Deno.readTextFile(log)).msg, message);
    equal(await Deno.readTextFile(`${bundle}/config.json`), original);
    equal(await runcStatus(w.root, id), undefined);
  } finally {
    await writeConfig(`${w.dir}`, w.pki);
  }
});

async function childOf(pid: number): Promise<number> {
  let found: number | undefined;
  await waitFor("the runtime child", async () => {
    const out = await new Deno.Command("pgrep", { args: ["-P", String(pid)] }).output();
    found = Number(new TextDecoder().decode(out.stdout).trim().split("\n")[0]) || undefined;
    return found !== undefined;
  });
  return found!;
}
