/**
 * `make bench`: the wrapper's cost against bare runc, measured side by side
 * in one run on real runc with the HTTPS kubelet stand-in and, for the rows
 * of containerd's CRI as the source, a gRPC stand-in on containerd's
 * default socket (docs/performance.md): wall and CPU time (user + sys, the
 * wrapper's children included) per invocation, kubelet and CRI requests,
 * peak memory, 50 concurrent creates, and a whole CRI lifecycle through a
 * private containerd with each source and with images that grant their user
 * nothing. Execs are measured into a container that needs nothing (the front
 * end alone) and into one with a gid to drop (the program), with the
 * program's runs counted from its decision records. The wrapper runs as
 * `install` deploys it: the shell front end in front of the built program,
 * its state directory on tmpfs as `/run` is on a node.
 * Prints markdown tables and budget verdicts; writes `.cache/bench.json`.
 *
 * @module
 */

import { frontEndScript } from "../src/admin/front_end.ts";
import { DEFAULT_CONFIG_PATH, RUNTIME_RECORD } from "../src/config/config_file.ts";
import { containerdAnnotations, makeBundle, makeRootfs } from "../tests/support/bundle.ts";
import { alicePod, podFixture, startKubelet } from "../tests/support/kubelet_standin.ts";
import { makePki } from "../tests/support/pki.ts";
import {
  decisions,
  REPO,
  rootTestsBlocker,
  WRAPPER,
  writeConfig,
} from "../tests/support/wrapper.ts";
import { E2e, TABLE } from "../tests/e2e/scenarios.ts";
import { describeNode, matrixNodes, type RuntimeNode } from "../tests/support/runtimes.ts";
import { DEFAULT_CONFIG } from "../src/config/config.ts";
import { type CriStandin, startCri, tenantAContainerInfo } from "../tests/support/cri_standin.ts";
import { defaultSocketBlocker, useDefaultSocket } from "../tests/support/host.ts";

const RUNS = Number(Deno.env.get("BENCH_RUNS") ?? 25);
/** The e2e rows the CRI lifecycles are made of: a gid to drop, and an image granting nothing. */
const DROPPED_ROW = "undeclared image gid is dropped";
const NOTHING_ROW = "an image that grants the user no group needs no Pod lookup";
const NOTHING_EXEC = "wrapper exec, needs nothing (front end)";
const NOTHING_RUNC = "runc exec (the container that needs nothing)";
const DROPPED_EXEC = "wrapper exec, a gid to drop (program)";
const PODS_IN_A_ROW = Number(Deno.env.get("BENCH_CRI_PODS") ?? 8);

const blocker = await rootTestsBlocker();
if (blocker !== undefined) {
  console.error(`bench: cannot run containers here (${blocker})`);
  Deno.exit(1);
}

/** One invocation's cost. */
interface Sample {
  wallMs: number;
  cpuMs: number;
}

interface Stats {
  median: number;
  p10: number;
  p90: number;
  p99: number;
  cpu: number;
  n: number;
  /** Kubelet requests per invocation, for wrapper rows. */
  kubelet?: number;
  /** containerd CRI requests per invocation, for the rows that ran beside the CRI stand-in. */
  cri?: number;
  /** Decision records per invocation (the Deno program's runs), for the rows that count them. */
  program?: number;
}

function quantiles(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { median: at(0.5), p10: at(0.1), p90: at(0.9), p99: at(0.99), n: sorted.length };
}

function stats(samples: Sample[]): Stats {
  return {
    ...quantiles(samples.map((s) => s.wallMs)),
    cpu: quantiles(samples.map((s) => s.cpuMs)).median,
  };
}

/**
 * Runs a command to completion: wall time around the command alone, and the
 * CPU its process tree used (bash's `times`, children's user + sys, to the
 * millisecond). Fails on a non-zero exit.
 */
