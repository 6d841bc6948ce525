/**
 * Typed errors of the wrapper and the admin tool. Every message is written to
 * be read in `kubectl describe pod`: lowercase, no trailing period,
 * `context: cause`, and one line. An error that wraps another names it as its
 * `cause` (`new SpecError("…", { cause })`), so nothing is lost for a
 * debugger while the message stays one line.
 *
 * @module
 */

/** The prefix of every message the programs write, as `kubectl describe` shows it. */
export const MESSAGE_PREFIX = "strict-supplementalgroups: ";

/**
 * An error that stops an identity-setting command. The entry point turns it
 * into one stderr line, a runc-format line in the caller's `--log` file and
 * a non-zero exit status.
 *
 * @example Messages are one line, whatever the caller passed
 * ```ts
 * import { equal } from "assert";
 * import { WrapperError } from "./errors.ts";
 *
 * const error = new WrapperError("pod default/web not found\non this node");
 * equal(error.message, "pod default/web not found; on this node");
 * ```
 */
export class WrapperError extends Error {
  /** The error class, as `error.name`. */
  override name = "WrapperError";

  /**
   * Makes an error whose message is folded onto one line.
   *
   * @param message What went wrong, `context: cause`.
   * @param options `cause`: the error this one wraps.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(oneLine(message), options);
  }
}

/** The command line could not be understood well enough to enforce it. */
export class UsageError extends WrapperError {
  /** The error class, as `error.name`. */
  override name = "UsageError";
}

/**
 * The configuration file is unreadable or invalid. The message joins every
 * problem on one line; {@linkcode ConfigError.problems} keeps them apart for
 * `check-config`.
 *
 * @example Several problems, one line
 * ```ts
 * import { deepEqual, equal } from "assert";
 * import { ConfigError } from "./errors.ts";
 *
 * const error = new ConfigError(["c.toml:1: mode = \"x\": bad", "c.toml:2: cri = \"y\": bad"]);
 * equal(error.message, 'c.toml:1: mode = "x": bad; c.toml:2: cri = "y": bad');
 * deepEqual(error.problems.length, 2);
 * ```
 */
export class ConfigError extends WrapperError {
  /** The error class, as `error.name`. */
  override name = "ConfigError";
  /** Each problem, naming file, line, key and value. */
  readonly problems: readonly string[];

  /**
   * Makes a configuration error.
   *
   * @param problems One problem, or all of them.
   * @param options `cause`: the error this one wraps.
   */
  constructor(problems: string | readonly string[], options?: ErrorOptions) {
    const list = typeof problems === "string" ? [problems] : [...problems];
    super(list.join("; "), options);
    this.problems = list;
  }
}

/** An OCI spec or process file is missing, malformed, or cannot be rewritten safely. */
export class SpecError extends WrapperError {
  /** The error class, as `error.name`. */
  override name = "SpecError";
}

/** A source of Pod facts could not answer, or answered something that cannot be a Pod's. */
export class PodSourceError extends WrapperError {
  /** The error class, as `error.name`. */
  override name = "PodSourceError";
}

/** The kubelet could not be asked, or did not answer with the container's Pod. */
export class KubeletError extends PodSourceError {
  /** The error class, as `error.name`. */
  override name = "KubeletError";
}

/** The container is refused by the decision (mode `deny`, or a fail-closed rule). */
export class RefusalError extends WrapperError {
  /** The error class, as `error.name`. */
  override name = "RefusalError";
}

/** An install or uninstall step cannot be done safely; nothing was changed by that step. */
export class InstallError extends WrapperError {
  /** The error class, as `error.name`. */
  override name = "InstallError";
}

/**
 * Describes any thrown value as one line, for error messages.
 *
 * @param error The caught value.
 * @returns Its message, or its string form when it is not an `Error`.
 *
 * @example
 * ```ts
 * import { equal } from "assert";
 * import { describe } from "./errors.ts";
 *
 * equal(describe(new Error("a\nb")), "a; b");
 * equal(describe("plain"), "plain");
 * ```
 */
export function describe(error: unknown): string {
  return oneLine(error instanceof Error ? error.message : String(error));
}

/**
 * Folds a text onto one line: line breaks (and the blanks around them)
 * become `; `, so that a message reaches stderr and the runc log as one line.
 *
 * @param text Any text.
 * @returns The text without line breaks.
 *
 * @example
 * ```ts
 * import { equal } from "assert";
 * import { oneLine } from "./errors.ts";
 *
 * equal(oneLine("c.toml:1: bad\n  c.toml:2: worse\n"), "c.toml:1: bad; c.toml:2: worse");
 * ```
 */
export function oneLine(text: string): string {
  return text.trim().replace(/\s*[\r\n]+\s*/g, "; ");
}
