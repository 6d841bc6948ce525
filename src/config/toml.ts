/**
 * The TOML parser behind the import map, with errors that name the file.
 *
 * @module
 */

import { parse, TomlError } from "toml";
import { ConfigError } from "../core/errors.ts";

/**
 * Parses TOML text.
 *
 * @param text The text.
 * @param path The file, for messages.
 * @returns The top-level table.
 * @throws {ConfigError} With the line and column of a syntax error.
 *
 * @example
 * ```ts
 * import { equal, throws } from "assert";
 * import { parseToml } from "./toml.ts";
 *
 * equal(parseToml('mode = "audit"\n', "c.toml").mode, "audit");
 * throws(() => parseToml('mode = "audit\n', "c.toml"), {
 *   name: "ConfigError",
 *   message: /^c\.toml:1:\d+: /,
 * });
 * ```
 */
export function parseToml(text: string, path: string): Record<string, unknown> {
  try {
    return parse(text) as Record<string, unknown>;
  } catch (error) {
    if (error instanceof TomlError) {
      const reason = error.message.split("\n")[0]!.replace(/^Invalid TOML document: /, "");
      throw new ConfigError(`${path}:${error.line}:${error.column}: ${reason}`, { cause: error });
    }
    throw error;
  }
}

/**
 * A table key as TOML writes it: bare when it can be, quoted otherwise.
 *
 * @param name The key.
 * @returns The key's TOML spelling.
 *
 * @example
 * ```ts
 * import { equal } from "assert";
 * import { tomlKey } from "./toml.ts";
 *
 * equal(tomlKey("runc"), "runc");
 * equal(tomlKey("io.containerd.grpc.v1.cri"), '"io.containerd.grpc.v1.cri"');
 * ```
 */
export function tomlKey(name: string): string {
  return /^[A-Za-z0-9_-]+$/.test(name) ? name : JSON.stringify(name);
}