async function measure(
  argv: string[],
  options: { env?: Record<string, string>; cwd?: string } = {},
): Promise<Sample> {
  const out = await new Deno.Command("bash", {
    args: [
      "-c",
      's=$EPOCHREALTIME; "$@" </dev/null >/dev/null 2>&1; c=$?; e=$EPOCHREALTIME; times; echo "$s $e $c"',
      "bash",
      ...argv,
    ],
    env: options.env ?? {},
    ...(options.cwd ? { cwd: options.cwd } : {}),
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).output();
  const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
  const [start, end, code] = lines.at(-1)!.split(" ");
  if (code !== "0") throw new Error(`${argv.join(" ")}: exit ${code}`);
  const seconds = (text: string) => {
    const m = /^(\d+)m([\d.]+)s$/.exec(text)!;
    return Number(m[1]) * 60 + Number(m[2]);
  };
  const [user, sys] = lines.at(-2)!.split(" ");
  return {
    wallMs: (Number(end) - Number(start)) * 1000,
    cpuMs: (seconds(user!) + seconds(sys!)) * 1000,
  };
}

async function peakRssKb(argv: string[], env: Record<string, string>): Promise<number> {
  const report = await Deno.makeTempFile();
  try {
    await measure(["/usr/bin/time", "-f", "%M", "-o", report, ...argv], { env });
    return Number((await Deno.readTextFile(report)).trim().split("\n").at(-1));
  } finally {
    await Deno.remove(report);
  }
}

/** A Pod the size of a real one: labels, annotations, env, volumes, probes. */
function realisticPod(i: number): Record<string, unknown> {
  const pod = podFixture({ namespace: `ns-${i % 40}`, name: `pod-${i}`, uid: crypto.randomUUID() });
  const spec = pod.spec as Record<string, unknown>;
  (pod.metadata as Record<string, unknown>).labels = Object.fromEntries(
    Array.from({ length: 8 }, (_, k) => [`app.kubernetes.io/label-${k}`, `value-${i}-${k}`]),
  );
  (pod.metadata as Record<string, unknown>).annotations = {
    "kubectl.kubernetes.io/last-applied-configuration": "x".repeat(1500),
  };
  spec.containers = Array.from({ length: 2 }, (_, c) => ({
    name: c === 0 ? "main" : `sidecar-${c}`,
    image: `registry.example/team/app-${i}:v1.${c}`,
    env: Array.from({ length: 15 }, (_, e) => ({ name: `ENV_${e}`, value: `value-${e}-${i}` })),
    resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "256Mi" } },
    volumeMounts: [{ name: "data", mountPath: "/data" }, {
      name: "token",
      mountPath: "/var/run/secrets",
    }],
    readinessProbe: { httpGet: { path: "/healthz", port: 8080 }, periodSeconds: 10 },
  }));
  spec.volumes = [{ name: "data", persistentVolumeClaim: { claimName: `pvc-${i}` } }, {
    name: "token",
    projected: { sources: [{ serviceAccountToken: { path: "token", expirationSeconds: 3607 } }] },
  }];
  return pod;
}

const sh = (script: string) =>
  new Deno.Command("bash", { args: ["-c", script], stdout: "null", stderr: "null" }).output();

const dir = await Deno.makeTempDir({ prefix: "ssgcr-bench-" });
await Deno.mkdir(`${dir}/pki`);
const pki = await makePki(`${dir}/pki`);
const rootfs = await makeRootfs(dir);
// The state directory on tmpfs, as /run is on a node.
const state = `${dir}/state`;
await Deno.mkdir(state, { mode: 0o700 });
await sh(`mount -t tmpfs -o size=64m,mode=0700 tmpfs '${state}'`);
const config = await writeConfig(dir, pki);
// The path of before the cache: every create asks the kubelet (its own log and state).
await Deno.mkdir(`${dir}/no-cache`);
const noCache = await writeConfig(`${dir}/no-cache`, pki, ["pod-cache = false"]);
const env = { STRICT_SUPPLEMENTALGROUPS_CONFIG: config };
const noCacheEnv = { STRICT_SUPPLEMENTALGROUPS_CONFIG: noCache };
const frontEnd = `${dir}/strict-supplementalgroups-container-runtime`;
await Deno.writeTextFile(
  frontEnd,
  frontEndScript({
    program: WRAPPER,
    record: `${state}/${RUNTIME_RECORD}`,
    configDefault: DEFAULT_CONFIG_PATH,
  }),
  { mode: 0o755 },
);
await Deno.chmod(frontEnd, 0o755);
const root = `${dir}/runc-root`;
const target = alicePod();
const kubelet = await startKubelet(pki, [target]);
const results: Record<string, Stats> = {};
const launcher = (await Deno.readTextFile(WRAPPER)).startsWith("#!") ? "launcher" : "compiled";
type Lifecycle = {
  runc: number[];
  wrapper: number[];
  /** Native `supplementalGroupsPolicy: Strict` on the bare runc handler (containerd 2.x). */
  strict?: number[];
  requests: number;
  /** The node it ran on. */
  node: string;
  /** The e2e row its Pods are made of. */
  row: string;
};
let lifecycle: Lifecycle | undefined;
let lifecycleCri: Lifecycle | undefined;
let lifecycleStrict: Lifecycle | undefined;
let lifecycleNothing: Lifecycle | undefined;
/** The CRI stand-in, while the CRI-source rows run. */
let cri: CriStandin | undefined;
/** Why the CRI-source rows cannot run (another containerd serves the default socket). */
const criBlocker = await defaultSocketBlocker();

/**
 * Samples rows side by side: each run takes one sample of every row, in
 * turn, so that the machine's noise falls on all of them alike.
 *
 * @param rows The rows.
 * @param runs The samples of each.
 */
