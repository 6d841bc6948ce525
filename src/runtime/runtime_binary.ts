/**
 * The low-level runtime's binary: what a configured `runtime` may be, where
 * a bare name is found, which grammar it speaks, and where it keeps its
 * containers' state. The one owner of the runtime's location: the wrapper,
 * its shell front end, `install` and `check-config` all ask here.
 *
 * @module
 */

import { WrapperError } from "../core/errors.ts";
import type { Flavour } from "./argv.ts";

/** The runtime used when the configuration names none (the original project's default). */
export const DEFAULT_RUNTIME = "runc";

/**
 * The `PATH` of CRI-O's own default runtime handler (cri-o pkg/config
 * `defaultRuntimeHandler`), the one `install --cri crio` gives the
 * wrapper's handler in `monitor_env`: CRI-O starts the runtime through
 * conmon with exactly the handler's `monitor_env`, so a handler that sets
 * none gives the wrapper no `PATH` at all (cri-o internal/oci/runtime_oci.go).
 */
export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/**
 * Where a runtime named without a path is found when `PATH` is empty or
 * unset, in order: {@linkcode DEFAULT_PATH}'s directories, then CRI-O's own
 * `/usr/libexec/crio` (where its static bundle puts crun and runc). The
 * wrapper's permission set (deno.json) may look at and run `runc` and
 * `crun` in each, and nothing else there.
 */
export const RUNTIME_DIRS: readonly string[] = Object.freeze([
  ...DEFAULT_PATH.split(":"),
  "/usr/libexec/crio",
]);

/**
 * Checks a `runtime` value: a command name or an absolute path.
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
 * The binary to start for a runtime: an absolute path as it is; a bare name
 * as it is when `PATH` is set (the spawn looks it up there, as `execvp`
 * does), else the first of {@linkcode RUNTIME_DIRS} that holds it.
 *
 * @param runtime The configured runtime.
 * @param path The environment's `PATH` (`undefined` when unset).
 * @param isFile Whether a file exists (injected for tests).
 * @returns The binary, or `undefined` when PATH is empty or unset and no directory holds it.
 *
 * @example
 * ```ts
 * import { equal } from "assert";
 * import { runtimeBinary } from "./runtime_binary.ts";
 *
 * const here = (path: string) => path === "/usr/sbin/runc";
 * equal(runtimeBinary("runc", undefined, here), "/usr/sbin/runc");
 * equal(runtimeBinary("runc", "", here), "/usr/sbin/runc");
 * equal(runtimeBinary("runc", "/root/.cache/deno/node_compat_bin", here), "/usr/sbin/runc");
 * equal(runtimeBinary("runc", "/opt/bin:/bin", here), "runc");
 * equal(runtimeBinary("crun", undefined, here), undefined);
 * equal(runtimeBinary("/opt/crun", undefined, here), "/opt/crun");
 * ```
 */
export function runtimeBinary(
  runtime: string,
  path: string | undefined,
  isFile: (path: string) => boolean = _isFile,
): string | undefined {
  if (runtime.includes("/")) return runtime;
  // Deno puts its own `<DENO_DIR>/node_compat_bin` (a `node` for npm
  // packages) on a PATH that was empty or unset: that is still no PATH.
  const dirs = (path ?? "").split(":").filter((dir) => dir !== "" && !dir.endsWith(DENO_NODE_BIN));
  if (dirs.length > 0) return runtime;
  return RUNTIME_DIRS.map((dir) => `${dir}/${runtime}`).find(isFile);
}

/** The directory Deno 2 puts on an empty or unset PATH. */
const DENO_NODE_BIN = "/node_compat_bin";

/**
 * {@linkcode runtimeBinary} with this process's `PATH`.
 *
 * @param runtime The configured runtime.
 * @returns The binary to start.
 * @throws {WrapperError} When PATH is empty or unset and no directory holds it.
 */
export function findRuntime(runtime: string): string {
  // A path needs no lookup, and no read of PATH (the pass-through path's audit counts it).
  if (runtime.includes("/")) return runtime;
  const path = Deno.env.get("PATH");
  const binary = runtimeBinary(runtime, path);
  if (binary === undefined) {
    throw new WrapperError(
      `cannot start runtime ${runtime}: there is no PATH and none of ` +
        `${RUNTIME_DIRS.join(", ")} holds it`,
    );
  }
  return binary;
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

/**
 * Where a runtime keeps its containers' state when the caller gives no
 * `--root` (as root: runc `main.go`, crun `src/libcrun/status.c`).
 *
 * @param runtime The runtime binary.
 * @returns The state root.
 *
 * @example
 * ```ts
 * import { equal } from "assert";
 * import { defaultStateRoot } from "./runtime_binary.ts";
 *
 * equal(defaultStateRoot("crun"), "/run/crun");
 * equal(defaultStateRoot("/usr/sbin/runc"), "/run/runc");
 * ```
 */
export function defaultStateRoot(runtime: string): string {
  return `/run/${flavourOf(runtime)}`;
}

function _isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}
