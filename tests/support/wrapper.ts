/**
 * Runs the shipped wrapper (`dist/`, built by `make build`) exactly as a
 * caller would, with the permission set that ships, and a test config.
 *
 * @module
 */

import { deepStrictEqual, doesNotMatch, match, strictEqual } from "assert";
import { STAMP_MARGIN_MS } from "../../src/state/state_dir.ts";
import type { Pki } from "./pki.ts";

export const REPO = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
export const WRAPPER = `${REPO}/dist/strict-supplementalgroups-container-runtime`;
export const CLI = `${REPO}/dist/strict-supplementalgroups`;

/** The result of one wrapper run. */
export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** The process's peak resident set (VmHWM) as last sampled, when asked for. */
  readonly peakRssKb?: number;
}

/** How to run the wrapper. */
export interface RunOptions {
  /** The config file (`STRICT_SUPPLEMENTALGROUPS_CONFIG`). */
  config?: string;
  cwd?: string;
  /** Another program in the wrapper's place (runc, for comparisons). */
  program?: string;
  /** More environment variables (e.g. `DENO_AUDIT_PERMISSIONS`). */
  env?: Record<string, string>;
}

function _command(args: string[], options: RunOptions, stdio: "piped" | "null"): Deno.Command {
  return new Deno.Command(options.program ?? WRAPPER, {
    args,
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    env: {
      ...(options.config ? { STRICT_SUPPLEMENTALGROUPS_CONFIG: options.config } : {}),
      ...options.env,
    },
    stdin: "null",
    stdout: stdio,
    stderr: stdio,
  });
}

/**
 * Runs the wrapper to completion.
 *
 * @param args Its arguments.
 * @param options Config file, working directory, program, environment;
 *   `measureRss` samples the process's peak memory while it runs.
 * @returns Exit code and output.
 */
export async function runWrapper(
  args: string[],
  options: RunOptions & { measureRss?: boolean } = {},
): Promise<RunResult> {
  const child = _command(args, options, "piped").spawn();
  const peak = options.measureRss ? _samplePeakRss(child.pid) : undefined;
  const out = await child.output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return {
    code: out.code,
    stdout: decode(out.stdout),
    stderr: decode(out.stderr),
    ...(peak === undefined ? {} : { peakRssKb: await peak }),
  };
}

/**
 * Samples the process's VmHWM every 10 ms until it is gone; the largest value read. A shell
 * does the reading: Deno grants `/proc/<pid>/` only to programs allowed everything.
 */
async function _samplePeakRss(pid: number): Promise<number> {
  const out = await new Deno.Command("sh", {
    args: [
      "-c",
      'while kill -0 "$1" 2>/dev/null; do grep VmHWM "/proc/$1/status"; sleep 0.01; done',
      "sh",
      String(pid),
    ],
    stdin: "null",
    stderr: "null",
  }).output();
  const values = new TextDecoder().decode(out.stdout).match(/\d+/g) ?? [];
  return Math.max(0, ...values.map(Number));
}

/**
 * Asserts that a run failed closed as docs/security.md says: exit status 1,
 * nothing on stdout, one line on stderr naming the cause (never an internal
 * error), and that same line as the only runc-format JSON line of `--log`.
 *
 * @param result The run.
 * @param log The `--log` file given to it (absent before the run).
 * @param cause What the message must name.
 * @returns The message.
 */
