/**
 * Which low-level runtime to hand off to, and in which grammar it speaks.
 * This is the only part of the configuration a pass-through command needs,
 * so it reads the file as text and imports the TOML parser only when the
 * file actually sets `runtime`.
 *
 * @module
 */

import type { Flavour } from "./argv.ts";
import { ConfigError } from "./errors.ts";

/** The default configuration file. */
export const DEFAULT_CONFIG_PATH = "/etc/strict-supplementalgroups-container-runtime/config.toml";

/** The environment variable that overrides {@linkcode DEFAULT_CONFIG_PATH}. */
export const CONFIG_ENV = "STRICT_SUPPLEMENTALGROUPS_CONFIG";

/** The runtime used when the configuration names none (the original project's default). */
export const DEFAULT_RUNTIME = "runc";

/**
 * The configuration file path: the environment override, else the default.
 *
 * @returns The path and whether it was named explicitly.
 */
export function configPath(): { path: string; explicit: boolean } {
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
export async function readConfigText(
  location: { path: string; explicit: boolean },
): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(location.path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound && !location.explicit) return undefined;
    throw new ConfigError(`${location.path}: cannot read: ${(error as Error).message}`);
  }
}

/**
 * The `runtime` value of a configuration text, validated.
 *
 * @param text The configuration text (`undefined` for defaults).
 * @param path The file, for messages.
 * @returns The runtime binary.
 * @throws {ConfigError} When the text is not TOML or the value is invalid.
 */
export async function runtimeFromText(text: string | undefined, path: string): Promise<string> {
  if (text === undefined || !/^\s*["']?runtime["']?\s*=/m.test(text)) return DEFAULT_RUNTIME;
  const { parseToml } = await import("./toml.ts");
  const value = parseToml(text, path).runtime;
  return value === undefined ? DEFAULT_RUNTIME : validateRuntime(value, path);
}

/**
 * Checks a `runtime` value: a command name found on PATH, or an absolute path.
 *
 * @param value The configured value.
 * @param path The file, for messages.
 * @returns The value.
 * @throws {ConfigError} When it is not a non-empty name or absolute path.
 */
export function validateRuntime(value: unknown, path: string): string {
  if (
    typeof value !== "string" || value === "" ||
    (value.includes("/") && !value.startsWith("/")) || /\s/.test(value)
  ) {
    throw new ConfigError(
      `${path}: runtime: ${JSON.stringify(value)} is not a command name or an absolute path`,
    );
  }
  return value;
}

/**
 * The grammar of a runtime binary, from its name: crun's for `crun`
 * (and `crun-*`, `/usr/bin/crun`), runc's otherwise.
 *
 * @param runtime The runtime binary.
 * @returns The flavour.
 */
export function flavourOf(runtime: string): Flavour {
  const base = runtime.slice(runtime.lastIndexOf("/") + 1);
  return base === "crun" || base.startsWith("crun-") ? "crun" : "runc";
}
