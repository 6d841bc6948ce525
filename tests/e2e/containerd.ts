/**
 * A private containerd for the e2e, of any node of the runtime matrix
 * (`tests/support/runtimes.ts`): its own root, state, socket and runtime
 * roots under one temp directory, never the system's, and the node's
 * binaries first on its PATH (its shim, runc and crun). Four CRI handlers:
 * `runc` and `crun` (the bare runtimes, as controls) and
 * `strict-supplementalgroups` and `strict-supplementalgroups-crun` (the
 * wrapper, by default its shell front end in front of the built program, as
 * the runc shim's BinaryName, handing off to runc or to crun). No CNI: the
 * tests' sandboxes use host networking.
 *
 * @module
 */

import type { RuntimeNode } from "../support/runtimes.ts";

export interface Containerd {
  readonly dir: string;
  readonly socket: string;
  readonly pid: number;
  /** The PATH its processes have: the node's binaries first. */
  readonly path: string;
  /** Stops containerd by its pid, kills its shims, removes containers and mounts. */
  stop(): Promise<void>;
}

export const PAUSE_IMAGE = "localhost/ssgcr-e2e:test";

/** The runtime handlers, each by its BinaryName and state root. */
export interface Handlers {
  /** The wrapper handing off to runc (its BinaryName). */
  readonly wrapper: string;
  /** The wrapper handing off to crun (its BinaryName). */
  readonly crunWrapper: string;
}

/**
 * containerd's config, in the version-2 format of containerd 1.x, which
 * containerd 2.x still reads (migrating it to version 3).
 */
export function containerdConfig(
  dir: string,
  handlers: Handlers,
  socket = `${dir}/containerd.sock`,
): string {
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  const handler = (name: string, root: string, binary?: string) =>
    `    [${cri}.containerd.runtimes.${name}]
      runtime_type = "io.containerd.runc.v2"
      [${cri}.containerd.runtimes.${name}.options]
        Root = "${dir}/${root}"
${binary === undefined ? "" : `        BinaryName = "${binary}"\n`}`;
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
${handler("runc", "runc")}${handler("crun", "crun", "crun")}${
    handler("strict-supplementalgroups", "runc", handlers.wrapper)
  }${handler("strict-supplementalgroups-crun", "crun", handlers.crunWrapper)}  [${cri}.cni]
    bin_dir = "${dir}/cni/bin"
    conf_dir = "${dir}/cni/conf"
`;
}

/**
 * Starts a node's containerd and waits for its socket.
 *
 * @param dir The private directory.
 * @param options The node, the handlers' wrappers, the environment
 *   containerd passes on to its shims and so to the wrapper
 *   (`STRICT_SUPPLEMENTALGROUPS_CONFIG`), and its gRPC socket (default
 *   `<dir>/containerd.sock`).
 * @returns The running instance.
 */
export async function startContainerd(
  dir: string,
  options: {
    node: RuntimeNode;
    handlers: Handlers;
    env: Record<string, string>;
    socket?: string | undefined;
  },
): Promise<Containerd> {
  const socket = options.socket ?? `${dir}/containerd.sock`;
  const path = options.node.path;
  await Deno.writeTextFile(
    `${dir}/containerd.toml`,
    containerdConfig(dir, options.handlers, socket),
  );
  // containerd writes its log to a file: a pipe nobody drains would block it.
  // `exec` keeps the pid containerd's own.
  const child = new Deno.Command("bash", {
    args: [
      "-c",
      'exec "$1" --config "$2" >>"$3" 2>&1',
      "containerd",
      options.node.containerd,
      `${dir}/containerd.toml`,
      `${dir}/containerd.log`,
    ],
    env: { ...options.env, PATH: path },
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
    path,
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
      await sweep(dir, { socket, path });
    },
  };
}

/**
 * Kills this instance's shims, deletes its runc and crun containers (with
 * the node's own runc and crun), unmounts everything below `dir`.
 */
export async function sweep(
  dir: string,
  options: { socket?: string; path?: string } = {},
): Promise<void> {
  const socket = options.socket ?? `${dir}/containerd.sock`;
  const sh = (script: string) =>
    new Deno.Command("bash", {
      args: ["-c", script],
      env: options.path === undefined ? {} : { PATH: options.path },
      stdout: "null",
      stderr: "null",
    }).output();
  await sh(`pkill -KILL -f -- "-address ${socket.replace(/\.sock$/, "[.]sock")}( |$)" || true`);
  for (const runtime of ["runc", "crun"]) {
    await sh(
      `for id in $(${runtime} --root "${dir}/${runtime}/k8s.io" list -q 2>/dev/null); do ` +
        `${runtime} --root "${dir}/${runtime}/k8s.io" delete --force "$id"; done`,
    );
  }
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
