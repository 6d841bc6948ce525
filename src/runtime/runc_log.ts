/**
 * The runc-format error line. containerd's shim reads the caller's `--log`
 * file as a stream of JSON objects and reports the `msg` of the last `error`
 * line as `OCI runtime create failed: <msg>` (containerd
 * cmd/containerd-shim-runc-v2/process/utils.go getLastRuntimeError); one
 * malformed line would hide every later error, so the line follows runc's
 * logrus JSONFormatter exactly (`level`, `msg`, `time` in RFC 3339).
 *
 * @module
 */

/**
 * Formats one error line as runc would with `--log-format json|text`.
 *
 * @param message The message.
 * @param format The caller's `--log-format` (runc's default is `text`).
 * @param now The time.
 * @returns One line ending in a newline.
 *
 * @example
 * ```ts
 * import { equal } from "assert";
 * import { runcLogLine } from "./runc_log.ts";
 *
 * const at = new Date("2026-01-02T03:04:05.678Z");
 * equal(runcLogLine("boom", "json", at), '{"level":"error","msg":"boom","time":"2026-01-02T03:04:05Z"}\n');
 * equal(runcLogLine("boom", undefined, at), 'time="2026-01-02T03:04:05Z" level=error msg="boom"\n');
 * ```
 */
export function runcLogLine(message: string, format: string | undefined, now: Date): string {
  const time = now.toISOString().replace(/\.\d+Z$/, "Z");
  if (format === "json") return `${JSON.stringify({ level: "error", msg: message, time })}\n`;
  return `time="${time}" level=error msg=${JSON.stringify(message)}\n`;
}

/**
 * Appends a line to the caller's `--log` file, created 0644 like runc does.
 *
 * @param path The `--log` path.
 * @param line The line.
 */
export async function appendRuncLog(path: string, line: string): Promise<void> {
  await Deno.writeTextFile(path, line, { append: true, create: true, mode: 0o644 });
}