async function side(rows: Record<string, Row>, runs = RUNS): Promise<void> {
  const names = Object.keys(rows);
  const samples: Record<string, Sample[]> = Object.fromEntries(names.map((n) => [n, []]));
  const asked: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]));
  const askedCri: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]));
  const decided: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]));
  for (const name of names) {
    await rows[name]!.before?.();
    await rows[name]!.run(); // warm the caches
  }
  for (let i = 0; i < runs; i++) {
    for (const name of names) {
      const row = rows[name]!;
      await row.before?.();
      const requests = kubelet.clients.length;
      const criRequests = cri?.requests.length ?? 0;
      const records = row.countDecisions ? await decisionCount() : 0;
      samples[name]!.push(await row.run());
      asked[name]! += kubelet.clients.length - requests;
      askedCri[name]! += (cri?.requests.length ?? 0) - criRequests;
      if (row.countDecisions) decided[name]! += await decisionCount() - records;
    }
  }
  for (const name of names) {
    results[name] = {
      ...stats(samples[name]!),
      kubelet: asked[name]! / runs,
      ...(cri === undefined ? {} : { cri: askedCri[name]! / runs }),
      ...(rows[name]!.countDecisions ? { program: decided[name]! / runs } : {}),
    };
  }
}

/** One row of {@linkcode side}. */
interface Row {
  run: () => Promise<Sample>;
  before?: () => Promise<void>;
  /** Count the decision records each run adds to the wrapper's log: the program's runs. */
  countDecisions?: boolean;
}

/** The decision records in the wrapper's log (one for each run of the Deno program). */
async function decisionCount(): Promise<number> {
  const text = await Deno.readTextFile(`${dir}/wrapper.log`).catch(() => "");
  return text.split('"msg":"decision"').length - 1;
}

