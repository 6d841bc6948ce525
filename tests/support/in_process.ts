/**
 * Runs many command lines through the wrapper's entry flow in one Deno
 * process (`passthrough_harness.ts`), under the shipped permission set with
 * one recording script as the only runtime it may start: thousands of
 * invocations in seconds instead of minutes.
 *
 * @module
 */

import { permissionFlags } from "../../tools/permission_flags.ts";
import { REPO } from "./wrapper.ts";

/**
 * A runtime that appends `argc` and each argument, NUL-terminated, to a
 * file, and exits with `argc % 7`.
 *
 * @param path Where to write the script.
 * @param log The file it appends to.
 */
export async function writeRecordingRuntime(path: string, log: string): Promise<void> {
  await Deno.writeTextFile(
    path,
    `#!/bin/sh\nprintf '%s\\0' "$#" "$@" >> '${log}'\nexit $(( $# % 7 ))\n`,
  );
  await Deno.chmod(path, 0o755);
}

/**
 * Splits a recording runtime's log into the argvs it saw.
 *
 * @param bytes The log's content.
 * @returns One argv per invocation.
 */
export function recordedArgvs(bytes: Uint8Array): string[][] {
  const words = new TextDecoder().decode(bytes).split("\0").slice(0, -1);
  const argvs: string[][] = [];
  for (let i = 0; i < words.length;) {
    const argc = Number(words[i]);
    argvs.push(words.slice(i + 1, i + 1 + argc));
    i += 1 + argc;
  }
  return argvs;
}

/**
 * Runs each argv through `runWrapper` in one process.
 *
 * @param argvs The command lines.
 * @param options The runtime the permission set allows, the config, more environment.
 * @returns Each exit status, and what the process wrote to stderr.
 */
export async function runInProcess(
  argvs: readonly string[][],
  options: { runtime: string; config: string; env?: Record<string, string> },
): Promise<{ codes: number[]; stderr: string; code: number }> {
  const flags = (await permissionFlags(`${REPO}/deno.json`, "runtime")).map((flag) =>
    flag.startsWith("--allow-run=") ? `--allow-run=${options.runtime}` : flag
  );
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--no-prompt",
      "--cached-only",
      "--no-config",
      "--no-lock",
      `--import-map=${REPO}/dist/import_map.json`,
      ...flags,
      `${REPO}/tests/support/passthrough_harness.ts`,
    ],
    env: { STRICT_SUPPLEMENTALGROUPS_CONFIG: options.config, ...options.env },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(JSON.stringify(argvs)));
  await writer.close();
  const out = await child.output();
  const stdout = new TextDecoder().decode(out.stdout);
  return {
    codes: out.success ? JSON.parse(stdout) : [],
    stderr: new TextDecoder().decode(out.stderr),
    code: out.code,
  };
}
