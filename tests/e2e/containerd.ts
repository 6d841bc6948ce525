/**
 * A private containerd 1.6 for the e2e: its own root, state, socket and runc
 * root under one temp directory, never the system's. Two CRI handlers:
 * `runc` (baseline) and `strict-supplementalgroups` (the wrapper, by default
 * its shell front end in front of the built program, as the runc shim's
 * BinaryName), and, where crun runs, `strict-supplementalgroups-crun` (the
 * wrapper configured with `runtime = "crun"`). No CNI: the tests' sandboxes
 * use host networking.
 *
 * @module
 */

export interface Containerd {
  readonly dir: string;
  readonly socket: string;
  readonly pid: number;
  /** Stops containerd by its pid, kills its shims, removes containers and mounts. */
  stop(): Promise<void>;
}

export const PAUSE_IMAGE = "localhost/ssgcr-e2e:test";

/** containerd's config, in the version-2 format of containerd 1.x. */
export function containerdConfig(
  dir: string,
  wrapper: string,
  crunWrapper?: string,
  socket = `${dir}/containerd.sock`,
): string {
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  return `version = 2
root = "${dir}/root"
state = "${dir}/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp"]

[grpc]
  address = "${socket}"
[ttrpc]
  address = "${dir}/containerd.sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "${dir}/opt"

[${cri}]
  sandbox_image = "${PAUSE_IMAGE}"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  # This VM denies lowering oom_score_adj (the sandbox's -998); keep the current score.
  restrict_oom_score_adj = true
  [${cri}.containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [${cri}.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [${cri}.containerd.runtimes.runc.options]
        Root = "${dir}/runc"
    [${cri}.containerd.runtimes.strict-supplementalgroups]
      runtime_type = "io.containerd.runc.v2"
      [${cri}.containerd.runtimes.strict-supplementalgroups.options]
        Root = "${dir}/runc"
        BinaryName = "${wrapper}"
${
    crunWrapper === undefined
      ? ""
      : `    [${cri}.containerd.runtimes.strict-supplementalgroups-crun]
      runtime_type = "io.containerd.runc.v2"
      [${cri}.containerd.runtimes.strict-supplementalgroups-crun.options]
        Root = "${dir}/crun"
        BinaryName = "${crunWrapper}"
`
  }  [${cri}.cni]
    bin_dir = "${dir}/cni/bin"
    conf_dir = "${dir}/cni/conf"
`;
}

/**
 * Starts containerd and waits for its socket.
 *
 * @param dir The private directory.
 * @param options The wrapper binary, the environment containerd passes on
 *   to its shims and so to the wrapper (`STRICT_SUPPLEMENTALGROUPS_CONFIG`),
 *   and its gRPC socket (default `<dir>/containerd.sock`).
 * @returns The running instance.
 */
export async function startContainerd(
  dir: string,
  options: {
    wrapper: string;
    crunWrapper?: string | undefined;
    env: Record<string, string>;
    socket?: string | undefined;
  },
): Promise<Containerd> {
  const socket = options.socket ?? `${dir}/containerd.sock`;
  await Deno.writeTextFile(
    `${dir}/containerd.toml`,
    containerdConfig(dir, options.wrapper, options.crunWrapper, socket),
  );
  // containerd writes its log to a file: a pipe nobody drains would block it.
  // `exec` keeps the pid containerd's own.
  const child = new Deno.Command("bash", {
    args: [
      "-c",
      'exec containerd --config "$1" >>"$2" 2>&1',
      "containerd",
      `${dir}/containerd.toml`,
      `${dir}/containerd.log`,
    ],
    env: options.env,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const deadline = Date.now() + 20_000;
  while (!await Deno.stat(socket).then(() => true, () => false)) {
    if (Date.now() > deadline) {
      throw new Error(`containerd did not start; see ${dir}/containerd.log`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  let stopped = false;
  return {
    dir,
    socket,
    pid: child.pid,
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        child.kill("SIGTERM");
      } catch {
        // Already gone.
      }
      const timer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch {
          // Already gone.
        }
      }, 10_000);
      await child.status;
      clearTimeout(timer);
      await sweep(dir, socket);
    },
  };
}

/** Kills this instance's shims, deletes its runc containers, unmounts everything below `dir`. */
export async function sweep(dir: string, socket = `${dir}/containerd.sock`): Promise<void> {
  const sh = (script: string) =>
    new Deno.Command("bash", { args: ["-c", script], stdout: "null", stderr: "null" }).output();
  await sh(`pkill -KILL -f -- "-address ${socket.replace(/\.sock$/, "[.]sock")}( |$)" || true`);
  await sh(
    `for id in $(runc --root "${dir}/runc/k8s.io" list -q 2>/dev/null); do ` +
      `runc --root "${dir}/runc/k8s.io" delete --force "$id"; done`,
  );
  await sh(
    `for id in $(crun --root "${dir}/crun/k8s.io" list -q 2>/dev/null); do ` +
      `crun --root "${dir}/crun/k8s.io" delete --force "$id"; done`,
  );
  await sh(
    `awk '{print $5}' /proc/self/mountinfo | grep -F "${dir}/" | sort -r | ` +
      `while read -r m; do umount -l "$m"; done`,
  );
}

/**
 * Mount points still below `dir` (to prove the sweep left none).
 *
 * @param dir The private directory.
 * @returns Mount targets.
 */
export async function mountsBelow(dir: string): Promise<string[]> {
  const out = await new Deno.Command("bash", {
    args: ["-c", `awk '{print $5}' /proc/self/mountinfo | grep -F "${dir}/" || true`],
  }).output();
  return new TextDecoder().decode(out.stdout).split("\n").filter(Boolean);
}
