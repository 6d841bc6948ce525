/**
 * Which low-level runtime to hand off to, and in which grammar it speaks.
 * This is the only part of the configuration a pass-through command needs,
 * so it is read from the file's text, and the TOML parser is imported only
 * when the file actually sets `runtime`.
 *
 * @module
 */

import { ConfigError } from "../core/errors.ts";
import type { Flavour } from "./argv.ts";

/** The runtime used when the configuration names none (the original project's default). */
export const DEFAULT_RUNTIME = "runc";

/**
 * The `runtime` value of a configuration text, validated.
 *
 * @param text The configuration text (`undefined` for defaults).
 * @param path The file, for messages.
 * @returns The runtime binary.
 * @throws {ConfigError} When the text is not TOML or the value is invalid.
 *
 * @example
 * ```ts
 * import { equal, rejects } from "assert";
 * import { runtimeFromText } from "./runtime_binary.ts";
 *
 * equal(await runtimeFromText(undefined, "c.toml"), "runc");
 * equal(await runtimeFromText('mode = "audit"\n', "c.toml"), "runc");
 * equal(await runtimeFromText('runtime = "/usr/bin/crun"\n', "c.toml"), "/usr/bin/crun");
 * await rejects(
 *   runtimeFromText('runtime = "bin/runc"\n', "c.toml"),
 *   { message: 'c.toml: runtime = "bin/runc": must be a command name or an absolute path' },
 * );
 * ```
 */
export async function runtimeFromText(text: string | undefined, path: string): Promise<string> {
  if (text === undefined || !/^\s*["']?runtime["']?\s*=/m.test(text)) return DEFAULT_RUNTIME;
  const { parseToml } = await import("../config/toml.ts");
  const value = parseToml(text, path).runtime;
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