try {
  // Deno floor: an empty program under the same runtime flags as the wrapper.
  await Deno.writeTextFile(`${dir}/empty.ts`, "");
  const floor = `${dir}/floor.sh`;
  await Deno.writeTextFile(
    floor,
    (await Deno.readTextFile(WRAPPER)).replace(
      /'[^']*runtime_main\.(ts|js)'/,
      `'${dir}/empty.ts'`,
    ),
    { mode: 0o755 },
  );
  await Deno.chmod(floor, 0o755);

  // Pass-through: the record is written by the program's first call.
  await measure([WRAPPER, "--version"], { env });
  const stateBundle = `${dir}/state-bundle`;
  await makeBundle(stateBundle, { rootfs, args: ["sleep", "600"] });
  await measure(["runc", "--root", root, "run", "-d", "--bundle", stateBundle, "pt"]);
  let victims = 0;
  const victim = async () => {
    const id = `victim-${victims++}`;
    await measure(["runc", "--root", root, "create", "--bundle", stateBundle, id]);
    return id;
  };
  let runcVictim = "";
  let wrapperVictim = "";
  await side({
    "deno floor": { run: () => measure([floor]) },
    "runc --version": { run: () => measure(["runc", "--version"]) },
    "front end --version": { run: () => measure([frontEnd, "--version"], { env }) },
    "program --version": { run: () => measure([WRAPPER, "--version"], { env }) },
    "runc state": { run: () => measure(["runc", "--root", root, "state", "pt"]) },
    "front end state": { run: () => measure([frontEnd, "--root", root, "state", "pt"], { env }) },
    "program state": { run: () => measure([WRAPPER, "--root", root, "state", "pt"], { env }) },
    "runc kill": { run: () => measure(["runc", "--root", root, "kill", "pt", "SIGCONT"]) },
    "front end kill": {
      run: () => measure([frontEnd, "--root", root, "kill", "pt", "SIGCONT"], { env }),
    },
    "runc delete": {
      before: async () => void (runcVictim = await victim()),
      run: () => measure(["runc", "--root", root, "delete", "--force", runcVictim]),
    },
    "front end delete": {
      before: async () => void (wrapperVictim = await victim()),
      run: () => measure([frontEnd, "--root", root, "delete", "--force", wrapperVictim], { env }),
    },
  });

  // exec --process into running containers, as containerd's shim sends it: one whose image
  // grants its user a gid the Pod does not declare (the program drops it), and one whose image
  // grants its user nothing (the front end passes the exec straight to runc).
  const NOTHING = { uid: 2000, gid: 2000, additionalGids: [2000, 60000] };
  const DROPPED = { uid: 1000, gid: 1000, additionalGids: [1000, 50000, 60000] };
  for (const [id, user] of [["exec-c", DROPPED], ["exec-n", NOTHING]] as const) {
    await makeBundle(`${dir}/${id}`, {
      rootfs,
      args: ["sleep", "600"],
      ...user,
      annotations: containerdAnnotations(),
    });
    await measure([frontEnd, "--root", root, "create", "--bundle", `${dir}/${id}`, id], { env });
    await measure(["runc", "--root", root, "start", id]);
  }
  const processFile = `${dir}/runc-process`;
  // Go's encoding of the stored process, as containerd's shim writes it (compact, one line).
  // Each exec then starts after a pause, as probes come seconds apart: on this VM's cgroup v1
  // hierarchies the first cgroup.procs write after an idle spell waits for an RCU grace period
  // (10-15 ms, bare runc alike), and execs back to back would land on either side of it by chance.
  const processOf = (user: typeof DROPPED | typeof NOTHING) => async () => {
    await Deno.writeTextFile(
      processFile,
      JSON.stringify({ user, args: ["true"], env: ["PATH=/bin"], cwd: "/" }) + "\n",
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
  };
  const writeProcess = processOf(DROPPED);
  const execArgv = (program: string, id = "exec-c") => [
    program,
    "--root",
    root,
    "exec",
    "--process",
    processFile,
    "--pid-file",
    `${dir}/${id}/exec.pid`,
    id,
  ];
  // Four times the samples: these rows differ by a millisecond or two.
  await side({
    [NOTHING_RUNC]: { before: processOf(NOTHING), run: () => measure(execArgv("runc", "exec-n")) },
    [NOTHING_EXEC]: {
      before: processOf(NOTHING),
      run: () => measure(execArgv(frontEnd, "exec-n"), { env }),
      countDecisions: true,
    },
    "runc exec": { before: writeProcess, run: () => measure(execArgv("runc")) },
    [DROPPED_EXEC]: {
      before: writeProcess,
      run: () => measure(execArgv(frontEnd), { env }),
      countDecisions: true,
    },
  }, RUNS * 4);

  // Creates: cold (an empty cache), warm (the Pod cached), and the kubelet path of before the
  // cache (pod-cache = false), at 110 and 500 Pods on the node.
  const bundle = `${dir}/bundle`;
  const spec = await makeBundle(bundle, {
    rootfs,
    args: ["sleep", "600"],
    annotations: containerdAnnotations(),
  });
  // An image that grants the user nothing (decided without the Pod), and a Pod sandbox.
  const nothingSpec = await makeBundle(`${dir}/nothing`, {
    rootfs,
    args: ["sleep", "600"],
    ...NOTHING,
    annotations: containerdAnnotations(),
  });
  const sandboxSpec = await makeBundle(`${dir}/sandbox`, {
    rootfs,
    args: ["sleep", "600"],
    uid: 65535,
    gid: 65535,
    additionalGids: [65535],
    annotations: containerdAnnotations({ "io.kubernetes.cri.container-type": "sandbox" }),
  });
  const createWith = async (program: string, e: Record<string, string>, text = spec) => {
    await Deno.writeTextFile(`${bundle}/config.json`, text);
    const id = `bench-${crypto.randomUUID().slice(0, 8)}`;
    const sample = await measure([program, "--root", root, "create", "--bundle", bundle, id], {
      env: e,
    });
    await measure(["runc", "--root", root, "delete", "--force", id]);
    return sample;
  };
  const emptyCache = () => Deno.remove(`${state}/pods`, { recursive: true }).catch(() => {});
  const forgetTarget = () =>
    Deno.remove(`${state}/pods/${(target.metadata as { uid: string }).uid}.json`).catch(() => {});
  const phases: Record<string, Record<string, number>> = {};
  for (const count of [110, 500]) {
    kubelet.behaviour.pods = [
      ...Array.from({ length: count - 1 }, (_, i) => realisticPod(i)),
      target,
    ];
    const logged = (await decisions(dir)).length;
    const loggedNoCache = (await decisions(`${dir}/no-cache`)).length;
    await side({
      [`runc create (${count} pods)`]: { run: () => createWith("runc", {}) },
      [`wrapper create, warm (${count} pods)`]: { run: () => createWith(frontEnd, env) },
      // A new Pod on a busy node: the others' entries are there, its own is not.
      [`wrapper create, new Pod (${count} pods)`]: {
        before: forgetTarget,
        run: () => createWith(frontEnd, env),
      },
      // A node's first create after a reboot: the cache is empty, all entries are written.
      [`wrapper create, cold (${count} pods)`]: {
        before: emptyCache,
        run: () => createWith(frontEnd, env),
      },
      [`wrapper create, no cache (${count} pods)`]: { run: () => createWith(frontEnd, noCacheEnv) },
      [`wrapper create, image grants nothing (${count} pods)`]: {
        run: () => createWith(frontEnd, env, nothingSpec),
      },
      [`wrapper create, Pod sandbox (${count} pods)`]: {
        run: () => createWith(frontEnd, env, sandboxSpec),
      },
    });
    const records = [
      ...(await decisions(dir)).slice(logged),
      ...(await decisions(`${dir}/no-cache`)).slice(loggedNoCache),
    ].filter((r) => r.msg === "decision" && r.command === "create");
    const median = (key: string, source: string) =>
      quantiles(records.filter((r) => r.source === source).map((r) => r[key] as number)).median;
    phases[`${count} pods, cache`] = {
      startupMs: median("startupMs", "cache"),
      lookupMs: median("lookupMs", "cache"),
      elapsedMs: median("elapsedMs", "cache"),
      runcMs: results[`runc create (${count} pods)`]!.median,
      wallMs: results[`wrapper create, warm (${count} pods)`]!.median,
    };
    // (The kubelet's records: the no-cache rows' and the cold rows', alike in their lookup.)
    phases[`${count} pods, kubelet`] = {
      startupMs: median("startupMs", "kubelet"),
      lookupMs: median("lookupMs", "kubelet"),
      elapsedMs: median("elapsedMs", "kubelet"),
      runcMs: results[`runc create (${count} pods)`]!.median,
      wallMs: results[`wrapper create, no cache (${count} pods)`]!.median,
    };
  }
  const podListBytes = JSON.stringify({ items: kubelet.behaviour.pods }).length;

  // containerd's CRI as the source, beside the kubelet's (500 Pods listed), in one run: a
  // create asks ContainerStatus; an exec finds the container cache, or without it asks again.
  // The stand-in is a real gRPC server on the default socket (the one the permission set
  // allows); its own work is in the wall times, not in the wrapper's CPU.
  if (criBlocker === undefined) {
    const releaseSocket = await useDefaultSocket();
    cri = await startCri(DEFAULT_CONFIG.containerdSocket, () => ({ info: tenantAContainerInfo() }));
    const criConfig = (name: string, extra: string[]) =>
      Deno.mkdir(`${dir}/${name}`).then(() =>
        writeConfig(`${dir}/${name}`, pki, [
          `containerd-socket = "${DEFAULT_CONFIG.containerdSocket}"`,
          `state-dir = "${state}/${name}"`,
          ...extra,
        ])
      );
    const criEnv = { STRICT_SUPPLEMENTALGROUPS_CONFIG: await criConfig("cri", []) };
    const criNoCacheEnv = {
      STRICT_SUPPLEMENTALGROUPS_CONFIG: await criConfig("cri-no-cache", ["pod-cache = false"]),
    };
    try {
      await side({
        "runc exec (source rows)": { before: writeProcess, run: () => measure(execArgv("runc")) },
        "wrapper exec, kubelet source, Pod cache": {
          before: writeProcess,
          run: () => measure(execArgv(frontEnd), { env }),
        },
        "wrapper exec, CRI source, container cache": {
          before: writeProcess,
          run: () => measure(execArgv(frontEnd), { env: criEnv }),
        },
        "wrapper exec, CRI source, no cache": {
          before: writeProcess,
          run: () => measure(execArgv(frontEnd), { env: criNoCacheEnv }),
        },
      });
      await side({
        "runc create (source rows)": { run: () => createWith("runc", {}) },
        "wrapper create, kubelet source, Pod cache": { run: () => createWith(frontEnd, env) },
        "wrapper create, kubelet source, no cache": {
          run: () => createWith(frontEnd, noCacheEnv),
        },
        "wrapper create, CRI source": { run: () => createWith(frontEnd, criEnv) },
      });
    } finally {
      cri.close();
      cri = undefined;
      await releaseSocket();
    }
  } else {
    console.error(`bench: the CRI-source rows are not measured: ${criBlocker}`);
  }

  const cycle = async (program: string, e: Record<string, string>) => {
    await Deno.writeTextFile(`${bundle}/config.json`, spec);
    const id = `cycle-${crypto.randomUUID().slice(0, 8)}`;
    const samples = [
      await measure([program, "--root", root, "create", "--bundle", bundle, id], { env: e }),
      await measure([program, "--root", root, "start", id], { env: e }),
      await measure([program, "--root", root, "delete", "--force", id], { env: e }),
    ];
    return {
      wallMs: samples.reduce((sum, s) => sum + s.wallMs, 0),
      cpuMs: samples.reduce((sum, s) => sum + s.cpuMs, 0),
    };
  };
  await side({
    "runc create/start/delete": { run: () => cycle("runc", {}) },
    "wrapper create/start/delete (warm)": { run: () => cycle(frontEnd, env) },
  });

  // Peak memory.
  const floorRss = await peakRssKb([floor], {});
  await Deno.writeTextFile(`${bundle}/config.json`, spec);
  const rss = async (argv: string[]) => await peakRssKb(argv, env);
  const createRss = async () => {
    await Deno.writeTextFile(`${bundle}/config.json`, spec);
    const kb = await rss([WRAPPER, "--root", root, "create", "--bundle", bundle, "rss-c"]);
    await measure(["runc", "--root", root, "delete", "--force", "rss-c"]);
    return kb;
  };
  const warmRss = await createRss();
  await writeProcess();
  const execRss = await rss(execArgv(WRAPPER));
  await emptyCache();
  const coldRss = await createRss();
  const passRss = await rss([WRAPPER, "--version"]);

  // 50 concurrent creates on distinct bundles (warm).
  const concurrent = await Promise.all(Array.from({ length: 50 }, async (_, i) => {
    const b = `${dir}/c-${i}`;
    await Deno.mkdir(b, { recursive: true });
    await Deno.writeTextFile(`${b}/config.json`, spec);
    try {
      return {
        ok: true,
        ms: (await measure([frontEnd, "--root", root, "create", "--bundle", b, `conc-${i}`], {
          env,
        })).wallMs,
      };
    } catch (error) {
      return { ok: false, ms: 0, error: String(error) };
    }
  }));
  for (let i = 0; i < 50; i++) {
    await measure(["runc", "--root", root, "delete", "--force", `conc-${i}`]).catch(() => 0);
  }
  const okTimes = concurrent.filter((c) => c.ok).map((c) => c.ms);
  results["50 concurrent wrapper creates"] = { ...quantiles(okTimes), cpu: NaN };
  const errors = concurrent.filter((c) => !c.ok).length;
  await kubelet.close();

  // The whole system: Pods in a row through containerd's CRI, each one sandbox, two
  // containers, six execs, stop and remove; the two handlers alternate Pod by Pod. Once with
  // the kubelet stand-in as the source, once with containerd's CRI (the stand-in stopped).
  const nodes = await matrixNodes();
  // Debian 12's containerd, runc and crun: the machine's own packages.
  const system = nodes.find((n) => n.pins.system)!;
  lifecycle = await criLifecycle(system);
  if (criBlocker === undefined) lifecycleCri = await criLifecycle(system, { criSource: true });
  // Most images grant their user nothing: no Pod lookup at create, no Deno at exec.
  lifecycleNothing = await criLifecycle(system, { row: NOTHING_ROW });
  // containerd 2.x's own Strict (the anchor: no wrapper at all) beside the wrapper.
  const strictNode = nodes.find((n) => n.major >= 2 && n.blocker === undefined);
  if (strictNode !== undefined) lifecycleStrict = await criLifecycle(strictNode, { strict: true });
  else {
    console.error(
      "bench: no containerd 2.x node ready (make runtimes): native Strict not measured",
    );
  }

  report({ floorRss, warmRss, execRss, coldRss, passRss, errors, phases, podListBytes });
} finally {
  await kubelet.close().catch(() => {});
  await sh(
    `for id in $(runc --root "${root}" list -q 2>/dev/null); do runc --root "${root}" delete --force "$id"; done`,
  );
  await sh(`umount '${state}'`);
  await Deno.remove(dir, { recursive: true });
}

