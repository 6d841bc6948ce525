/**
 * Where the configuration file is, its text, and the little pass-through
 * needs of it. The pass-through path loads this module and
 * `runtime/runtime_binary.ts` only, so it never pays for the TOML parser
 * unless the file sets `runtime` or `state-dir`.
 *
 * @module
 */

import { ConfigError } from "../core/errors.ts";
import { DEFAULT_RUNTIME, validateRuntime } from "../runtime/runtime_binary.ts";

/** The default configuration file. */
export const DEFAULT_CONFIG_PATH = "/etc/strict-supplementalgroups-container-runtime/config.toml";

/**
 * The default node-local state directory: on tmpfs (`/run`), root-only. It
 * holds the Pod cache (`pods/`), the container cache (`containers/`) and the
 * pass-through record (`runtime`).
 */
export const DEFAULT_STATE_DIR = "/run/strict-supplementalgroups";

/** The pass-through record's file name in the state directory (`src/state/runtime_record.ts`). */
export const RUNTIME_RECORD = "runtime";

/** The create records' directory in the state directory (`src/state/create_record.ts`). */
export const CREATE_RECORDS = "creates";

/** A create record's first line, of the format both the program and the shell front end read. */
export const CREATE_RECORD_HEADER = "strict-supplementalgroups create record 2";

/** The environment variable that overrides {@linkcode DEFAULT_CONFIG_PATH}. */
export const CONFIG_ENV = "STRICT_SUPPLEMENTALGROUPS_CONFIG";

/** Where the configuration is read from. */
export interface ConfigLocation {
  /** The file. */
  readonly path: string;
  /** Whether it was named explicitly; only the default file may be missing. */
  readonly explicit: boolean;
}

/**
 * The configuration file path: the environment override, else the default.
 *
 * @returns The path and whether it was named explicitly.
 */
export function configPath(): ConfigLocation {
  const override = Deno.env.get(CONFIG_ENV);
  return override
    ? { path: override, explicit: true }
    : { path: DEFAULT_CONFIG_PATH, explicit: false };
}

/**
 * Reads the configuration file's text.
 *
 * @param location From {@linkcode configPath}.
 * @returns The text, or `undefined` when the default file does not exist.
 * @throws {ConfigError} When the file cannot be read, or an explicitly named file is missing.
 */
export async function readConfigText(location: ConfigLocation): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(location.path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound && !location.explicit) return undefined;
    throw new ConfigError(`${location.path}: cannot read: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** What pass-through needs of the configuration. */
export interface PassThroughSettings {
  /** The runtime to hand off to. */
  readonly runtime: string;
  /** Where the pass-through record goes. */
  readonly stateDir: string;
}

/**
 * The `runtime` and `state-dir` values of a configuration text, validated
 * by the configuration's own reader (same messages as a full load). The
 * TOML parser is imported only when the text sets one of them.
 *
 * @param text The configuration text (`undefined` for defaults).
 * @param path The file, for messages.
 * @returns The settings.
 * @throws {ConfigError} When the text is not TOML or a value is invalid.
 *
 * @example
 * ```ts
 * import { deepEqual, rejects } from "assert";
 * import { passThroughSettings } from "./config_file.ts";
 *
 * deepEqual(await passThroughSettings('mode = "audit"\n', "c.toml"), {
 *   runtime: "runc",
 *   stateDir: "/run/strict-supplementalgroups",
 * });
 * deepEqual(await passThroughSettings('state-dir = "/run/s"\nruntime = "crun"\n', "c.toml"), {
 *   runtime: "crun",
 *   stateDir: "/run/s",
 * });
 * await rejects(passThroughSettings('state-dir = "run"\n', "c.toml"), {
 *   message: 'c.toml:1: state-dir = "run": must be an absolute path',
 * });
 * ```
 */
export async function passThroughSettings(
  text: string | undefined,
  path: string,
): Promise<PassThroughSettings> {
  if (text === undefined || !/^\s*["']?(runtime|state-dir)["']?\s*=/m.test(text)) {
    return { runtime: DEFAULT_RUNTIME, stateDir: DEFAULT_STATE_DIR };
  }
  const [{ parseToml }, { ConfigReader }] = await Promise.all([
    import("./toml.ts"),
    import("./config_reader.ts"),
  ]);
  const table = parseToml(text, path);
  const reader = new ConfigReader(text, path);
  const settings = {
    runtime: reader.check(table, "", "runtime", validateRuntime, DEFAULT_RUNTIME),
    stateDir: reader.absolutePath(table, "", "state-dir", DEFAULT_STATE_DIR),
  };
  reader.finish();
  return settings;
}
