/**
 * `strict-supplementalgroups install`/`uninstall`, run as shipped, against a
 * node laid out under a temporary --host-root: containerd's real default
 * config (and the real containerd parsing the result), version 1 and 3
 * files, conflicting handlers, CRI-O drop-ins, the runtime config's
 * ownership, and the restart command.
 */

import { deepEqual, equal, match, notEqual, ok } from "assert";
import { parsePlainToml as parse } from "./support/plain_toml.ts";
import { CLI, have, REPO, type RunResult, WRAPPER } from "./support/wrapper.ts";
import { frontEndScript } from "../src/admin/front_end.ts";

const HANDLER = "strict-supplementalgroups";
const CONTAINERD_CONFIG = "/etc/containerd/config.toml";
const DROP_IN = "/etc/crio/crio.conf.d/99-strict-supplementalgroups.conf";
const HOST_WRAPPER = "/usr/local/bin/strict-supplementalgroups-container-runtime";
const HOST_PROGRAM =
  "/usr/local/lib/strict-supplementalgroups/strict-supplementalgroups-container-runtime";
const RUNTIME_CONFIG = "/etc/strict-supplementalgroups-container-runtime/config.toml";
const HAVE_CONTAINERD = await have("containerd", ["--version"]);

if (!HAVE_CONTAINERD) {
  console.error(
    "SKIPPED: containerd is not installed; the tests against its real config are skipped",
  );
}

/** A node's file tree: runc installed, and whatever the test adds. */
async function makeNode(files: Record<string, string> = {}): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "ssg-node-" });
  await Deno.mkdir(`${root}/usr/local/sbin`, { recursive: true });
  await Deno.writeTextFile(`${root}/usr/local/sbin/runc`, "#!/bin/sh\n", { mode: 0o755 });
  for (const [path, text] of Object.entries(files)) await write(root, path, text);
  return root;
}

async function write(root: string, path: string, text: string) {
  await Deno.mkdir(`${root}${path.slice(0, path.lastIndexOf("/"))}`, { recursive: true });
  await Deno.writeTextFile(`${root}${path}`, text);
}