/**
 * Pods in a row through a private containerd of a matrix node, the bare runc
 * handler and the wrapper alternating Pod by Pod (and, with `strict`, the
 * bare runc handler with each Pod at native `supplementalGroupsPolicy:
 * Strict`, containerd 2.x's own answer).
 */
async function criLifecycle(
  node: RuntimeNode,
  options: { criSource?: boolean; strict?: boolean; row?: string } = {},
): Promise<Lifecycle> {
  const { criSource = false, strict = false, row: rowName = DROPPED_ROW } = options;
  const e2e = await E2e.start(node, { stateOnTmpfs: true, criSource });
  try {
    const row = TABLE.rows.find((r) => r.name === rowName)!;
    const times: Pick<Lifecycle, "runc" | "wrapper" | "strict"> = {
      runc: [],
      wrapper: [],
      ...strict ? { strict: [] } : {},
    };
    const variants: [string, number[], boolean][] = [
      ["runc", times.runc, false],
      ["strict-supplementalgroups", times.wrapper, false],
      ...(times.strict ? [["runc", times.strict, true] as [string, number[], boolean]] : []),
    ];
    for (const [handler, , native] of variants) {
      await e2e.run(row, 0, handler, { strict: native, tag: "warm" });
    }
    const warmup = e2e.kubelet.clients.length;
    for (let i = 0; i < PODS_IN_A_ROW; i++) {
      for (const [handler, list, native] of variants) {
        const started = performance.now();
        const outcome = await e2e.run(
          row,
          i + 1,
          handler,
          native ? { strict: true, tag: "strict" } : {},
        );
        list.push(performance.now() - started);
        if (outcome.kind !== "ran" || !outcome.same) {
          throw new Error(`lifecycle ${handler}: ${JSON.stringify(outcome)}`);
        }
      }
    }
    return {
      ...times,
      requests: (e2e.kubelet.clients.length - warmup) / PODS_IN_A_ROW,
      node: describeNode(node),
      row: row.name,
    };
  } finally {
    await e2e.stop();
    await Deno.remove(e2e.dir, { recursive: true }).catch(() => {});
  }
}

