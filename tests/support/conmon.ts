/**
 * conmon driven as CRI-O drives it (cri-o internal/oci/runtime_oci.go
 * CreateContainer, ExecSyncContainer; conmon src/cli.c, src/runtime_args.c),
 * for testing the wrapper as a CRI-O runtime handler: conmon's command line
 * flag for flag, its environment exactly the handler's `monitor_env` plus
 * the two pipe variables, the start pipe (fd 4) given its byte, the sync
 * pipe (fd 3) read back as CRI-O reads it (`{"pid": N}`, `{"exit_code": N}`
 * or a `message` with the runtime's stderr on failure), exec process files
 * written to /tmp as CRI-O's prepareProcessExec writes them. Debian's
 * conmon 2.1.6 runs here; CRI-O itself does not.
 *
 * @module
 */

import { stringifyLossless } from "../../src/spec/json_lossless.ts";
import type { MountNamespace } from "./mount_ns.ts";

/** A CRI-O runtime handler: what `[crio.runtime.runtimes.NAME]` sets. */
export interface Handler {
  /** `runtime_path`. */
  readonly runtimePath: string;
  /** `runtime_root`. */
  readonly runtimeRoot: string;
  /** `monitor_env`: conmon's whole environment besides the pipes. */
  readonly monitorEnv: readonly string[];
}

/** What conmon wrote to the sync pipe. */
export interface SyncMessage {
  /** The container's pid (create), -1 on failure. */
  readonly pid?: number;
  /** The exec's exit status (ExecSync), -1 on failure. */
  readonly exit_code?: number;
  /** The runtime's stderr, on failure: CRI-O reports `container create failed: <message>`. */
  readonly message?: string;
}

/** Directories conmon needs, as CRI-O's defaults have them (`/var/run/crio/exits`, …). */
export interface ConmonDirs {
  /** `--exit-dir`. */
  readonly exits: string;
  /** `--socket-dir-path`. */
  readonly sockets: string;
  /** Scratch space: the sync and start pipe files. */
  readonly scratch: string;
}

let serial = 0;

/**
 * Creates a container through conmon, as CRI-O's CreateContainer does
 * (cgroupfs, no terminal): conmon's runtime then runs
 * `<runtime_path> --root=<root> create --bundle B --pid-file B/pidfile ID`.
 *
 * @param ns The node's mount namespace.
 * @param handler The runtime handler.
 * @param container Its id, bundle, log file and persist directory.
 * @param dirs conmon's directories.
 * @returns What conmon wrote to the sync pipe.
 */
export async function conmonCreate(
  ns: MountNamespace,
  handler: Handler,
  container: { id: string; bundle: string; log: string; persist: string },
  dirs: ConmonDirs,
): Promise<SyncMessage> {
  const { id, bundle } = container;
  const args = [
    ...["-b", bundle, "-c", id, "--exit-dir", dirs.exits, "-l", container.log],
    ...["--log-level", "info", "-n", `k8s_${id}`, "-P", `${bundle}/conmon-pidfile`],
    ...["-p", `${bundle}/pidfile`, "--persist-dir", container.persist, "-r", handler.runtimePath],
    ...["--runtime-arg", `--root=${handler.runtimeRoot}`, "--socket-dir-path", dirs.sockets],
    ...["--syslog", "-u", id],
  ];
  // conmon double-forks: the parent exits at once, the monitor writes the sync pipe later.
  const sync = await _conmon(ns, handler, args, dirs, bundle);
  return await _message(sync);
}

/**
 * Runs an ExecSync through conmon, as CRI-O's ExecSyncContainer does:
 * conmon's runtime then runs `<runtime_path> --root=<root> exec --pid-file
 * P --process F --detach ID`, and the exec's output goes to a log file.
 *
 * @param ns The node's mount namespace.
 * @param handler The runtime handler.
 * @param exec The container id and the process file.
 * @param dirs conmon's directories.
 * @returns The sync message and the exec's stdout.
 */
