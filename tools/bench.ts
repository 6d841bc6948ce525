/**
 * `make bench`: the wrapper's cost on the container start path, measured
 * against bare runc in the same run (docs/performance.md), on real runc with the
 * HTTPS kubelet stand-in. Prints a markdown table and writes JSON to
 * `.cache/bench.json` for tracking.
 *
 * @module
 */

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

const RUNS = Number(Deno.env.get("BENCH_RUNS") ?? 25);

const blocker = await rootTestsBlocker();
if (blocker !== undefined) {
  console.error(`bench: cannot run containers here (${blocker})`);
  Deno.exit(1);
}

interface Stats {
  median: number;
  p10: number;
  p90: number;
  p99: number;
  n: number;
}

function stats(samples: number[]): Stats {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { median: at(0.5), p10: at(0.1), p90: at(0.9), p99: at(0.99), n: sorted.length };
}

/** Runs a command to completion and returns wall milliseconds; fails on a non-zero exit. */
async function timed(
  program: string,
  args: string[],
  options: { env?: Record<string, string>; cwd?: string } = {},
): Promise<number> {
  const start = performance.now();
  const out = await new Deno.Command(program, {
    args,
    env: options.env ?? {},
    ...(options.cwd ? { cwd: options.cwd } : {}),
    // A created container inherits the runtime's stdio: no pipes, or the wait never ends.
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).output();
  const elapsed = performance.now() - start;
  if (!out.success) throw new Error(`${program} ${args.join(" ")}: exit ${out.code}`);
  return elapsed;
}

async function peakRssKb(program: string, args: string[], env: Record<string, string>) {
  const report = await Deno.makeTempFile();
  try {
    await timed("/usr/bin/time", ["-f", "%M", "-o", report, program, ...args], { env });
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

const dir = await Deno.makeTempDir({ prefix: "ssgcr-bench-" });
await Deno.mkdir(`${dir}/pki`);
const pki = await makePki(`${dir}/pki`);
const rootfs = await makeRootfs(dir);
const config = await writeConfig(dir, pki);
const env = { STRICT_SUPPLEMENTALGROUPS_CONFIG: config };
const root = `${dir}/runc-root`;
const target = alicePod();
const kubelet = await startKubelet(pki, []);
const results: Record<string, Stats> = {};
const launcher = (await Deno.readTextFile(WRAPPER)).startsWith("#!") ? "launcher" : "compiled";

try {
  // Deno floor: an empty program under the same runtime flags as the wrapper.
  await Deno.writeTextFile(`${dir}/empty.ts`, "");
  const floorScript = (await Deno.readTextFile(WRAPPER)).replace(
    /'[^']*main\/runtime_main\.ts'/,
    `'${dir}/empty.ts'`,
  );
  const floor = `${dir}/floor.sh`;
  await Deno.writeTextFile(floor, floorScript, { mode: 0o755 });
  await Deno.chmod(floor, 0o755);
  const sample = async (name: string, fn: () => Promise<number>) => {
    await fn(); // warm caches
    const samples: number[] = [];
    for (let i = 0; i < RUNS; i++) samples.push(await fn());
    results[name] = stats(samples);
  };

  await sample("deno floor", () => timed(floor, []));
  await sample("runc --version", () => timed("runc", ["--version"]));
  await sample("wrapper --version", () => timed(WRAPPER, ["--version"], { env }));
  const stateBundle = `${dir}/state-bundle`;
  await makeBundle(stateBundle, { rootfs, args: ["sleep", "600"] });
  await timed("runc", ["--root", root, "create", "--bundle", stateBundle, "state-c"], {});
  await sample("runc state", () => timed("runc", ["--root", root, "state", "state-c"]));
  await sample(
    "wrapper state",
    () => timed(WRAPPER, ["--root", root, "state", "state-c"], { env }),
  );
  await timed("runc", ["--root", root, "delete", "--force", "state-c"]);

  const bundle = `${dir}/bundle`;
  const spec = await makeBundle(bundle, {
    rootfs,
    args: ["sleep", "600"],
    annotations: containerdAnnotations(),
  });
  const createWith = async (program: string, cycle: boolean) => {
    await Deno.writeTextFile(`${bundle}/config.json`, spec);
    const id = `bench-${crypto.randomUUID().slice(0, 8)}`;
    const e = program === WRAPPER ? env : {};
    let elapsed = await timed(program, ["--root", root, "create", "--bundle", bundle, id], {
      env: e,
    });
    if (cycle) {
      elapsed += await timed(program, ["--root", root, "start", id], { env: e });
      elapsed += await timed(program, ["--root", root, "delete", "--force", id], { env: e });
    } else {
      await timed("runc", ["--root", root, "delete", "--force", id]);
    }
    return elapsed;
  };
  // Where a wrapper create spends its time, from the timings in its decision records.
  const phases: Record<string, Record<string, number>> = {};
  for (const count of [110, 500]) {
    kubelet.behaviour.pods = [
      ...Array.from({ length: count - 1 }, (_, i) => realisticPod(i)),
      target,
    ];
    await sample(`runc create (${count} pods)`, () => createWith("runc", false));
    const logged = (await decisions(dir)).length;
    await sample(`wrapper create (${count} pods)`, () => createWith(WRAPPER, false));
    const records = (await decisions(dir)).slice(logged).filter((r) => r.msg === "decision");
    const median = (key: string) => stats(records.map((r) => r[key] as number)).median;
    phases[`${count} pods`] = {
      startupMs: median("startupMs"),
      lookupMs: median("lookupMs"),
      elapsedMs: median("elapsedMs"),
      runcMs: results[`runc create (${count} pods)`]!.median,
      wallMs: results[`wrapper create (${count} pods)`]!.median,
    };
  }
  const podListBytes = JSON.stringify({ items: kubelet.behaviour.pods }).length;
  await sample("runc create/start/delete", () => createWith("runc", true));
  await sample("wrapper create/start/delete", () => createWith(WRAPPER, true));

  const floorRss = await peakRssKb(floor, [], {});
  await Deno.writeTextFile(`${bundle}/config.json`, spec);
  const wrapperRss = await peakRssKb(WRAPPER, [
    "--root",
    root,
    "create",
    "--bundle",
    bundle,
    "rss-c",
  ], env);
  await timed("runc", ["--root", root, "delete", "--force", "rss-c"]);
  const passRss = await peakRssKb(WRAPPER, ["--version"], env);

  // 50 concurrent creates on distinct bundles.
  const concurrent = await Promise.all(Array.from({ length: 50 }, async (_, i) => {
    const b = `${dir}/c-${i}`;
    await Deno.mkdir(b, { recursive: true });
    await Deno.writeTextFile(`${b}/config.json`, spec);
    try {
      return {
        ok: true,
        ms: await timed(WRAPPER, ["--root", root, "create", "--bundle", b, `conc-${i}`], { env }),
      };
    } catch (error) {
      return { ok: false, ms: 0, error: String(error) };
    }
  }));
  for (let i = 0; i < 50; i++) {
    await timed("runc", ["--root", root, "delete", "--force", `conc-${i}`]).catch(() => 0);
  }
  const okTimes = concurrent.filter((c) => c.ok).map((c) => c.ms);
  results["50 concurrent wrapper creates"] = stats(okTimes);
  const errors = concurrent.filter((c) => !c.ok).length;

  const m = (name: string) => results[name]!.median;
  const floorMs = m("deno floor");
  const over = (w: string, r: string) => m(w) - m(r);
  const budgets = [
    {
      name: "pass-through --version overhead",
      value: over("wrapper --version", "runc --version"),
      budget: floorMs + 3,
    },
    {
      name: "pass-through state overhead",
      value: over("wrapper state", "runc state"),
      budget: floorMs + 3,
    },
    {
      name: "create overhead at 110 pods",
      value: over("wrapper create (110 pods)", "runc create (110 pods)"),
      budget: floorMs + 10,
    },
    {
      name: "create overhead at 500 pods",
      value: over("wrapper create (500 pods)", "runc create (500 pods)"),
      budget: floorMs + 25,
    },
    { name: "peak RSS create / floor", value: wrapperRss / floorRss, budget: 1.2, unit: "×" },
    {
      name: "50 concurrent: p99 / p50",
      value: results["50 concurrent wrapper creates"]!.p99 /
        results["50 concurrent wrapper creates"]!.median,
      budget: 3,
      unit: "×",
    },
    { name: "50 concurrent: errors", value: errors, budget: 0, unit: "" },
  ];

  const cpus = navigator.hardwareConcurrency;
  const lines = [
    `bench ${
      new Date().toISOString().slice(0, 10)
    }, ${cpus} CPUs, ${RUNS} runs each, wrapper as ${launcher}, /pods at 500 pods = ${
      (podListBytes / 1e6).toFixed(2)
    } MB`,
    "",
    "| measurement | median ms | p10 | p90 | overhead vs runc | overhead − floor |",
    "|---|---:|---:|---:|---:|---:|",
  ];
  const pairs: Record<string, string> = {
    "wrapper --version": "runc --version",
    "wrapper state": "runc state",
    "wrapper create (110 pods)": "runc create (110 pods)",
    "wrapper create (500 pods)": "runc create (500 pods)",
    "wrapper create/start/delete": "runc create/start/delete",
  };
  for (const [name, s] of Object.entries(results)) {
    const base = pairs[name];
    const o = base === undefined ? "" : (s.median - m(base)).toFixed(1);
    const f = base === undefined ? "" : (s.median - m(base) - floorMs).toFixed(1);
    lines.push(
      `| ${name} | ${s.median.toFixed(1)} | ${s.p10.toFixed(1)} | ${
        s.p90.toFixed(1)
      } | ${o} | ${f} |`,
    );
  }
  lines.push(
    "",
    `peak RSS: floor ${floorRss} KB, wrapper --version ${passRss} KB, wrapper create ${wrapperRss} KB`,
    "",
  );
  const columns = Object.keys(phases);
  const phaseRow = (name: string, value: (p: Record<string, number>) => number) =>
    `| ${name} | ${columns.map((c) => value(phases[c]!).toFixed(1)).join(" | ")} |`;
  lines.push(
    `| where a wrapper create spends its time (medians, ms) | ${columns.join(" | ")} |`,
    `|---|${columns.map(() => "---:").join("|")}|`,
    phaseRow("Deno's own boot and exit (the floor)", () => floorMs),
    // startupMs counts from the runtime's time origin, which Deno sets after its boot.
    phaseRow("module loading and configuration", (p) => p.startupMs!),
    phaseRow("kubelet /pods: node:https, TLS, answer, JSON.parse", (p) => p.lookupMs!),
    phaseRow("spec, decision, decision log", (p) => p.elapsedMs! - p.lookupMs!),
    phaseRow("runc create (bare, same run)", (p) => p.runcMs!),
    phaseRow(
      "spec rewrite, hand-off, runc under load, the rest",
      (p) => p.wallMs! - floorMs - p.startupMs! - p.elapsedMs! - p.runcMs!,
    ),
    phaseRow("wall", (p) => p.wallMs!),
    "",
  );
  lines.push("| budget | measured | limit | met |", "|---|---:|---:|---|");
  for (const b of budgets) {
    const unit = b.unit ?? " ms";
    const fmt = (x: number) =>
      unit === "×" ? x.toFixed(2) + unit : unit === "" ? String(x) : x.toFixed(1) + unit;
    lines.push(
      `| ${b.name} | ${fmt(b.value)} | ${fmt(b.budget)} | ${
        b.value <= b.budget ? "yes" : "**no**"
      } |`,
    );
  }
  console.log(lines.join("\n"));
  await Deno.mkdir(`${REPO}/.cache`, { recursive: true });
  await Deno.writeTextFile(
    `${REPO}/.cache/bench.json`,
    JSON.stringify(
      {
        date: new Date().toISOString(),
        cpus,
        runs: RUNS,
        launcher,
        results,
        floorRss,
        wrapperRss,
        passRss,
        errors,
        phases,
        budgets,
      },
      null,
      2,
    ),
  );
} finally {
  await kubelet.close();
  await new Deno.Command("bash", {
    args: [
      "-c",
      `for id in $(runc --root "${root}" list -q 2>/dev/null); do runc --root "${root}" delete --force "$id"; done`,
    ],
  }).output();
  await Deno.remove(dir, { recursive: true });
}