function report(m: {
  floorRss: number;
  warmRss: number;
  execRss: number;
  coldRss: number;
  passRss: number;
  errors: number;
  phases: Record<string, Record<string, number>>;
  podListBytes: number;
}): void {
  const wall = (name: string) => results[name]!.median;
  const cpu = (name: string) => results[name]!.cpu;
  const floorMs = wall("deno floor");
  const floorCpu = cpu("deno floor");
  const over = (w: string, r: string) => wall(w) - wall(r);
  const cpuOver = (w: string, r: string) => cpu(w) - cpu(r);
  const ratioOf = (l: Lifecycle | undefined) =>
    l === undefined ? NaN : quantiles(l.wrapper).median / quantiles(l.runc).median;
  const ratio = ratioOf(lifecycle);
  const optional = (name: string, value: (s: Stats) => number) =>
    results[name] === undefined ? NaN : value(results[name]!);
  const budgets = [
    {
      name: "exec that needs nothing: overhead (wall)",
      value: over(NOTHING_EXEC, NOTHING_RUNC),
      budget: 3,
    },
    {
      name: "exec that needs nothing: overhead (CPU)",
      value: cpuOver(NOTHING_EXEC, NOTHING_RUNC),
      budget: 3,
    },
    {
      name: "exec that needs nothing: Deno program runs",
      value: results[NOTHING_EXEC]!.program!,
      budget: 0,
      unit: "",
    },
    {
      name: "exec with a gid to drop: overhead (wall)",
      value: over(DROPPED_EXEC, "runc exec"),
      budget: floorMs + 8,
    },
    {
      name: "exec with a gid to drop: overhead (CPU)",
      value: cpuOver(DROPPED_EXEC, "runc exec"),
      budget: floorCpu + 8,
    },
    {
      name: "create, image grants nothing, vs warm create at 500 pods",
      value: over(
        "wrapper create, image grants nothing (500 pods)",
        "wrapper create, warm (500 pods)",
      ),
      budget: 0,
    },
    {
      name: "warm create overhead at 110 pods",
      value: over("wrapper create, warm (110 pods)", "runc create (110 pods)"),
      budget: floorMs + 8,
    },
    {
      name: "warm create overhead at 500 pods",
      value: over("wrapper create, warm (500 pods)", "runc create (500 pods)"),
      budget: floorMs + 8,
    },
    {
      name: "kubelet requests per warm exec",
      value: results[DROPPED_EXEC]!.kubelet!,
      budget: 0,
      unit: "",
    },
    {
      name: "kubelet requests per warm create",
      value: results["wrapper create, warm (500 pods)"]!.kubelet!,
      budget: 0,
      unit: "",
    },
    {
      name: "cold create (a new Pod) vs no cache at 500 pods",
      value: over("wrapper create, new Pod (500 pods)", "wrapper create, no cache (500 pods)"),
      budget: 0,
    },
    {
      name: "cold create (empty cache) vs no cache at 500 pods",
      value: over("wrapper create, cold (500 pods)", "wrapper create, no cache (500 pods)"),
      budget: 0,
    },
    { name: "peak RSS warm create / floor", value: m.warmRss / m.floorRss, budget: 1.3, unit: "×" },
    { name: "peak RSS warm exec / floor", value: m.execRss / m.floorRss, budget: 1.3, unit: "×" },
    ...(["state", "kill", "delete"] as const).map((command) => ({
      name: `pass-through ${command} overhead (front end)`,
      value: over(`front end ${command}`, `runc ${command}`),
      budget: 3,
    })),
    {
      name: "50 concurrent: p99 / p50",
      value: results["50 concurrent wrapper creates"]!.p99 /
        results["50 concurrent wrapper creates"]!.median,
      budget: 3,
      unit: "×",
    },
    { name: "50 concurrent: errors", value: m.errors, budget: 0, unit: "" },
    { name: "CRI lifecycle, wrapper / runc", value: ratio, budget: 1.25, unit: "×" },
    {
      name: "CRI lifecycle, images granting nothing, wrapper / runc",
      value: ratioOf(lifecycleNothing),
      budget: 1.4,
      unit: "×",
    },
    {
      name: "kubelet requests per Pod, images granting nothing",
      value: lifecycleNothing?.requests ?? NaN,
      budget: 0,
      unit: "",
    },
    {
      name: "CRI lifecycle with the CRI source, wrapper / runc",
      value: ratioOf(lifecycleCri),
      budget: 1.25,
      unit: "×",
    },
    {
      name: "kubelet requests per Pod, CRI source",
      value: lifecycleCri?.requests ?? NaN,
      budget: 0,
      unit: "",
    },
    {
      name: "CRI source create vs kubelet no-cache create (wall)",
      value: optional("wrapper create, CRI source", (s) => s.median) -
        optional("wrapper create, kubelet source, no cache", (s) => s.median),
      budget: 0,
    },
    {
      name: "CRI requests per exec with the container cache",
      value: optional("wrapper exec, CRI source, container cache", (s) => s.cri ?? NaN),
      budget: 0,
      unit: "",
    },
    {
      name: "kubelet requests per Pod in the CRI lifecycle",
      value: lifecycle?.requests ?? NaN,
      budget: 1,
      unit: "",
    },
  ];

  const cpus = navigator.hardwareConcurrency;
  const pairs: Record<string, string> = {
    "front end --version": "runc --version",
    "program --version": "runc --version",
    "front end state": "runc state",
    "program state": "runc state",
    "front end kill": "runc kill",
    "front end delete": "runc delete",
    [NOTHING_EXEC]: NOTHING_RUNC,
    [DROPPED_EXEC]: "runc exec",
    "wrapper create/start/delete (warm)": "runc create/start/delete",
    "wrapper exec, kubelet source, Pod cache": "runc exec (source rows)",
    "wrapper exec, CRI source, container cache": "runc exec (source rows)",
    "wrapper exec, CRI source, no cache": "runc exec (source rows)",
    "wrapper create, kubelet source, Pod cache": "runc create (source rows)",
    "wrapper create, kubelet source, no cache": "runc create (source rows)",
    "wrapper create, CRI source": "runc create (source rows)",
  };
  for (const count of [110, 500]) {
    for (
      const kind of ["warm", "new Pod", "cold", "no cache", "image grants nothing", "Pod sandbox"]
    ) {
      pairs[`wrapper create, ${kind} (${count} pods)`] = `runc create (${count} pods)`;
    }
  }
  const lines = [
    `bench ${
      new Date().toISOString().slice(0, 10)
    }, ${cpus} CPUs, ${RUNS} runs each (the first exec rows ${RUNS * 4}), wrapper ` +
    `as ${launcher} behind the shell front end, state on tmpfs, /pods at 500 pods = ` +
    `${(m.podListBytes / 1e6).toFixed(2)} MB`,
    "",
    "| measurement | wall median ms | p10 | p90 | CPU ms | wall over runc | CPU over runc | kubelet requests | CRI requests | program runs |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const [name, s] of Object.entries(results)) {
    const base = pairs[name];
    const f = (x: number) => Number.isFinite(x) ? x.toFixed(1) : "";
    lines.push(
      `| ${name} | ${f(s.median)} | ${f(s.p10)} | ${f(s.p90)} | ${f(s.cpu)} | ${
        base === undefined ? "" : f(s.median - wall(base))
      } | ${base === undefined ? "" : f(s.cpu - cpu(base))} | ${
        name.startsWith("runc") || name === "deno floor" || s.kubelet === undefined
          ? ""
          : s.kubelet.toFixed(2)
      } | ${name.startsWith("runc") || s.cri === undefined ? "" : s.cri.toFixed(2)} | ${
        s.program === undefined ? "" : s.program.toFixed(2)
      } |`,
    );
  }
  for (
    const [l, source] of [
      [lifecycle, "kubelet"],
      [lifecycleCri, "containerd's CRI"],
      [lifecycleNothing, "kubelet"],
      [lifecycleStrict, "kubelet"],
    ] as const
  ) {
    if (l === undefined) continue;
    const r = quantiles(l.runc);
    const w = quantiles(l.wrapper);
    const n = l.strict === undefined ? undefined : quantiles(l.strict);
    lines.push(
      "",
      `CRI lifecycle on ${l.node}, row "${l.row}", source ${source}, ${PODS_IN_A_ROW} Pods a handler ` +
        `(sandbox, 2 containers, 6 execs, stop, remove): runc ${r.median.toFixed(0)} ms ` +
        `(p90 ${r.p90.toFixed(0)}), wrapper ${w.median.toFixed(0)} ms (p90 ${w.p90.toFixed(0)})` +
        (n === undefined ? "" : `, runc with native Strict ${n.median.toFixed(0)} ms ` +
          `(p90 ${n.p90.toFixed(0)}): native Strict / runc ${(n.median / r.median).toFixed(2)}×, ` +
          `wrapper / native Strict ${(w.median / n.median).toFixed(2)}×`) +
        `, ${l.requests.toFixed(2)} kubelet requests a Pod`,
    );
  }
  lines.push(
    "",
    `peak RSS: floor ${m.floorRss} KB, pass-through ${m.passRss} KB, warm create ${m.warmRss} KB, ` +
      `warm exec ${m.execRss} KB, cold create ${m.coldRss} KB`,
    "",
  );
  const columns = Object.keys(m.phases);
  const phaseRow = (name: string, value: (p: Record<string, number>) => number) =>
    `| ${name} | ${columns.map((c) => value(m.phases[c]!).toFixed(1)).join(" | ")} |`;
  lines.push(
    `| where a wrapper create spends its time (medians, ms) | ${columns.join(" | ")} |`,
    `|---|${columns.map(() => "---:").join("|")}|`,
    phaseRow("Deno's own boot and exit (the floor)", () => floorMs),
    // startupMs counts from the runtime's time origin, which Deno sets after its boot.
    phaseRow("module loading and configuration", (p) => p.startupMs!),
    phaseRow("Pod lookup (cache or kubelet)", (p) => p.lookupMs!),
    phaseRow("spec, decision, decision log", (p) => p.elapsedMs! - p.lookupMs!),
    phaseRow("runc create (bare, same run)", (p) => p.runcMs!),
    phaseRow(
      "front end, spec rewrite, hand-off, the rest",
      (p) => p.wallMs! - floorMs - p.startupMs! - p.elapsedMs! - p.runcMs!,
    ),
    phaseRow("wall", (p) => p.wallMs!),
    "",
  );
  lines.push("| budget | measured | limit | met |", "|---|---:|---:|---|");
  for (const b of budgets) {
    const unit = b.unit ?? " ms";
    const fmt = (x: number) =>
      !Number.isFinite(x)
        ? "n/a"
        : unit === "×"
        ? x.toFixed(2) + unit
        : unit === ""
        ? x.toFixed(2).replace(/\.00$/, "")
        : x.toFixed(1) + unit;
    lines.push(
      `| ${b.name} | ${fmt(b.value)} | ${fmt(b.budget)} | ${
        b.value <= b.budget ? "yes" : "**no**"
      } |`,
    );
  }
  console.log(lines.join("\n"));
  Deno.mkdirSync(`${REPO}/.cache`, { recursive: true });
  Deno.writeTextFileSync(
    `${REPO}/.cache/bench.json`,
    JSON.stringify(
      {
        date: new Date().toISOString(),
        cpus,
        runs: RUNS,
        launcher,
        results,
        lifecycle,
        lifecycleCri,
        lifecycleStrict,
        lifecycleNothing,
        ...m,
        budgets,
      },
      null,
      2,
    ),
  );
}