export async function conmonExecSync(
  ns: MountNamespace,
  handler: Handler,
  exec: { id: string; processFile: string },
  dirs: ConmonDirs,
): Promise<SyncMessage & { stdout: string }> {
  const n = `${Deno.pid}-${++serial}`;
  const log = `/tmp/crio-log-${exec.id}${n}`;
  const args = [
    ...["-c", exec.id, "-n", `k8s_${exec.id}`, "-r", handler.runtimePath],
    ...["-p", `/tmp/pidfile${n}`, "-e", "-l", log, "--socket-dir-path", dirs.sockets],
    ...["--log-level", "info", "--sync", "--log-global-size-max", "16777216"],
    ...["--exec-process-spec", exec.processFile, "--runtime-arg", `--root=${handler.runtimeRoot}`],
  ];
  try {
    const message = await _message(await _conmon(ns, handler, args, dirs, "/"));
    const stdout = k8sLogLines(await Deno.readTextFile(log).catch(() => ""), "stdout").join("\n");
    return { ...message, stdout };
  } finally {
    await Deno.remove(log).catch(() => {});
    await Deno.remove(`/tmp/pidfile${n}`).catch(() => {});
  }
}

/**
 * Writes an exec process file as CRI-O's prepareProcessExec does: the
 * container's `process` as CRI-O holds it (the image's groups included)
 * with `args` replaced and `terminal` off, compact JSON with no final
 * newline, in `/tmp/exec-process-*`, mode 0600.
 *
 * @param process The container spec's `process`, as CRI-O created it (parsed losslessly).
 * @param args The exec's command.
 * @returns The file's path.
 */
export async function writeExecProcess(
  process: Record<string, unknown>,
  args: readonly string[],
): Promise<string> {
  const path = await Deno.makeTempFile({ dir: "/tmp", prefix: "exec-process-" });
  await Deno.writeTextFile(path, stringifyLossless({ ...process, terminal: false, args }));
  await Deno.chmod(path, 0o600);
  return path;
}

/**
 * The lines of one stream in a CRI log file (k8s-file: `<time> <stream> F|P <text>`).
 *
 * @param text The file's text.
 * @param stream `stdout` or `stderr`.
 * @returns The lines' text.
 */
export function k8sLogLines(text: string, stream: "stdout" | "stderr"): string[] {
  return text.split("\n").filter((line) => line.split(" ")[1] === stream).map((line) =>
    line.split(" ").slice(3).join(" ")
  );
}

/** Runs conmon in the namespace with exactly CRI-O's environment and pipes; returns the sync file. */
async function _conmon(
  ns: MountNamespace,
  handler: Handler,
  args: string[],
  dirs: ConmonDirs,
  cwd: string,
): Promise<{ sync: string; failure: string | undefined }> {
  const n = `${Deno.pid}-${++serial}`;
  const start = `${dirs.scratch}/start-${n}`;
  const sync = `${dirs.scratch}/sync-${n}`;
  // CRI-O writes one byte to the start pipe once conmon may go on.
  await Deno.writeFile(start, new Uint8Array([0]));
  await Deno.writeTextFile(sync, "");
  const env = [...handler.monitorEnv, "_OCI_SYNCPIPE=3", "_OCI_STARTPIPE=4"];
  const err = `${dirs.scratch}/stderr-${n}`;
  // conmon's monitor outlives the call: it must not hold a pipe of this process's open.
  const out = await new Deno.Command("bash", {
    args: [
      "-c",
      'sync=$1 start=$2 err=$3; shift 3; exec "$@" 3>"$sync" 4<"$start" >/dev/null 2>"$err"',
      "conmon",
      sync,
      start,
      err,
      ...ns.command(["env", "-i", ...env, "conmon", ...args]),
    ],
    cwd,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).output();
  // conmon's own status says little (an exec's is the command's); the sync pipe tells.
  return {
    sync,
    failure: out.success
      ? undefined
      : `conmon exited ${out.code}: ${(await Deno.readTextFile(err)).trim()}`,
  };
}

/** The first JSON object conmon writes to the sync file, waited for. */
async function _message(
  { sync, failure }: { sync: string; failure: string | undefined },
): Promise<SyncMessage> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const text = await Deno.readTextFile(sync);
    const line = text.split("\n").find((l) => l.trim() !== "");
    if (line !== undefined && text.includes("\n")) return JSON.parse(line);
    if (Date.now() > deadline) {
      throw new Error(`conmon wrote nothing to its sync pipe (${sync}) ${failure ?? ""}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
