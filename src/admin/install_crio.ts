/**
 * The drop-in `install` writes for CRI-O (cri-o docs/crio.conf.d.5.md): one file in
 * `crio.conf.d/` that defines the wrapper's runtime handler. CRI-O applies
 * drop-ins in lexical order on top of `crio.conf`, so the operator's files
 * are never edited and uninstall removes just this file.
 *
 * @module
 */

import { describe, InstallError } from "../core/errors.ts";
import { DEFAULT_PATH, defaultStateRoot, RUNTIME_DIRS } from "../runtime/runtime_binary.ts";
import { parseToml, tomlKey } from "../config/toml.ts";
import type { HandlerOptions } from "./install_containerd.ts";

/** The drop-in's file name: late in lexical order, so no earlier drop-in overrides it. */
export const CRIO_DROP_IN = "99-strict-supplementalgroups.conf";

const HEADER = "# Added by `strict-supplementalgroups install`; `uninstall` removes this file.";

/**
 * The drop-in's text. CRI-O starts the runtime for a create and for an
 * ExecSync through conmon, whose environment is exactly the handler's
 * `monitor_env` (cri-o internal/oci/runtime_oci.go): a handler defined in a
 * drop-in gets no `PATH` unless it sets one there, so the drop-in sets the
 * one CRI-O's own default handler has. The wrapper's configuration is
 * found at its default path, never through CRI-O's environment.
 *
 * @param options Handler name and wrapper path (`runtime_path`).
 * @param runtime The low-level runtime the wrapper hands off to; its state
 *   directory becomes `runtime_root`, so CRI-O and the wrapper's hand-off agree.
 * @returns The file's content.
 *
 * @example crun's state directory becomes `runtime_root`
 * ```ts
 * import { match } from "assert";
 * import { crioDropIn } from "./install_crio.ts";
 *
 * const text = crioDropIn({ handler: "ssg", binary: "/usr/local/bin/ssg" }, "crun");
 * match(text, /^\[crio\.runtime\.runtimes\.ssg\]$/m);
 * match(text, /^runtime_root = "\/run\/crun"$/m);
 * match(text, /^monitor_env = \["PATH=\/usr\/local\/sbin:/m);
 * ```
 */
export function crioDropIn(options: HandlerOptions, runtime: string): string {
  return [
    HEADER,
    `[crio.runtime.runtimes.${tomlKey(options.handler)}]`,
    `runtime_path = ${JSON.stringify(options.binary)}`,
    `runtime_type = "oci"`,
    `runtime_root = ${JSON.stringify(defaultStateRoot(runtime))}`,
    `monitor_env = [${JSON.stringify(`PATH=${DEFAULT_PATH}`)}]`,
    "",
  ].join("\n");
}

/**
 * What in CRI-O's other config files keeps the handler's `monitor_env` from
 * reaching conmon: the deprecated `[crio.runtime] conmon_env`, which
 * replaces every handler's `monitor_env` when set (cri-o pkg/config
 * TranslateMonitorFieldsForHandler).
 *
 * @param files `crio.conf` and the other drop-ins, with their text.
 * @returns Warnings for the operator.
 *
 * @example
 * ```ts
 * import { deepEqual, equal } from "assert";
 * import { crioEnvWarnings } from "./install_crio.ts";
 *
 * deepEqual(crioEnvWarnings([{ path: "crio.conf", text: "[crio.runtime]\n" }]), []);
 * const [warning] = crioEnvWarnings([
 *   { path: "crio.conf", text: '[crio.runtime]\nconmon_env = ["X=1"]\n' },
 * ]);
 * equal(warning?.startsWith("crio.conf: [crio.runtime] conmon_env replaces"), true);
 * ```
 */
export function crioEnvWarnings(files: readonly { path: string; text: string }[]): string[] {
  const warnings: string[] = [];
  for (const { path, text } of files) {
    let config: Record<string, unknown>;
    try {
      config = parseToml(text, path);
    } catch {
      continue; // assertNoOtherHandler reports it.
    }
    const runtime = (config.crio as Record<string, unknown> | undefined)?.runtime as
      | Record<string, unknown>
      | undefined;
    if (Array.isArray(runtime?.conmon_env) && runtime.conmon_env.length > 0) {
      warnings.push(
        `${path}: [crio.runtime] conmon_env replaces every handler's monitor_env, so the ` +
          `runtime gets no PATH from this handler: the wrapper then looks for it in ` +
          `${RUNTIME_DIRS.join(", ")}`,
      );
    }
  }
  return warnings;
}

/**
 * Whether a file is a drop-in this tool wrote.
 *
 * @param text The file's content.
 * @returns True when it carries our header.
 *
 * @example
 * ```ts
 * import { equal } from "assert";
 * import { crioDropIn, isOurDropIn } from "./install_crio.ts";
 *
 * const ours = crioDropIn({ handler: "ssg", binary: "/usr/local/bin/ssg" }, "crun");
 * equal(isOurDropIn(ours), true);
 * equal(isOurDropIn('[crio.runtime]\ndefault_runtime = "crun"\n'), false);
 * ```
 */
export function isOurDropIn(text: string): boolean {
  return text.startsWith(HEADER);
}

/**
 * Refuses when another CRI-O config file already defines the handler.
 *
 * @param files `crio.conf` and the other drop-ins, with their text.
 * @param handler The handler name.
 * @throws {InstallError} Naming the file that defines it, or a file that does not parse.
 *
 * @example
 * ```ts
 * import { assertNoOtherHandler } from "./install_crio.ts";
 * assertNoOtherHandler([{ path: "crio.conf", text: "[crio.runtime]\n" }], "ssg");
 * ```
 */
export function assertNoOtherHandler(
  files: readonly { path: string; text: string }[],
  handler: string,
): void {
  for (const { path, text } of files) {
    let config: Record<string, unknown>;
    try {
      config = parseToml(text, path);
    } catch (error) {
      throw new InstallError(`cannot read a CRI-O config file: ${describe(error)}`);
    }
    const runtimes = (((config.crio as Record<string, unknown> | undefined)?.runtime as
      | Record<string, unknown>
      | undefined)?.runtimes) as Record<string, unknown> | undefined;
    if (runtimes?.[handler] !== undefined) {
      throw new InstallError(
        `${path}: runtime handler ${JSON.stringify(handler)} is already defined there: ` +
          "remove that definition or install under another --handler",
      );
    }
  }
}
