/**
 * What an identity-setting invocation asks for, read off its parsed command
 * line: which spec a create reads, which process file and flags an exec
 * carries. Pure: the caller's working directory comes in as data.
 *
 * @module
 */

import { UsageError } from "../core/errors.ts";
import { flagSet, flagValue, type Invocation } from "../runtime/argv.ts";

/** A `create` or `run`. */
export interface CreateRequest {
  /** The kind of request. */
  readonly kind: "create";
  /** `create` or `run`. */
  readonly command: "create" | "run";
  /** The container id. */
  readonly id: string;
  /** The bundle, absolute: `--bundle`, else the working directory. */
  readonly bundle: string;
  /** The spec the runtime will read: `<bundle>/config.json`, or crun's `--config/-f FILE`. */
  readonly specPath: string;
  /** The caller's `--root`. */
  readonly root: string | undefined;
  /** The words to hand to the runtime. */
  readonly argv: readonly string[];
}

/** One `-g`/`--additional-gids` of a runc exec. */
export interface GidFlag {
  /** The gid. */
  readonly gid: number;
  /** The index of its first word in argv. */
  readonly start: number;
  /** The index after its last word. */
  readonly end: number;
}

/** An `exec`. */
export interface ExecRequest {
  /** The kind of request. */
  readonly kind: "exec";
  /** The container id. */
  readonly id: string;
  /** The container's bundle when the caller named it; else the runtime is asked. */
  readonly bundle: string | undefined;
  /** The caller's `--root`, for asking the runtime. */
  readonly root: string | undefined;
  /** `--process FILE`, absolute. */
  readonly processFile: string | undefined;
  /** `-u uid[:gid]`. */
  readonly userFlag: { readonly uid: number; readonly gid?: number } | undefined;
  /** Every `-g`, in order. */
  readonly gidFlags: readonly GidFlag[];
  /** The words to hand to the runtime. */
  readonly argv: readonly string[];
}

/** Any identity-setting request. */
export type Request =
  | CreateRequest
  | ExecRequest
  | {
    readonly kind: "restore";
    /** The container id. */
    readonly id: string | undefined;
    /** The words to hand to the runtime. */
    readonly argv: readonly string[];
  }
  | {
    /** `--help` anywhere: the runtime only prints its help. */
    readonly kind: "help";
    /** The words to hand to the runtime. */
    readonly argv: readonly string[];
  };

/**
 * Reads the request off a parsed invocation.
 *
 * containerd's runc shim names an exec's `--pid-file` inside the container's
 * bundle (`<bundle>/<exec-id>.pid`, containerd `pkg/process/exec.go`
 * newExecPidFile), and a containerd bundle's directory is named after the
 * container; with `pidFileInBundle`, such a pid file gives the bundle
 * without asking the runtime. CRI-O names one in `/tmp` (or none), so there
 * the runtime is asked.
 *
 * @param inv The invocation, parsed in the runtime's grammar.
 * @param options `cwd`: the caller's working directory (the default bundle;
 *   relative paths start there); `pidFileInBundle`: the caller is
 *   containerd's shim.
 * @returns The request.
 * @throws {UsageError} When the ids or the `-u`/`-g` values cannot be what the runtime reads.
 *
 * @example The bundle defaults to the working directory (runc's and crun's rule)
 * ```ts
 * import { equal } from "assert";
 * import { parseInvocation } from "../runtime/argv.ts";
 * import { requestOf } from "./request.ts";
 *
 * const request = requestOf(parseInvocation(["create", "c1"], "runc"), { cwd: "/run/b" });
 * equal(request.kind === "create" && request.specPath, "/run/b/config.json");
 * ```
 *
 * @example runc's exec flags
 * ```ts
 * import { deepEqual } from "assert";
 * import { parseInvocation } from "../runtime/argv.ts";
 * import { requestOf } from "./request.ts";
 *
 * const request = requestOf(
 *   parseInvocation(["exec", "-u", "1000:3000", "-g", "50000", "c1", "id"], "runc"),
 *   { cwd: "/" },
 * );
 * deepEqual(request.kind === "exec" && [request.userFlag, request.gidFlags], [
 *   { uid: 1000, gid: 3000 },
 *   [{ gid: 50000, start: 3, end: 5 }],
 * ]);
 * ```
 */
