/**
 * The TOML parser behind the import map, with errors that name the file.
 *
 * @module
 */

import { parse, TomlError } from "toml";
import { ConfigError } from "./errors.ts";

/**
 * Parses TOML text.
 *
 * @param text The text.
 * @param path The file, for messages.
 * @returns The top-level table.
 * @throws {ConfigError} With the line and column of a syntax error.
 */
export function parseToml(text: string, path: string): Record<string, unknown> {
  try {
    return parse(text) as Record<string, unknown>;
  } catch (error) {
    if (error instanceof TomlError) {
      const reason = error.message.split("\n")[0]!.replace(/^Invalid TOML document: /, "");
      throw new ConfigError(`${path}:${error.line}:${error.column}: ${reason}`);
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
 * import { tomlKey } from "./toml.ts";
 * console.assert(tomlKey("runc") === "runc");
 * console.assert(tomlKey("io.containerd.grpc.v1.cri") === '"io.containerd.grpc.v1.cri"');
 * ```
 */
export function tomlKey(name: string): string {
  return /^[A-Za-z0-9_-]+$/.test(name) ? name : JSON.stringify(name);
}