/** Runs the shipped admin tool; `path` prepends a directory to PATH. */
async function cli(args: string[], options: { path?: string } = {}): Promise<RunResult> {
  const out = await new Deno.Command(CLI, {
    args,
    env: options.path ? { PATH: `${options.path}:${Deno.env.get("PATH")}` } : {},
    stdin: "null",
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

function install(root: string, ...more: string[]): Promise<RunResult> {
  return cli(["install", "--host-root", root, "--wrapper", WRAPPER, "--no-restart", ...more]);
}

function uninstall(root: string, ...more: string[]): Promise<RunResult> {
  return cli(["uninstall", "--host-root", root, "--no-restart", ...more]);
}

/** Every file under a directory, with its content. */
async function snapshot(root: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  const walk = async (dir: string) => {
    for await (const entry of Deno.readDir(dir)) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory) await walk(path);
      else files[path.slice(root.length)] = await Deno.readTextFile(path);
    }
  };
  await walk(root);
  return files;
}

async function containerdDefault(): Promise<string> {
  const out = await new Deno.Command("containerd", { args: ["config", "default"] }).output();
  equal(out.code, 0);
  return "# operator: keep this comment, and the layout below\n" +
    new TextDecoder().decode(out.stdout);
}

function nodeTest(name: string, fn: (root: string) => Promise<void>, ignore = false) {
  Deno.test({
    name,
    ignore,
    async fn() {
      const root = await makeNode();
      try {
        await fn(root);
      } finally {
        await Deno.remove(root, { recursive: true });
      }
    },
  });
}

nodeTest(
  "install adds the handler to containerd's real default config, and containerd loads it",
  async (root) => {
    const original = await containerdDefault();
    await write(root, CONTAINERD_CONFIG, original);
    const result = await install(root, "--cri", "containerd");
    equal(result.code, 0, result.stderr);
    const patched = await Deno.readTextFile(`${root}${CONTAINERD_CONFIG}`);
    ok(patched.startsWith(original), "the operator's file is kept byte for byte");
    equal(
      await Deno.readTextFile(`${root}${CONTAINERD_CONFIG}.strict-supplementalgroups.bak`),
      original,
    );
    // The program beside its lib; the shell front end, calling it, under the wrapper's name.
    equal(
      await Deno.readTextFile(`${root}${HOST_PROGRAM}`),
      await Deno.readTextFile(WRAPPER),
    );
    equal(
      await Deno.readTextFile(`${root}${HOST_WRAPPER}`),
      frontEndScript({
        program: HOST_PROGRAM,
        record: "/run/strict-supplementalgroups/runtime",
        configDefault: "/etc/strict-supplementalgroups-container-runtime/config.toml",
      }),
    );
    for (const path of [HOST_PROGRAM, HOST_WRAPPER]) {
      equal((await Deno.stat(`${root}${path}`)).mode! & 0o777, 0o755);
    }
    match(
      result.stdout,
      /run systemctl restart containerd|run nsenter .* systemctl restart containerd/,
    );

    // containerd itself parses the patched file and shows the handler.
    const dump = await new Deno.Command("containerd", {
      args: ["--config", `${root}${CONTAINERD_CONFIG}`, "config", "dump"],
    }).output();
    equal(dump.code, 0, new TextDecoder().decode(dump.stderr));
    // deno-lint-ignore no-explicit-any
    const cri = (parse(new TextDecoder().decode(dump.stdout)) as any)
      .plugins["io.containerd.grpc.v1.cri"].containerd;
    equal(cri.runtimes[HANDLER].runtime_type, "io.containerd.runc.v2");
    equal(cri.runtimes[HANDLER].options.BinaryName, HOST_WRAPPER);
    equal(cri.runtimes[HANDLER].options.SystemdCgroup, cri.runtimes.runc.options.SystemdCgroup);
    equal(cri.default_runtime_name, "runc", "the default handler is left alone");
  },
  !HAVE_CONTAINERD,
);

nodeTest(
  "a second install changes nothing and restarts nothing; uninstall restores the file byte for byte",
  async (root) => {
    const original = await containerdDefault();
    await write(root, CONTAINERD_CONFIG, original);
    equal((await install(root, "--cri", "containerd")).code, 0);
    const installed = await snapshot(root);
    const again = await install(root, "--cri", "containerd");
    equal(again.code, 0, again.stderr);
    match(again.stdout, /no restart needed/);
    deepEqual(await snapshot(root), installed);

    const removed = await uninstall(root, "--cri", "containerd");
    equal(removed.code, 0, removed.stderr);
    match(removed.stdout, /restored from its backup/);
    equal(await Deno.readTextFile(`${root}${CONTAINERD_CONFIG}`), original);
    const left = Object.keys(await snapshot(root)).sort();
    deepEqual(left, [CONTAINERD_CONFIG, HOST_WRAPPER, HOST_PROGRAM, "/usr/local/sbin/runc"].sort());
    match(removed.stdout, /strict-supplementalgroups-container-runtime: kept/);

    const purged = await uninstall(root, "--cri", "containerd", "--purge");
    equal(purged.code, 0, purged.stderr);
    deepEqual(Object.keys(await snapshot(root)).sort(), [
      CONTAINERD_CONFIG,
      "/usr/local/sbin/runc",
    ]);
  },
  !HAVE_CONTAINERD,
);

nodeTest("uninstall keeps the operator's later edits and removes only the block", async (root) => {
  await write(root, CONTAINERD_CONFIG, "version = 2\n");
  equal((await install(root, "--cri", "containerd")).code, 0);
  const path = `${root}${CONTAINERD_CONFIG}`;
  await Deno.writeTextFile(path, "# added later\n" + await Deno.readTextFile(path));
  const result = await uninstall(root, "--cri", "containerd");
  equal(result.code, 0, result.stderr);
  equal(await Deno.readTextFile(path), "# added later\nversion = 2\n");
  match(result.stdout, /bak: kept \(the config changed since install\)/);
});

nodeTest("install --dry-run prints the diff and the restart, and writes nothing", async (root) => {
  await write(root, CONTAINERD_CONFIG, "version = 2\n");
  const before = await snapshot(root);
  const result = await install(root, "--cri", "containerd", "--dry-run");
  equal(result.code, 0, result.stderr);
  match(
    result.stdout,
    /^\+\[plugins\."io\.containerd\.grpc\.v1\.cri"\.containerd\.runtimes\.strict/m,
  );
  match(
    result.stdout,
    /^\+ {2}BinaryName = "\/usr\/local\/bin\/strict-supplementalgroups-container-runtime"$/m,
  );
  match(result.stdout, /would run: .*systemctl restart containerd/);
  deepEqual(await snapshot(root), before);
});

for (
  const [name, file, error] of [
    ["a version 1 config", "containerd-v1.toml", /version 1 containerd config \(no version key\)/],
    [
      "a missing config",
      undefined,
      /no containerd config: create it with `containerd config default/,
    ],
  ] as const
) {
  nodeTest(`install refuses ${name} and changes nothing`, async (root) => {
    if (file) {
      await write(
        root,
        CONTAINERD_CONFIG,
        await Deno.readTextFile(`${REPO}/tests/testdata/${file}`),
      );
    }
    const before = await snapshot(root);
    const result = await install(root, "--cri", "containerd");
    equal(result.code, 1);
    match(result.stderr, error);
    deepEqual(await snapshot(root), before);
  });
}

nodeTest("install refuses a different definition of the handler, naming the file", async (root) => {
  const conflicting = `version = 2
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.${HANDLER}]
  runtime_type = "io.containerd.runc.v2"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.${HANDLER}.options]
    BinaryName = "/usr/bin/someone-elses-wrapper"
`;
  await write(root, CONTAINERD_CONFIG, conflicting);
  const before = await snapshot(root);
  const result = await install(root, "--cri", "containerd");
  equal(result.code, 1);
  match(
    result.stderr,
    /config.toml: runtime handler "strict-supplementalgroups" is already defined/,
  );
  match(result.stderr, /someone-elses-wrapper/);
  deepEqual(await snapshot(root), before);
  equal((await install(root, "--cri", "containerd", "--handler", "ssg-strict")).code, 0);
});

nodeTest("install handles a containerd 2.x (version 3) config", async (root) => {
  const original = await Deno.readTextFile(`${REPO}/tests/testdata/containerd-v3.toml`);
  await write(root, CONTAINERD_CONFIG, original);
  const result = await install(root, "--cri", "containerd");
  equal(result.code, 0, result.stderr);
  match(
    result.stdout,
    /containerd config \(version 3\): handler "strict-supplementalgroups" added/,
  );
  const patched = await Deno.readTextFile(`${root}${CONTAINERD_CONFIG}`);
  ok(patched.startsWith(original));
  // deno-lint-ignore no-explicit-any
  const handler = (parse(patched) as any).plugins["io.containerd.cri.v1.runtime"].containerd
    .runtimes[HANDLER];
  deepEqual(handler.options, { BinaryName: HOST_WRAPPER, Root: "", SystemdCgroup: true });
  equal((await uninstall(root, "--cri", "containerd")).code, 0);
  equal(await Deno.readTextFile(`${root}${CONTAINERD_CONFIG}`), original);
});

nodeTest("install for CRI-O writes one drop-in and never edits crio.conf", async (root) => {
  const crioConf = '[crio.runtime]\ndefault_runtime = "crun"\n';
  await write(root, "/etc/crio/crio.conf", crioConf);
  await write(root, "/usr/bin/crun", "#!/bin/sh\n");
  const config = `${root}/crio-config.toml`;
  await Deno.writeTextFile(config, 'cri = "cri-o"\nruntime = "crun"\n');
  const result = await install(root, "--cri", "crio", "--config", config);
  equal(result.code, 0, result.stderr);
  match(
    result.stdout,
    /CRI-O re-reads its runtime handlers on reload: run .*systemctl reload crio/,
  );
  deepEqual(parse(await Deno.readTextFile(`${root}${DROP_IN}`)), {
    crio: {
      runtime: {
        runtimes: {
          [HANDLER]: {
            runtime_path: HOST_WRAPPER,
            runtime_type: "oci",
            runtime_root: "/run/crun",
            monitor_env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
          },
        },
      },
    },
  });
  equal(await Deno.readTextFile(`${root}/etc/crio/crio.conf`), crioConf);
  equal(await Deno.readTextFile(`${root}${RUNTIME_CONFIG}`), 'cri = "cri-o"\nruntime = "crun"\n');

  const installed = await snapshot(root);
  match((await install(root, "--cri", "crio", "--config", config)).stdout, /no restart needed/);
  deepEqual(await snapshot(root), installed);

  equal((await uninstall(root, "--cri", "crio")).code, 0);
  equal(await Deno.stat(`${root}${DROP_IN}`).catch(() => undefined), undefined);
  equal(await Deno.readTextFile(`${root}/etc/crio/crio.conf`), crioConf);
});

nodeTest(
  "install --dry-run for CRI-O warns that a conmon_env would keep monitor_env from conmon",
  async (root) => {
    await write(root, "/etc/crio/crio.conf", '[crio.runtime]\nconmon_env = ["FOO=1"]\n');
    await write(root, "/usr/bin/crun", "#!/bin/sh\n");
    const config = `${root}/c.toml`;
    await Deno.writeTextFile(config, 'cri = "cri-o"\nruntime = "crun"\n');
    const result = await install(root, "--cri", "crio", "--config", config, "--dry-run");
    equal(result.code, 0, result.stderr);
    match(
      result.stderr,
      /^warning: .*\/etc\/crio\/crio.conf: \[crio.runtime\] conmon_env replaces every handler's monitor_env/m,
    );
    equal(
      await Deno.stat(`${root}${DROP_IN}`).catch(() => undefined),
      undefined,
      "a dry run writes nothing",
    );
  },
);

nodeTest("install for CRI-O refuses a handler another drop-in defines", async (root) => {
  await write(root, "/etc/crio/crio.conf.d/10-site.conf", `[crio.runtime.runtimes.${HANDLER}]\n`);
  const config = `${root}/c.toml`;
  await Deno.writeTextFile(config, 'cri = "cri-o"\n');
  const result = await install(root, "--cri", "crio", "--config", config);
  equal(result.code, 1);
  match(
    result.stderr,
    /10-site.conf: runtime handler "strict-supplementalgroups" is already defined/,
  );
});

nodeTest(
  "install refuses a runtime config for the other CRI (it would enforce nothing)",
  async (root) => {
    await write(root, "/etc/crio/crio.conf", "");
    const result = await install(root, "--cri", "crio");
    equal(result.code, 1);
    match(
      result.stderr,
      /the embedded default config has cri = "containerd" but the install is for cri-o/,
    );
    equal(await Deno.stat(`${root}${DROP_IN}`).catch(() => undefined), undefined);
  },
);

nodeTest("install refuses when the configured runtime is not on the node", async (root) => {
  await write(root, CONTAINERD_CONFIG, "version = 2\n");
  const config = `${root}/c.toml`;
  await Deno.writeTextFile(config, 'runtime = "crun"\n');
  const result = await install(root, "--cri", "containerd", "--config", config);
  equal(result.code, 1);
  match(
    result.stderr,
    /runtime "crun" \(from .*c.toml\) is not on the node: looked for \/usr\/local\/sbin\/crun/,
  );
});

nodeTest("install replaces its own config but keeps one edited on the node", async (root) => {
  await write(root, CONTAINERD_CONFIG, "version = 2\n");
  const config = `${root}/c.toml`;
  await Deno.writeTextFile(config, 'mode = "audit"\n');
  equal((await install(root, "--cri", "containerd", "--config", config)).code, 0);
  await Deno.writeTextFile(config, 'mode = "enforce"\n');
  equal((await install(root, "--cri", "containerd", "--config", config)).code, 0);
  equal(await Deno.readTextFile(`${root}${RUNTIME_CONFIG}`), 'mode = "enforce"\n');

  await Deno.writeTextFile(`${root}${RUNTIME_CONFIG}`, 'mode = "deny" # edited on the node\n');
  await Deno.writeTextFile(config, 'mode = "audit"\n');
  const kept = await install(root, "--cri", "containerd", "--config", config);
  equal(kept.code, 0, kept.stderr);
  match(kept.stderr, /config.toml was edited on the node, so it was kept; the new config is in/);
  equal(
    await Deno.readTextFile(`${root}${RUNTIME_CONFIG}`),
    'mode = "deny" # edited on the node\n',
  );
  equal(await Deno.readTextFile(`${root}${RUNTIME_CONFIG}.new`), 'mode = "audit"\n');
  const keptFiles = await snapshot(root);
  equal((await install(root, "--cri", "containerd", "--config", config)).code, 0);
  deepEqual(await snapshot(root), keptFiles, "a second run changes nothing");
});

nodeTest(
  "install restarts containerd in the host's namespaces, and reports a failed restart",
  async (root) => {
    await write(root, CONTAINERD_CONFIG, "version = 2\n");
    // No systemd here: a stand-in nsenter on PATH records the command it is given.
    const bin = `${root}/fake-bin`;
    await Deno.mkdir(bin);
    await Deno.writeTextFile(
      `${bin}/nsenter`,
      `#!/bin/sh\necho "$@" > ${root}/nsenter.args\nexit \${FAKE_EXIT:-0}\n`,
      { mode: 0o755 },
    );
    const args = ["install", "--host-root", root, "--wrapper", WRAPPER, "--cri", "containerd"];
    const result = await cli(args, { path: bin });
    equal(result.code, 0, result.stderr);
    equal(
      await Deno.readTextFile(`${root}/nsenter.args`),
      "--target 1 --mount --uts --ipc --net --pid -- systemctl restart containerd\n",
    );

    await Deno.writeTextFile(`${bin}/nsenter`, "#!/bin/sh\necho 'unit not found' >&2\nexit 5\n");
    await Deno.writeTextFile(`${root}${CONTAINERD_CONFIG}`, "version = 2\n");
    const failed = await cli(args, { path: bin });
    equal(failed.code, 1);
    match(failed.stderr, /systemctl restart containerd failed \(exit 5\): unit not found/);
  },
);

