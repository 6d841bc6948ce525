/**
 * Where the configuration file is, and its text. The pass-through path loads
 * this module and `runtime/runtime_binary.ts` only, so it never pays for
 * the TOML parser unless the file sets `runtime`.
 *
 * @module
 */

import { ConfigError } from "../core/errors.ts";

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
