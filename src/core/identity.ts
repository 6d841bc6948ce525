/**
 * Which identity the low-level runtime will apply to a process, and which
 * part of its group list the wrapper can still change. The runtimes' exec
 * rules are data here, so that the wrapper and `explain` judge the identity
 * that really runs.
 *
 * - runc (`exec.go` getProcess, v1.1 to v1.5): with `--process FILE` the file
 *   is used as is and `-u`/`-g` are ignored; a file without `user` runs as
 *   uid 0, gid 0, no groups (Go's zero value). Without `--process`, runc
 *   re-reads `<bundle>/config.json`, `-u uid[:gid]` replaces uid (and gid),
 *   and every `-g N` is appended to the config's `additionalGids`.
 * - crun (`src/exec.c`, `src/libcrun/container.c`): with `--process FILE`
 *   the command-line options are ignored. A process without `user` runs as
 *   uid 0, gid 0, no groups before 1.16.1; from 1.16.1 (containers/crun
 *   #1521) it inherits the whole create-time `user`, additionalGids
 *   included, from the config crun keeps in its state directory. `-u
 *   uid[:gid]` sets uid and gid (0 when absent) and no supplementary groups,
 *   except that 1.19 to 1.26 run a `-u uid` without `:gid` as uid 0
 *   (CVE-2026-30892, fixed in 1.27). crun has no `-g`.
 *
 * @module
 */

/** The identity a process runs with, as the runtime applies it. */
export interface ProcessUser {
  /** The uid. */
  readonly uid: number;
  /** The primary gid. */
  readonly gid: number;
  /** The supplementary gids, in the order the runtime passes them to setgroups(2). */
  readonly additionalGids: readonly number[];
}

/** The low-level runtime whose rules apply. */
export type RuntimeRules =
  | { readonly flavour: "runc" }
  | {
    readonly flavour: "crun";
    /** The version the rules were derived from. */
    readonly version: string;
    /** Whether a process without `user` inherits the create-time user (1.16.1 and later). */
    readonly inheritsUser: boolean;
    /** Whether `-u uid` without `:gid` runs as uid 0 (1.19 to 1.26). */
    readonly bareUidIsRoot: boolean;
  };

/**
 * crun's exec rules, from the first line of `crun --version`.
 *
 * @param versionOutput What `crun --version` printed.
 * @returns The rules, or `undefined` when the output names no version.
 *
 * @example
 * ```ts
 * import { deepEqual } from "assert";
 * import { crunRules } from "./identity.ts";
 *
 * deepEqual(crunRules("crun version 1.8.1\ncommit: f8a096be\n"), {
 *   flavour: "crun", version: "1.8.1", inheritsUser: false, bareUidIsRoot: false,
 * });
 * deepEqual(crunRules("crun version 1.21\n"), {
 *   flavour: "crun", version: "1.21", inheritsUser: true, bareUidIsRoot: true,
 * });
 * ```
 */
export function crunRules(versionOutput: string): RuntimeRules | undefined {
  const match = /^crun version (\d+)\.(\d+)(?:\.(\d+))?/m.exec(versionOutput);
  if (match === null) return undefined;
  const [major, minor, patch] = [match[1], match[2], match[3] ?? "0"].map(Number) as [
    number,
    number,
    number,
  ];
  const at = (m: number, n: number, p: number) =>
    major !== m ? major > m : minor !== n ? minor > n : patch >= p;
  return {
    flavour: "crun",
    version: match[0].slice("crun version ".length),
    inheritsUser: at(1, 16, 1),
    bareUidIsRoot: at(1, 19, 0) && !at(1, 27, 0),
  };
}

/** How the editable part of an identity is changed. */
export type Rewrite =
  /** Rewrite `additionalGids` in the spec or process file. */
  | "spec-file"
  /** Drop `-g`/`--additional-gids` words from the command line. */
  | "gid-flags"
  /** Nothing can be changed: the identity is fixed. */
  | "none";

/** The identity the runtime will apply, and what the wrapper may change of it. */
export interface AppliedIdentity {
  /** The identity. */
  readonly user: ProcessUser;
  /** Where it comes from, for people. */
  readonly from: "spec" | "process file" | "create-time spec" | "runtime default";
  /**
   * How many of the first `additionalGids` the wrapper cannot change: they
   * come from a file the runtime re-reads (`<bundle>/config.json`) or from
   * the runtime's own state.
   */
  readonly fixedGids: number;
  /** How the rest is changed. */
  readonly rewrite: Rewrite;
}

/** What an exec says about its identity. */
export interface ExecInput {
  /** The container's create-time `process.user` (its bundle's `config.json`). */
  readonly createUser: ProcessUser;
  /** With `--process FILE`: that file's `user`, or `undefined` when it has none. */
  readonly processFile?: { readonly user: ProcessUser | undefined } | undefined;
  /** `-u uid[:gid]`, when given. */
  readonly userFlag?: { readonly uid: number; readonly gid?: number | undefined } | undefined;
  /** The values of every `-g`/`--additional-gids`, in order (runc only). */
  readonly gidFlags: readonly number[];
}

/** uid 0, gid 0, no groups: what both runtimes apply to a process that has no `user`. */
export const ROOT_USER: ProcessUser = Object.freeze({ uid: 0, gid: 0, additionalGids: [] });

