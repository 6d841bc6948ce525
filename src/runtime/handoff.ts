/**
 * The hand-off to the real runtime. Deno cannot exec(2) in place, so the
 * runtime runs as a child that inherits stdio, the environment and every
 * inherited file descriptor (Deno opens its own with O_CLOEXEC, so fds
 * passed by the caller for `--preserve-fds`/`LISTEN_FDS` stay open), while
 * the wrapper forwards signals and mirrors the exit status.
 *
 * @module
 */

import { WrapperError } from "../core/errors.ts";

/** Signals forwarded to the runtime (runc itself forwards them to the container). */
export const FORWARDED_SIGNALS: readonly Deno.Signal[] = [
  "SIGTERM",
  "SIGINT",
  "SIGHUP",
  "SIGQUIT",
  "SIGUSR1",
  "SIGUSR2",
  "SIGWINCH",
];

/** Dynamic-loader variables removed from the environment before any spawn. */
export const LOADER_VARIABLES: readonly string[] = ["LD_PRELOAD", "LD_LIBRARY_PATH"];

/**
 * Removes the dynamic-loader variables from the wrapper's environment, so
 * that neither the runtime nor `runc state` inherits them. containerd puts
 * its opt plugin's lib directory in LD_LIBRARY_PATH for every runtime it
 * starts, and Deno refuses to spawn a program with such variables unless
 * any program may be run (they could load arbitrary code into it); the
 * wrapper may run only runc and crun.
 */
export function dropLoaderVariables(): void {
  for (const name of LOADER_VARIABLES) Deno.env.delete(name);
}

const SIGNAL_NUMBERS: Readonly<Record<string, number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGTRAP: 5,
  SIGABRT: 6,
  SIGBUS: 7,
  SIGFPE: 8,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGSEGV: 11,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
  SIGSTKFLT: 16,
  SIGCHLD: 17,
  SIGCONT: 18,
  SIGSTOP: 19,
  SIGTSTP: 20,
  SIGTTIN: 21,
  SIGTTOU: 22,
  SIGURG: 23,
  SIGXCPU: 24,
  SIGXFSZ: 25,
  SIGVTALRM: 26,
  SIGPROF: 27,
  SIGWINCH: 28,
  SIGIO: 29,
  SIGPWR: 30,
  SIGSYS: 31,
};

/**
 * Runs the runtime with the given arguments and returns the status the
 * wrapper must exit with: the child's code, or 128+N when signal N killed it.
 *
 * @param runtime The runtime binary (name on PATH or absolute path); it is also argv[0].
 * @param args The arguments, exactly as they will reach the runtime.
 * @param started Run once the runtime has started, while it runs; its
 *   failure is the caller's to handle and never changes the status.
 * @returns The exit status to mirror.
 * @throws {WrapperError} When the runtime cannot be started.
 *
 * @example
 * ```ts ignore
 * import { handOff } from "./handoff.ts";
 * Deno.exit(await handOff("runc", ["--version"]));
 * ```
 */
export async function handOff(
  runtime: string,
  args: readonly string[],
  started?: () => Promise<void>,
): Promise<number> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(runtime, {
      args: [...args],
      stdin: "inherit",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();
  } catch (error) {
    throw new WrapperError(`cannot start runtime ${runtime}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const forwarders = FORWARDED_SIGNALS.map((signal) => {
    const forward = () => {
      try {
        child.kill(signal);
      } catch {
        // The child has already exited; its status is on its way.
      }
    };
    Deno.addSignalListener(signal, forward);
    return () => Deno.removeSignalListener(signal, forward);
  });
  try {
    const [status] = await Promise.all([child.status, started?.().catch(() => {})]);
    return status.signal !== null ? 128 + (SIGNAL_NUMBERS[status.signal] ?? 0) : status.code;
  } finally {
    for (const remove of forwarders) remove();
  }
}
