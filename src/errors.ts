/**
 * Typed errors of the wrapper. Every message is written to be read in
 * `kubectl describe pod`: lowercase, no trailing period, `context: cause`.
 *
 * @module
 */

/**
 * An error that stops an identity-setting command. The entry point turns it
 * into one stderr line, a runc-format line in the caller's `--log` file and
 * a non-zero exit status.
 *
 * @example
 * ```ts
 * import { WrapperError } from "./errors.ts";
 * const error = new WrapperError("pod default/web not found on this node");
 * console.assert(error.message === "pod default/web not found on this node");
 * ```
 */
export class WrapperError extends Error {
  override name = "WrapperError";
}

/** The command line could not be understood well enough to enforce it. */
export class UsageError extends WrapperError {
  override name = "UsageError";
}

/** The configuration file is unreadable or invalid; the message names file, key and value. */
export class ConfigError extends WrapperError {
  override name = "ConfigError";
}

/** An OCI spec or process file is missing, malformed, or cannot be rewritten safely. */
export class SpecError extends WrapperError {
  override name = "SpecError";
}

/** The kubelet could not be asked, or did not answer with the container's Pod. */
export class KubeletError extends WrapperError {
  override name = "KubeletError";
}

/** The container is refused by the decision (mode `deny`, or a fail-closed rule). */
export class RefusalError extends WrapperError {
  override name = "RefusalError";
}

/** An install or uninstall step cannot be done safely; nothing was changed by that step. */
export class InstallError extends WrapperError {
  override name = "InstallError";
}

/**
 * Describes any thrown value as one line, for error messages.
 *
 * @param error The caught value.
 * @returns Its message, or its string form when it is not an `Error`.
 */
export function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
