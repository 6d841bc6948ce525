/**
 * The shipped admin tool and the shipped launchers' permission set.
 */

import { deepEqual, equal, match } from "assert";
import { permissionFlags } from "../tools/permission_flags.ts";
import { assertFailedClosed, CLI, REPO, runWrapper, WRAPPER } from "./support/wrapper.ts";
import { TENANT_A_IMAGE } from "./support/tenant_a.ts";

Deno.test("strict-supplementalgroups version prints the version", async () => {
  const result = await runWrapper(["version"], { program: CLI });
  equal(result.code, 0);
  match(result.stdout, /^strict-supplementalgroups \d+\.\d+\.\d+\n$/);
});

for (const [cri, runtime] of [["containerd", "runc"], ["cri-o", "crun"]]) {
  Deno.test(`check-config accepts the ${cri} config in deploy/`, async () => {
    const path = `${REPO}/deploy/overlays/${cri}/installer/config.toml`;
    const result = await runWrapper(["check-config", path], { program: CLI });
    equal(result.stderr, "");
    equal(result.code, 0);
    match(
      result.stdout,
      new RegExp(`ok \\(cri ${cri}, mode enforce, runtime ${runtime}, 0 namespace policies\\)`),
    );
  });
}

Deno.test("check-config lists every problem with file, line, key and value", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/c.toml`, 'mode = "strict"\n[logging]\nlog-format = "xml"\n');
    const result = await runWrapper(["check-config", `${dir}/c.toml`], { program: CLI });
    equal(result.code, 1);
    equal(
      result.stderr,
      `${dir}/c.toml:1: mode = "strict": must be one of enforce, audit, deny\n` +
        `${dir}/c.toml:3: logging.log-format = "xml": must be one of json, text\n`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("check-config warns when CRI-O's conmon, which passes no PATH, could not find the runtime", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/c.toml`, 'cri = "cri-o"\nruntime = "no-such-runtime"\n');
    const result = await runWrapper(["check-config", `${dir}/c.toml`], { program: CLI });
    equal(result.code, 0, "a warning, not a problem: PATH may hold it where CRI-O gives one");
    match(result.stdout, /: ok \(cri cri-o, mode enforce, runtime no-such-runtime,/);
    match(
      result.stderr,
      /^warning: .*c\.toml: runtime "no-such-runtime" is in none of \/usr\/local\/sbin, .*\/usr\/libexec\/crio: under CRI-O/,
    );
    // Under containerd the shim gives the runtime its PATH: nothing to warn about.
    await Deno.writeTextFile(`${dir}/c.toml`, 'runtime = "no-such-runtime"\n');
    equal((await runWrapper(["check-config", `${dir}/c.toml`], { program: CLI })).stderr, "");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the admin tool answers --help and refuses unknown commands", async () => {
  equal((await runWrapper(["--help"], { program: CLI })).code, 0);
  equal((await runWrapper(["check-config", "--help"], { program: CLI })).code, 0);
  const unknown = await runWrapper(["frobnicate"], { program: CLI });
  equal(unknown.code, 2);
  match(unknown.stderr, /unknown command "frobnicate"/);
});

Deno.test("the shipped wrapper runs with exactly the runtime permission set of deno.json", async () => {
  const launcher = await Deno.readTextFile(WRAPPER);
  const flags = await permissionFlags(`${REPO}/deno.json`, "runtime");
  if (launcher.startsWith("#!")) {
    const shipped = [...launcher.matchAll(/'(--(?:allow|deny|ignore)-[^']*)'/g)].map((m) => m[1]);
    deepEqual(shipped, flags);
  }
  equal(/--allow-all|\s-A\s/.test(launcher), false);
  equal(flags.some((flag) => flag === "--allow-read" || flag === "--allow-write"), false);
});

