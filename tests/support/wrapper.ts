/**
 * Runs the shipped wrapper (`dist/`, built by `make build`) exactly as a
 * caller would, with the permission set that ships, and a test config.
 *
 * @module
 */

import type { Pki } from "./pki.ts";

export const REPO = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
export const WRAPPER = `${REPO}/dist/strict-supplementalgroups-container-runtime`;
export const CLI = `${REPO}/dist/strict-supplementalgroups`;

/** The result of one wrapper run. */
export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs the wrapper to completion.
 *
 * @param args Its arguments.
 * @param options Config file, working directory, stdin.
 * @returns Exit code and output.
 */
export async function runWrapper(
  args: string[],
  options: { config?: string; cwd?: string; program?: string } = {},
): Promise<RunResult> {
  const out = await new Deno.Command(options.program ?? WRAPPER, {
    args,
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    env: options.config ? { STRICT_SUPPLEMENTALGROUPS_CONFIG: options.config } : {},
    stdin: "null",
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

/**
 * Writes a wrapper config that points at the test PKI and log file.
 *
 * @param dir Where to write it.
 * @param pki The test PKI.
 * @param extra More TOML lines (top-level keys).
 * @returns The config path.
 */
export async function writeConfig(dir: string, pki: Pki, extra: string[] = []): Promise<string> {
  const path = `${dir}/config.toml`;
  const overridden = new Set(extra.map((line) => line.split("=")[0]!.trim()));
  const base = [`kubeconfig = "${pki.kubeconfig}"`, `kubelet-ca-file = "${pki.kubeletCrt}"`]
    .filter((line) => !overridden.has(line.split("=")[0]!.trim()));
  await Deno.writeTextFile(
    path,
    [...base, ...extra, "[logging]", `log-file = "${dir}/wrapper.log"`, ""].join("\n"),
  );
  return path;
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
  if (!await have("runc")) return "runc is not installed";
  if (!await have("openssl", ["version"])) return "openssl is not installed";
  if (!await Deno.stat("/bin/busybox").then(() => true, () => false)) {
    return "busybox-static is not installed";
  }
  return undefined;
}

/**
 * Starts the wrapper (or runc) in the background with stdio detached, for
 * containers that outlive the call or must be signalled.
 *
 * @param args Its arguments.
 * @param options Config file, working directory, program.
 * @returns The child process.
 */
export function spawnWrapper(
  args: string[],
  options: { config?: string; cwd?: string; program?: string } = {},
): Deno.ChildProcess {
  return new Deno.Command(options.program ?? WRAPPER, {
    args,
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    env: options.config ? { STRICT_SUPPLEMENTALGROUPS_CONFIG: options.config } : {},
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
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
