/**
 * The pass-through record: which runtime the configuration names, kept in
 * `<state-dir>/runtime` for the shell front end (`src/admin/front_end.ts`),
 * which execs that runtime directly for a command that cannot set an
 * identity. The record is written only here, by the program that read the
 * configuration, and only after it started that runtime under its own
 * permission set; the front end uses it only while it is newer than the
 * configuration file.
 *
 * Its format is three lines: the configuration file it was derived from,
 * the runtime, and whether that file was `present` or `absent` (the
 * embedded defaults). It appears dated a second before the configuration
 * was read (`replaceStateFile`), so a configuration changed after the read
 * is always newer than the record, in any shell's `-nt` (dash compares
 * nanoseconds, busybox seconds) and whatever the clock the file system
 * stamps from; `-nt` is false for a missing file, hence the third line.
 *
 * @module
 */

import { RUNTIME_RECORD } from "../config/config_file.ts";
import { distrust, ensureStateDir, inForce, replaceStateFile } from "./state_dir.ts";

/**
 * The record's text.
 *
 * @param configPath The configuration file the runtime was read from.
 * @param runtime The runtime.
 * @param present Whether the file existed (else the defaults applied).
 * @returns Three lines.
 *
 * @example
 * ```ts
 * import { equal } from "assert";
 * import { recordText } from "./runtime_record.ts";
 *
 * equal(recordText("/etc/c.toml", "crun", true), "/etc/c.toml\ncrun\npresent\n");
 * ```
 */
export function recordText(configPath: string, runtime: string, present: boolean): string {
  return `${configPath}\n${runtime}\n${present ? "present" : "absent"}\n`;
}

/**
 * Writes the record unless an identical one is already newer, by whole
 * seconds, than the configuration file.
 *
 * @param stateDir The state directory.
 * @param what The configuration file, whether it existed, the runtime, and
 *   when the file was read.
 * @throws {WrapperError} When the state directory cannot be trusted or written.
 */
export async function recordRuntime(
  stateDir: string,
  what: {
    readonly configPath: string;
    readonly present: boolean;
    readonly runtime: string;
    readonly readAt: Date;
  },
): Promise<void> {
  const path = `${stateDir}/${RUNTIME_RECORD}`;
  const text = recordText(what.configPath, what.runtime, what.present);
  const record = await Deno.lstat(path).catch(() => undefined);
  if (
    record !== undefined && distrust(record, "file") === undefined &&
    inForce(record.mtime?.getTime() ?? 0, what.configPath) &&
    await Deno.readTextFile(path).catch(() => "") === text
  ) {
    return;
  }
  ensureStateDir(stateDir);
  replaceStateFile(path, text, what.readAt);
}