Deno.test("the wrapper cannot read what its permission set does not name", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // kubeconfig outside the allowed paths: the create fails closed, naming the denial.
    await Deno.writeTextFile(
      `${dir}/c.toml`,
      'kubeconfig = "/root/.kube/config"\nkubelet-ca-file = "/etc/ssl/certs/ca-certificates.crt"\n',
    );
    // The image grants root 50000, so its Pod must be looked up.
    await writeImageFiles(`${dir}/rootfs`, "root:x:0:0::/:/bin/sh\n", "g:x:50000:root\n");
    await Deno.writeTextFile(
      `${dir}/config.json`,
      JSON.stringify({
        process: { user: { uid: 0, gid: 0, additionalGids: [0, 50000] } },
        root: { path: "rootfs" },
        annotations: {
          "io.kubernetes.cri.container-type": "container",
          "io.kubernetes.cri.sandbox-namespace": "ns",
          "io.kubernetes.cri.sandbox-name": "p",
        },
      }),
    );
    const result = await runWrapper(["create", "--bundle", dir, "x"], { config: `${dir}/c.toml` });
    equal(result.code, 1);
    match(result.stderr, /Requires read access to "\/etc\/ssl\/certs\/ca-certificates\.crt"/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pass-through still works when the config is broken apart from runtime", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/c.toml`, 'runtime = "runc"\nmode = "nonsense"\n');
    const result = await runWrapper(["--version"], { config: `${dir}/c.toml` });
    equal(result.code, 0);
    match(result.stdout, /^runc version/);
    await Deno.writeTextFile(`${dir}/c.toml`, 'runtime = "no-such-runtime-binary"\n');
    const missing = await runWrapper(["--version"], { config: `${dir}/c.toml` });
    equal(missing.code, 1);
    equal(missing.stdout, "");
    match(
      missing.stderr,
      /^strict-supplementalgroups: cannot start runtime no-such-runtime-binary: /,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

async function explainFixture(
  extraConfig: string,
  args: string[],
): Promise<{ result: Awaited<ReturnType<typeof runWrapper>>; untouched: boolean }> {
  const dir = await Deno.makeTempDir();
  try {
    const spec = await Deno.readTextFile(`${REPO}/tests/testdata/containerd-config.json`);
    await Deno.writeTextFile(`${dir}/config.json`, spec);
    await writeImageFiles(`${dir}/rootfs`);
    await Deno.writeTextFile(`${dir}/c.toml`, extraConfig);
    const result = await runWrapper([
      "explain",
      "--bundle",
      dir,
      "--pod",
      `${REPO}/tests/testdata/tenant-a-pod.json`,
      "--config",
      `${dir}/c.toml`,
      ...args,
    ], { program: CLI });
    return { result, untouched: await Deno.readTextFile(`${dir}/config.json`) === spec };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("explain shows the decision for a fixture bundle and modifies nothing", async () => {
  const { result, untouched } = await explainFixture("", []);
  equal(result.code, 0, result.stderr);
  equal(untouched, true);
  match(result.stdout, /^gids before +1000,50000,60000$/m);
  match(result.stdout, /^gids after +1000,60000$/m);
  match(result.stdout, /^dropped +50000$/m);
  match(result.stdout, /^image grants +50000$/m);
  match(result.stdout, /^outcome +rewrite the spec, then run$/m);
});

Deno.test("explain --json reports policy verdicts and the refusal", async () => {
  const policy =
    '[policy]\nrun-as-group = { rule = "MustRunAsRange", ranges = [{ min = 2000, max = 3000 }] }\n';
  const { result, untouched } = await explainFixture(policy, ["--json"]);
  equal(result.code, 0, result.stderr);
  equal(untouched, true);
  const json = JSON.parse(result.stdout);
  equal(json.verdict, "refuse");
  deepEqual(json.gids, { before: [1000, 50000, 60000], after: [1000, 60000], dropped: [50000] });
  equal(
    json.refusal,
    "run-as-group: 1000 is not in the allowed ranges [2000-3000] (namespace tenant-a)",
  );
});

Deno.test("explain needs --bundle and says so", async () => {
  const result = await runWrapper(["explain"], { program: CLI });
  equal(result.code, 2);
  match(result.stderr, /explain needs --bundle DIR/);
});

Deno.test("a config with two problems refuses a create in one line, each problem named once", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/c.toml`, 'mode = "strict"\n[logging]\nlog-format = "xml"\n');
    const log = `${dir}/log.json`;
    const result = await runWrapper(
      ["--log", log, "--log-format", "json", "create", "--bundle", dir, "c1"],
      { config: `${dir}/c.toml` },
    );
    const message = await assertFailedClosed(result, log, /mode = "strict"/);
    equal(
      message,
      `strict-supplementalgroups: ${dir}/c.toml:1: mode = "strict": must be one of enforce, ` +
        `audit, deny; ${dir}/c.toml:3: logging.log-format = "xml": must be one of json, text`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a bad runtime value names its file and key once", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/c.toml`, 'runtime = "bin/runc"\n');
    const result = await runWrapper(["--version"], { config: `${dir}/c.toml` });
    equal(result.code, 1);
    equal(
      result.stderr,
      `strict-supplementalgroups: ${dir}/c.toml:1: runtime = "bin/runc": must be a command name ` +
        `or an absolute path\n`,
    );
    const create = await runWrapper(["create", "--bundle", dir, "c1"], { config: `${dir}/c.toml` });
    equal(
      create.stderr,
      `strict-supplementalgroups: ${dir}/c.toml:1: runtime = "bin/runc": must be a command name ` +
        `or an absolute path\n`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** An image's account files in a rootfs (the tenant-a image's by default). */
async function writeImageFiles(
  rootfs: string,
  passwd: string = TENANT_A_IMAGE.passwd,
  group: string = TENANT_A_IMAGE.group,
): Promise<void> {
  await Deno.mkdir(`${rootfs}/etc`, { recursive: true });
  await Deno.writeTextFile(`${rootfs}/etc/passwd`, passwd);
  await Deno.writeTextFile(`${rootfs}/etc/group`, group);
}
