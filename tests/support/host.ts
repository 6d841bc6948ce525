/**
 * The host preconditions the tests establish themselves, so that the first
 * `make test` on a new machine passes as the hundredth does, whatever the
 * order the test files run in. Each function looks at the machine, changes
 * it only where it must, can be called again at no cost, and answers why
 * the tests that need it cannot run (`undefined` when they can). `deno
 * test` runs every file in an isolate of its own, so nothing here is
 * remembered between files: the machine itself is the memory.
 *
 * @module
 */

import { DEFAULT_CONFIG } from "../../src/config/config.ts";

const CGROUP = "/sys/fs/cgroup";

/**
 * Makes a hybrid cgroup layout one crun accepts. crun (1.8 here, and later
 * releases alike) refuses every container on a hybrid layout whose unified
 * hierarchy still offers a controller ("cgroups in hybrid mode not
 * supported, drop all controllers from cgroupv2"); on a Debian 12 VM that
 * is `hugetlb`, which no v1 hierarchy binds. Mounting each such controller
 * as a v1 hierarchy of its own, while no cgroup uses it under cgroup2,
 * takes it out of the unified hierarchy's `cgroup.controllers`. A pure v1
 * or a pure v2 machine needs nothing. The mounts stay: the machine is then
 * laid out as crun needs it, for every later test.
 *
 * @returns Why crun cannot run containers here, or `undefined`.
 */
export async function prepareCgroupsForCrun(): Promise<string | undefined> {
  if (Deno.uid() !== 0) return "not root";
  const unified = await _unifiedHierarchy();
  if (unified === undefined) return undefined;
  const file = `${unified}/cgroup.controllers`;
  const text = await _output("cat", [file]);
  if (text === undefined) return `cannot read ${file}`;
  const controllers = text.split(/\s+/).filter(Boolean);
  for (const controller of controllers) {
    const target = `${CGROUP}/${controller}`;
    // mkdir(1), as cat(1) above: Deno asks for --allow-all under /sys.
    const out = await new Deno.Command("sh", {
      args: [
        "-c",
        'mkdir -p "$1" && mount -t cgroup -o "$2" cgroup "$1"',
        "sh",
        target,
        controller,
      ],
      stderr: "piped",
    }).output();
    if (!out.success) {
      return `hybrid cgroup layout with ${controller} in cgroup2, and mounting it as a v1 ` +
        `hierarchy at ${target} failed: ${new TextDecoder().decode(out.stderr).trim()}`;
    }
    console.error(
      `host: moved the ${controller} controller out of cgroup2 into a v1 hierarchy at ` +
        `${target} (crun refuses a hybrid layout with controllers in cgroup2)`,
    );
  }
  return undefined;
}

/** The unified hierarchy's mount point on a hybrid layout, else `undefined`. */
async function _unifiedHierarchy(): Promise<string | undefined> {
  const mounts = await _output("cat", ["/proc/self/mounts"]) ?? "";
  const fields = mounts.split("\n").map((line) => line.split(" "));
  const v1 = fields.some(([, , type]) => type === "cgroup");
  const v2 = fields.find(([, , type]) => type === "cgroup2");
  return v1 && v2 !== undefined ? v2[1] : undefined;
}

/**
 * Why a test cannot listen on the node's default containerd socket, the one
 * path the wrapper's permission set lets it connect to: a containerd
 * already serves it. A stale socket nobody serves is removed.
 *
 * @returns The reason, or `undefined` when the path is free.
 */
export async function defaultSocketBlocker(): Promise<string | undefined> {
  if (Deno.uid() !== 0) return "not root";
  const socket = DEFAULT_CONFIG.containerdSocket;
  if (!await _exists(socket)) return undefined;
  try {
    (await Deno.connect({ transport: "unix", path: socket })).close();
    return `a containerd already serves ${socket}, the one socket the wrapper may connect to`;
  } catch {
    await Deno.remove(socket);
    return undefined;
  }
}

/**
 * Makes the default socket's directory (`/run/containerd`, absent on a
 * node without containerd) ready for a stand-in or a private containerd
 * to listen in.
 *
 * @returns The release, to call once the server has stopped: it removes
 *   the socket, and the directory when this made it and nothing else is in it.
 */
export async function useDefaultSocket(): Promise<() => Promise<void>> {
  const socket = DEFAULT_CONFIG.containerdSocket;
  const dir = socket.slice(0, socket.lastIndexOf("/"));
  const made = !await _exists(dir);
  if (made) await Deno.mkdir(dir, { recursive: true, mode: 0o711 });
  return async () => {
    await Deno.remove(socket).catch(() => {});
    if (made) await Deno.remove(dir).catch(() => {});
  };
}

async function _exists(path: string): Promise<boolean> {
  return await Deno.lstat(path).then(() => true, () => false);
}

/**
 * A command's output, or `undefined` when it fails. Deno asks for
 * `--allow-all` to read under `/proc/self` and `/sys`, which the tests are
 * not given; `cat` reads them.
 */
async function _output(command: string, args: string[]): Promise<string | undefined> {
  const out = await new Deno.Command(command, { args, stderr: "null" }).output();
  return out.success ? new TextDecoder().decode(out.stdout) : undefined;
}
