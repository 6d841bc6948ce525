/**
 * The one reader of configuration values: each key checked, every problem
 * collected and reported with its file, line, key and value
 * (`c.toml:3: state-dir = "run": must be an absolute path`). The whole
 * configuration (`config.ts`) and what pass-through reads of it
 * (`config_file.ts`) read keys through it, so one key is never validated
 * twice with two messages.
 *
 * @module
 */

import { ConfigError } from "../core/errors.ts";

/**
 * Reads the keys of a parsed TOML table, collecting every problem with the
 * file, line, key and value it is about, instead of stopping at the first.
 */
export class ConfigReader {
  readonly #lines: string[];
  readonly #path: string;
  readonly #problems: string[] = [];

  /**
   * A reader of one file.
   *
   * @param text The file's text (for the lines of problems).
   * @param path The file, for messages.
   */
  constructor(text: string, path: string) {
    this.#lines = text.split("\n");
    this.#path = path;
  }

  /**
   * A table, each of its keys one of `known`.
   *
   * @param value The value.
   * @param name Its dotted name (`""` for the top level).
   * @param known Its keys.
   * @returns The table (empty when it is not one).
   */
  table(value: unknown, name: string, known: readonly string[]): Record<string, unknown> {
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      this.problem(name, value, "must be a table");
      return {};
    }
    const table = value as Record<string, unknown>;
    for (const key of Object.keys(table)) {
      if (!known.includes(key)) this.problem(_join(name, key), table[key], "unknown key");
    }
    return table;
  }

  /**
   * A key's value, checked.
   *
   * @param table The table.
   * @param section Its dotted name.
   * @param key The key.
   * @param validate Returns the value, or throws saying what it must be.
   * @param fallback The value when the key is absent or invalid.
   * @returns The value.
   */
  check<T>(
    table: Record<string, unknown>,
    section: string,
    key: string,
    validate: (value: unknown) => T,
    fallback: T,
  ): T {
    if (!(key in table)) return fallback;
    try {
      return validate(table[key]);
    } catch (error) {
      this.problem(_join(section, key), table[key], (error as Error).message);
      return fallback;
    }
  }

  /**
   * A key whose value is one of a list.
   *
   * @param table The table.
   * @param section Its dotted name.
   * @param key The key.
   * @param allowed The values.
   * @param fallback The value when the key is absent or invalid.
   * @returns The value.
   */
  choice<T extends string>(
    table: Record<string, unknown>,
    section: string,
    key: string,
    allowed: readonly T[],
    fallback: T,
  ): T {
    return this.check(table, section, key, (value) => {
      if (!allowed.includes(value as T)) throw new Error(`must be one of ${allowed.join(", ")}`);
      return value as T;
    }, fallback);
  }

  /**
   * A `true` or `false` key.
   *
   * @param table The table.
   * @param section Its dotted name.
   * @param key The key.
   * @param fallback The value when the key is absent or invalid.
   * @returns The value.
   */
  boolean(
    table: Record<string, unknown>,
    section: string,
    key: string,
    fallback: boolean,
  ): boolean {
    return this.check(table, section, key, (value) => {
      if (typeof value !== "boolean") throw new Error("must be true or false");
      return value;
    }, fallback);
  }

  /**
   * A whole number of at least `min`.
   *
   * @param table The table.
   * @param section Its dotted name.
   * @param key The key.
   * @param fallback The value when the key is absent or invalid.
   * @param min The least value.
   * @returns The value.
   */
  count(
    table: Record<string, unknown>,
    section: string,
    key: string,
    fallback: number,
    min: number,
  ): number {
    return this.check(table, section, key, (value) => {
      if (typeof value !== "number" || !Number.isInteger(value) || value < min) {
        throw new Error(`must be a whole number of at least ${min}`);
      }
      return value;
    }, fallback);
  }

  /**
   * An absolute path.
   *
   * @param table The table.
   * @param section Its dotted name.
   * @param key The key.
   * @param fallback The value when the key is absent or invalid.
   * @returns The value.
   */
  absolutePath(
    table: Record<string, unknown>,
    section: string,
    key: string,
    fallback: string,
  ): string {
    return this.check(table, section, key, (value) => {
      if (typeof value !== "string" || !value.startsWith("/")) {
        throw new Error("must be an absolute path");
      }
      return value;
    }, fallback);
  }

  /**
   * An annotation key, at the top level.
   *
   * @param table The table.
   * @param key The key.
   * @param fallback The value when the key is absent or invalid.
   * @returns The value.
   */
  annotation(table: Record<string, unknown>, key: string, fallback: string): string {
    return this.check(table, "", key, (value) => {
      if (typeof value !== "string" || !/^[A-Za-z0-9][A-Za-z0-9._\/-]*$/.test(value)) {
        throw new Error("must be an annotation key");
      }
      return value;
    }, fallback);
  }

  /**
   * Ends the reading.
   *
   * @throws {ConfigError} Listing every problem found, when there is one.
   */
  finish(): void {
    if (this.#problems.length > 0) throw new ConfigError(this.#problems);
  }

  /**
   * Records a problem, with the line that sets the key.
   *
   * @param key The dotted key.
   * @param value Its value.
   * @param reason What is wrong.
   */
  problem(key: string, value: unknown, reason: string): void {
    const line = this.#lineOf(key);
    const at = line === undefined ? this.#path : `${this.#path}:${line}`;
    this.#problems.push(`${at}: ${key} = ${_show(value)}: ${reason}`);
  }

  /** The line that sets a key, found by its last dotted part within its table. */
  #lineOf(key: string): number | undefined {
    const parts = key.split(".");
    const leaf = parts.pop()!;
    const header = parts.join(".");
    let inTable = header === "";
    for (const [index, raw] of this.#lines.entries()) {
      const line = raw.trim();
      const section = /^\[([^\]]+)\]/.exec(line)?.[1]?.trim();
      if (section !== undefined) {
        inTable = section === header;
        if (section === key) return index + 1;
        continue;
      }
      if (inTable && new RegExp(`^["']?${_escape(leaf)}["']?\\s*=`).test(line)) return index + 1;
    }
    return undefined;
  }
}

function _join(section: string, key: string): string {
  return section === "" ? key : `${section}.${key}`;
}

function _show(value: unknown): string {
  if (typeof value === "object" && value !== null) return Array.isArray(value) ? "[…]" : "{…}";
  return JSON.stringify(value) ?? String(value);
}

function _escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