export function requestOf(
  inv: Invocation,
  options: { readonly cwd: string; readonly pidFileInBundle?: boolean },
): Request {
  const { cwd } = options;
  const argv = inv.argv;
  if (flagSet(inv.flags, "help") || flagSet(inv.flags, "usage")) return { kind: "help", argv };
  switch (inv.command) {
    case "create":
    case "run": {
      const bundle = absolutePath(cwd, flagValue(inv.flags, "bundle") ?? ".");
      // crun's --config/-f names another spec file, resolved against the
      // caller's cwd before crun enters the bundle (crun src/run_create.c).
      const config = flagValue(inv.flags, "config");
      return {
        kind: "create",
        command: inv.command,
        id: _onlyId(inv),
        bundle,
        specPath: config === undefined ? `${bundle}/config.json` : absolutePath(cwd, config),
        root: flagValue(inv.globals, "root"),
        argv,
      };
    }
    case "exec": {
      const id = inv.positionals[0];
      if (id === undefined) throw new UsageError("exec needs a container id");
      const processFile = flagValue(inv.flags, "process");
      const user = flagValue(inv.flags, "user");
      const pidFile = flagValue(inv.flags, "pid-file");
      const pidDir = pidFile === undefined ? undefined : _dirname(absolutePath(cwd, pidFile));
      return {
        kind: "exec",
        id,
        bundle: options.pidFileInBundle && pidDir?.endsWith(`/${id}`) ? pidDir : undefined,
        root: flagValue(inv.globals, "root"),
        processFile: processFile === undefined ? undefined : absolutePath(cwd, processFile),
        userFlag: user === undefined ? undefined : _parseUserFlag(user),
        gidFlags: inv.flags.filter((flag) => flag.name === "additional-gids").map((flag) => ({
          gid: _parseGid(flag.value!, "--additional-gids"),
          start: flag.start,
          end: flag.end,
        })),
        argv,
      };
    }
    default:
      return { kind: "restore", id: inv.positionals[0], argv };
  }
}

/**
 * A path made absolute against a directory and normalised (`.`, `..`,
 * repeated slashes), as runc does with Go's filepath.Abs.
 *
 * @param cwd An absolute directory.
 * @param path A path, absolute or relative to `cwd`.
 * @returns The absolute, normalised path.
 *
 * @example
 * ```ts
 * import { equal } from "assert";
 * import { absolutePath } from "./request.ts";
 *
 * equal(absolutePath("/run/b", "."), "/run/b");
 * equal(absolutePath("/run/b", "../c//config.json"), "/run/c/config.json");
 * equal(absolutePath("/run/b", "/tmp/p.json"), "/tmp/p.json");
 * equal(absolutePath("/", "../.."), "/");
 * ```
 */
export function absolutePath(cwd: string, path: string): string {
  const parts: string[] = [];
  for (const part of `${path.startsWith("/") ? "" : cwd}/${path}`.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return `/${parts.join("/")}`;
}

function _dirname(path: string): string {
  return path.slice(0, path.lastIndexOf("/")) || "/";
}

function _onlyId(inv: Invocation): string {
  if (inv.positionals.length !== 1) {
    throw new UsageError(
      `${inv.command} needs exactly one container id, got ${JSON.stringify(inv.positionals)}`,
    );
  }
  return inv.positionals[0]!;
}

function _parseGid(text: string, flag: string): number {
  // runc parses -g with strconv.ParseInt and refuses negatives.
  if (!/^\d+$/.test(text) || Number(text) > 4294967295) {
    throw new UsageError(`${flag} ${JSON.stringify(text)} is not a group id`);
  }
  return Number(text);
}

function _parseUserFlag(text: string): { uid: number; gid?: number } {
  const match = /^(\d+)(?::(\d+))?$/.exec(text);
  if (match === null) throw new UsageError(`--user ${JSON.stringify(text)} is not uid[:gid]`);
  const uid = _parseGid(match[1]!, "--user");
  return match[2] === undefined ? { uid } : { uid, gid: _parseGid(match[2], "--user") };
}
