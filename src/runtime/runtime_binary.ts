/**
 * Which low-level runtime to hand off to, and in which grammar it speaks.
 * This is the only part of the configuration a pass-through command needs,
 * so it is read from the file's text, and the TOML parser is imported only
 * when the file actually sets `runtime`.
 *
 * @module
 */

import { DEFAULT_STATE_DIR } from "../config/config_file.ts";
import { ConfigError } from "../core/errors.ts";
import type { Flavour } from "./argv.ts";

/** The runtime used when the configuration names none (the original project's default). */
export const DEFAULT_RUNTIME = "runc";

/** What pass-through needs of the configuration. */
export interface PassThroughSettings {
  /** The runtime to hand off to. */
  readonly runtime: string;
  /** Where the pass-through record goes. */
  readonly stateDir: string;
}

/**
 * The `runtime` and `state-dir` values of a configuration text, validated.
 * The TOML parser is imported only when the text sets one of them.
 *
 * @param text The configuration text (`undefined` for defaults).
 * @param path The file, for messages.
 * @returns The settings.
 * @throws {ConfigError} When the text is not TOML or a value is invalid.
 *
 * @example
 * ```ts
 * import { deepEqual } from "assert";
 * import { passThroughSettings } from "./runtime_binary.ts";
 *
 * deepEqual(await passThroughSettings('mode = "audit"\n', "c.toml"), {
 *   runtime: "runc",
 *   stateDir: "/run/strict-supplementalgroups",
 * });
 * deepEqual(await passThroughSettings('state-dir = "/run/s"\nruntime = "crun"\n', "c.toml"), {
 *   runtime: "crun",
 *   stateDir: "/run/s",
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
  const { parseToml } = await import("../config/toml.ts");
  const table = parseToml(text, path);
  const stateDir = table["state-dir"] ?? DEFAULT_STATE_DIR;
  if (typeof stateDir !== "string" || !stateDir.startsWith("/")) {
    throw new ConfigError(
      `${path}: state-dir = ${JSON.stringify(stateDir)}: must be an absolute path`,
    );
  }
  return { runtime: _runtime(table.runtime, path), stateDir };
}

function _runtime(value: unknown, path: string): string {
  if (value === undefined) return DEFAULT_RUNTIME;
  try {
    return validateRuntime(value);
  } catch (error) {
    throw new ConfigError(
      `${path}: runtime = ${JSON.stringify(value)}: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

/**
 * Checks a `runtime` value: a command name found on PATH, or an absolute path.
 *
 * @param value The configured value.
 * @returns The value.
 * @throws {Error} Saying what it must be (the caller names file and key).
 *
 * @example
 * ```ts
 * import { equal, throws } from "assert";
 * import { validateRuntime } from "./runtime_binary.ts";
 *
 * equal(validateRuntime("/usr/libexec/crio/crun"), "/usr/libexec/crio/crun");
 * throws(() => validateRuntime("bin/runc"), { message: "must be a command name or an absolute path" });
 * ```
 */
export function validateRuntime(value: unknown): string {
  if (
    typeof value !== "string" || value === "" ||
    (value.includes("/") && !value.startsWith("/")) || /\s/.test(value)
  ) {
    throw new Error("must be a command name or an absolute path");
  }
  return value;
}

/**
 * The grammar of a runtime binary, from its name: crun's for `crun`
 * (and `crun-*`, `/usr/bin/crun`), runc's otherwise.
 *
 * @param runtime The runtime binary.
 * @returns The flavour.
 *
 * @example
 * ```ts
 * import { equal } from "assert";
 * import { flavourOf } from "./runtime_binary.ts";
 *
 * equal(flavourOf("/usr/libexec/crio/crun"), "crun");
 * equal(flavourOf("runc"), "runc");
 * ```
 */
export function flavourOf(runtime: string): Flavour {
  const base = runtime.slice(runtime.lastIndexOf("/") + 1);
  return base === "crun" || base.startsWith("crun-") ? "crun" : "runc";
}
