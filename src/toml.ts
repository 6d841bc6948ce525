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