/**
 * The identity of a container's process at `create` or `run`: the spec's
 * `process.user`, rewritable in the spec.
 *
 * @param user The spec's `process.user`.
 * @returns The applied identity.
 *
 * @example
 * ```ts
 * import { equal } from "assert";
 * import { createIdentity } from "./identity.ts";
 *
 * const applied = createIdentity({ uid: 1000, gid: 1000, additionalGids: [1000, 50000] });
 * equal(applied.rewrite, "spec-file");
 * equal(applied.fixedGids, 0);
 * ```
 */
export function createIdentity(user: ProcessUser): AppliedIdentity {
  return { user, from: "spec", fixedGids: 0, rewrite: "spec-file" };
}

/**
 * The identity of an exec whose process file has a `user`: both runtimes
 * apply it as it is, whatever their version, and it is rewritten in the file.
 *
 * @param user The process file's `user`.
 * @returns The applied identity.
 *
 * @example
 * ```ts
 * import { equal } from "assert";
 * import { processFileIdentity } from "./identity.ts";
 *
 * equal(processFileIdentity({ uid: 1000, gid: 1000, additionalGids: [1000] }).rewrite, "spec-file");
 * ```
 */
export function processFileIdentity(user: ProcessUser): AppliedIdentity {
  return { user, from: "process file", fixedGids: 0, rewrite: "spec-file" };
}

/**
 * The identity the runtime will apply for an `exec`.
 *
 * @param rules The runtime whose rules apply.
 * @param input The create-time user, the process file and the flags.
 * @returns The applied identity.
 *
 * @example runc appends `-g` to the create-time list, which it re-reads itself
 * ```ts
 * import { deepEqual, equal } from "assert";
 * import { execIdentity } from "./identity.ts";
 *
 * const applied = execIdentity({ flavour: "runc" }, {
 *   createUser: { uid: 1000, gid: 1000, additionalGids: [1000, 60000] },
 *   userFlag: { uid: 1000, gid: 3000 },
 *   gidFlags: [50000],
 * });
 * deepEqual(applied.user, { uid: 1000, gid: 3000, additionalGids: [1000, 60000, 50000] });
 * equal(applied.fixedGids, 2);
 * equal(applied.rewrite, "gid-flags");
 * ```
 *
 * @example crun 1.8 runs a process file without `user` as root with no groups
 * ```ts
 * import { deepEqual, equal } from "assert";
 * import { execIdentity } from "./identity.ts";
 *
 * const crun18 = { flavour: "crun", version: "1.8.1", inheritsUser: false, bareUidIsRoot: false } as const;
 * const applied = execIdentity(crun18, {
 *   createUser: { uid: 1000, gid: 1000, additionalGids: [1000] },
 *   processFile: { user: undefined },
 *   gidFlags: [],
 * });
 * deepEqual(applied.user, { uid: 0, gid: 0, additionalGids: [] });
 * equal(applied.from, "runtime default");
 * ```
 */
export function execIdentity(rules: RuntimeRules, input: ExecInput): AppliedIdentity {
  const { createUser, processFile, userFlag, gidFlags } = input;
  if (processFile !== undefined) {
    // Both runtimes use a process file as is; -u and -g do not apply to it.
    if (processFile.user !== undefined) return processFileIdentity(processFile.user);
    return _withoutUser(rules, createUser);
  }
  if (rules.flavour === "runc") {
    return {
      user: {
        uid: userFlag?.uid ?? createUser.uid,
        gid: userFlag?.gid ?? createUser.gid,
        additionalGids: [...createUser.additionalGids, ...gidFlags],
      },
      from: "create-time spec",
      fixedGids: createUser.additionalGids.length,
      rewrite: "gid-flags",
    };
  }
  if (userFlag !== undefined) {
    const root = rules.bareUidIsRoot && userFlag.gid === undefined;
    return {
      user: root ? ROOT_USER : { uid: userFlag.uid, gid: userFlag.gid ?? 0, additionalGids: [] },
      from: "runtime default",
      fixedGids: 0,
      rewrite: "none",
    };
  }
  return _withoutUser(rules, createUser);
}

/**
 * Which `-g` values of a runc exec stay on the command line: those the
 * process may hold that are not already earlier in its list (the
 * create-time gids, then the `-g` values before it).
 *
 * @param createGids The create-time `additionalGids`.
 * @param gidFlags The `-g` values, in order.
 * @param entitled The gids the process may hold.
 * @returns One flag per `-g`: `true` to keep it.
 *
 * @example
 * ```ts
 * import { deepEqual } from "assert";
 * import { keptGidFlags } from "./identity.ts";
 *
 * deepEqual(keptGidFlags([1000, 60000], [50000, 60000, 60001], new Set([1000, 60000, 60001])), [
 *   false, // 50000 is not entitled
 *   false, // 60000 is in the list already
 *   true,
 * ]);
 * ```
 */
export function keptGidFlags(
  createGids: readonly number[],
  gidFlags: readonly number[],
  entitled: ReadonlySet<number>,
): boolean[] {
  const list = [...createGids, ...gidFlags];
  return gidFlags.map((gid, i) => entitled.has(gid) && list.indexOf(gid) === createGids.length + i);
}

function _withoutUser(rules: RuntimeRules, createUser: ProcessUser): AppliedIdentity {
  if (rules.flavour === "crun" && rules.inheritsUser) {
    return {
      user: createUser,
      from: "create-time spec",
      fixedGids: createUser.additionalGids.length,
      rewrite: "none",
    };
  }
  return { user: ROOT_USER, from: "runtime default", fixedGids: 0, rewrite: "none" };
}