export async function assertFailedClosed(
  result: RunResult,
  log: string,
  cause: RegExp,
): Promise<string> {
  strictEqual(result.code, 1, result.stderr);
  strictEqual(result.stdout, "");
  const [message, ...rest] = result.stderr.split("\n");
  deepStrictEqual(rest, [""], `one line on stderr: ${result.stderr}`);
  match(message!, /^strict-supplementalgroups: /);
  doesNotMatch(message!, /internal error/);
  match(message!, cause);
  const lines = (await Deno.readTextFile(log)).split("\n");
  deepStrictEqual(lines.slice(1), [""], "one line in --log");
  const line = JSON.parse(lines[0]!);
  deepStrictEqual(Object.keys(line), ["level", "msg", "time"]);
  strictEqual(line.level, "error");
  strictEqual(line.msg, message);
  match(line.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  return message!;
}

/**
 * The names in a directory, sorted (to show that no temp file was left).
 *
 * @param dir The directory.
 * @returns Its entries' names.
 */
export async function listDir(dir: string): Promise<string[]> {
  return (await Array.fromAsync(Deno.readDir(dir))).map((entry) => entry.name).sort();
}

/**
 * Writes a wrapper config that points at the test PKI, log file and state
 * directory (`<dir>/state`: the Pod cache and the pass-through record, never
 * the node's own), and at a containerd socket that is not there, so the
 * kubelet stand-in decides whatever this host runs (a test of containerd's
 * CRI as the source overrides `containerd-socket`).
 *
 * @param dir Where to write it.
 * @param pki The test PKI.
 * @param extra More TOML lines (top-level keys).
 * @param logging More `[logging]` lines.
 * @returns The config path.
 */
export async function writeConfig(
  dir: string,
  pki: Pki,
  extra: string[] = [],
  logging: string[] = [],
): Promise<string> {
  const path = `${dir}/config.toml`;
  const overridden = new Set(extra.map((line) => line.split("=")[0]!.trim()));
  const base = [
    `kubeconfig = "${pki.kubeconfig}"`,
    `kubelet-ca-file = "${pki.kubeletCrt}"`,
    `state-dir = "${dir}/state"`,
    `containerd-socket = "${dir}/no-containerd.sock"`,
  ].filter((line) => !overridden.has(line.split("=")[0]!.trim()));
  const text = [...base, ...extra, "[logging]", `log-file = "${dir}/wrapper.log"`, ...logging, ""]
    .join("\n");
  // Written only when it changes, as a node's is: a rewrite is a configuration change, which
  // sends the front end's next calls to the program.
  if (await Deno.readTextFile(path).catch(() => undefined) !== text) {
    await Deno.writeTextFile(path, text);
  }
  return path;
}

/**
 * Waits until a configuration file is older than the margin the wrapper
 * dates its records by (`src/state/state_dir.ts`). Until then no record can
 * be newer than the file, and the front end sends every exec to the
 * program, as on a node in the second after its configuration changed.
 *
 * @param path The configuration file.
 */
export async function configSettled(path: string): Promise<void> {
  const age = Date.now() - (await Deno.stat(path)).mtime!.getTime();
  if (age <= STAMP_MARGIN_MS) {
    await new Promise((resolve) => setTimeout(resolve, STAMP_MARGIN_MS - age + 50));
  }
}

/**
 * The decision lines the wrapper logged.
 *
 * @param dir The config's directory.
 * @returns Parsed JSON lines.
 */
export async function decisions(dir: string): Promise<Record<string, unknown>[]> {
  const text = await Deno.readTextFile(`${dir}/wrapper.log`).catch(() => "");
  return text.split("\n").filter(Boolean).map((line) => JSON.parse(line));
}

/** Whether a command is on PATH and runnable. */
export async function have(command: string, args = ["--version"]): Promise<boolean> {
  try {
    return (await new Deno.Command(command, { args, stdout: "null", stderr: "null" })
      .output()).success;
  } catch {
    return false;
  }
}

/** Why root-only tests cannot run here, or `undefined` when they can. */
export async function rootTestsBlocker(): Promise<string | undefined> {
  if (Deno.uid() !== 0) return "not root";
  return await kubeletTestsBlocker();
}

/**
 * Why tests against the kubelet stand-in cannot run here (they need openssl
 * for the PKI, runc for `runc spec`, busybox for the rootfs), or `undefined`.
 */
export async function kubeletTestsBlocker(): Promise<string | undefined> {
  if (!await have("runc")) return "runc is not installed";
  if (!await have("openssl", ["version"])) return "openssl is not installed";
  if (!await Deno.stat("/bin/busybox").then(() => true, () => false)) {
    return "busybox-static is not installed";
  }
  return undefined;
}

/**
 * {@linkcode rootTestsBlocker}, said loudly on stderr when there is one, so
 * that the skipped tests are never mistaken for passed ones.
 *
 * @param suite What is skipped, e.g. "runc integration tests".
 * @returns The blocker, or `undefined` when the tests can run.
 */
export async function announceRootTestsBlocker(suite: string): Promise<string | undefined> {
  const blocker = await rootTestsBlocker();
  if (blocker !== undefined) {
    console.error(`\n*** SKIPPED: ${suite} need root, runc, openssl, busybox: ${blocker} ***\n`);
  }
  return blocker;
}

/**
 * Starts the wrapper (or runc) in the background with stdio detached, for
 * containers that outlive the call or must be signalled.
 *
 * @param args Its arguments.
 * @param options Config file, working directory, program, environment.
 * @returns The child process.
 */
export function spawnWrapper(args: string[], options: RunOptions = {}): Deno.ChildProcess {
  return _command(args, options, "null").spawn();
}

/**
 * Waits until a predicate holds, polling; fails after `ms`.
 *
 * @param what What is awaited, for the error.
 * @param predicate Checked every 50 ms.
 * @param ms The limit.
 */
export async function waitFor(
  what: string,
  predicate: () => Promise<boolean>,
  ms = 10_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!await predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * The status runc reports for a container, or `undefined` when it has none.
 *
 * @param root The runc root.
 * @param id The container id.
 * @returns `created`, `running`, `stopped`, …
 */
export async function runcStatus(root: string, id: string): Promise<string | undefined> {
  const out = await new Deno.Command("runc", { args: ["--root", root, "state", id] }).output();
  return out.success ? JSON.parse(new TextDecoder().decode(out.stdout)).status : undefined;
}

/**
 * Removes a container, whatever state it is in.
 *
 * @param root The runc root.
 * @param id The container id.
 */
export async function runcDelete(root: string, id: string): Promise<void> {
  await new Deno.Command("runc", {
    args: ["--root", root, "delete", "--force", id],
    stdout: "null",
    stderr: "null",
  }).output();
}

/**
 * Removes every container in a runc root.
 *
 * @param root The runc root.
 * @returns How many there were.
 */
export async function runcDeleteAll(root: string): Promise<number> {
  const out = await new Deno.Command("runc", { args: ["--root", root, "list", "-q"] }).output();
  const ids = new TextDecoder().decode(out.stdout).split("\n").filter(Boolean);
  await inPool(ids.length, 4, (n) => runcDelete(root, ids[n]!));
  return ids.length;
}

/**
 * Runs `count` jobs, at most `workers` at a time.
 *
 * @param count How many jobs.
 * @param workers How many at once.
 * @param job Job `n`.
 * @returns The results, in job order.
 */
export async function inPool<T>(
  count: number,
  workers: number,
  job: (n: number) => Promise<T>,
): Promise<T[]> {
  const results: T[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: workers }, async () => {
    while (next < count) {
      const n = next++;
      results[n] = await job(n);
    }
  }));
  return results;
}

/** One access recorded by `DENO_AUDIT_PERMISSIONS`. */
export interface AuditRecord {
  readonly permission: string;
  readonly value: string | null;
}

/**
 * Reads the JSONL record that Deno writes to the file named by
 * `DENO_AUDIT_PERMISSIONS`: one line per permission check, granted or
 * denied. Deno 2.9 records read, write, net, env and sys checks, not run.
 *
 * @param path The file.
 * @returns The records, in order.
 */
export async function readAudit(path: string): Promise<AuditRecord[]> {
  const text = await Deno.readTextFile(path).catch(() => "");
  return text.split("\n").filter(Boolean).map((line) => {
    const { permission, value } = JSON.parse(line);
    return { permission, value };
  });
}