Deno.test("install needs --cri and a DNS-label handler", async () => {
  const missing = await cli(["install"]);
  equal(missing.code, 2);
  match(missing.stderr, /install needs --cri containerd\|crio/);
  const bad = await cli(["install", "--cri", "containerd", "--handler", "Not_A_Label"]);
  equal(bad.code, 2);
  match(bad.stderr, /must be a DNS label/);
  notEqual((await cli(["install", "--help"])).stdout, "");
});

nodeTest(
  "install --no-front-end puts the program itself under the wrapper's name",
  async (root) => {
    await write(root, CONTAINERD_CONFIG, 'version = 2\n[plugins."io.containerd.grpc.v1.cri"]\n');
    const result = await install(root, "--cri", "containerd", "--no-front-end");
    equal(result.code, 0, result.stderr);
    equal(await Deno.readTextFile(`${root}${HOST_WRAPPER}`), await Deno.readTextFile(WRAPPER));
    equal(await Deno.stat(`${root}${HOST_PROGRAM}`).then(() => true, () => false), false);
  },
);

nodeTest("install refuses the front end as the program (it would exec itself)", async (root) => {
  await write(root, CONTAINERD_CONFIG, 'version = 2\n[plugins."io.containerd.grpc.v1.cri"]\n');
  equal((await install(root, "--cri", "containerd")).code, 0);
  const looping = await cli([
    "install",
    "--host-root",
    root,
    "--wrapper",
    `${root}${HOST_WRAPPER}`,
    "--no-restart",
    "--cri",
    "containerd",
  ]);
  equal(looping.code, 1);
  match(looping.stderr, /is the shell front end, not the wrapper program/);
});
