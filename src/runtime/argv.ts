/**
 * The invocation grammar of runc and crun: which command is asked for, its
 * global and command flags, and its positionals. The flag tables mirror
 * runc's `main.go` and `<command>.go` (v1.1 to v1.5) and crun's `src/crun.c`
 * and `src/<command>.c` (1.8 to 1.2x); docs/design.md says why every flag
 * that takes a value must be declared.
 *
 * runc (urfave/cli v1 over Go's `flag`): `-name` and `--name` are the same,
 * values come as `--name value` or `--name=value`, bool flags never take the
 * next word, create/run/restore accept flags after the id (argument
 * reordering), exec stops at the id, and runc's next release also accepts
 * global flags after the command. crun (GNU argp/getopt_long): long options
 * with unique-prefix matching, short clusters with attached values (`-pFILE`),
 * and parsing stops at the first positional.
 *
 * @module
 */

import { UsageError } from "../core/errors.ts";

/** Which runtime's grammar applies. */
export type Flavour = "runc" | "crun";

/** Commands that set a process identity and are therefore enforced. */
export const IDENTITY_COMMANDS: ReadonlySet<string> = new Set(["create", "run", "exec", "restore"]);

type FlagKind = "value" | "bool" | "optional";

interface FlagDef {
  readonly names: readonly string[];
  readonly kind: FlagKind;
}

/** One flag occurrence: its canonical name, its value, and the argv slice it spans. */
export interface ParsedFlag {
  /** The flag's canonical (first) name, without dashes. */
  readonly name: string;
  /** Its value; `undefined` for a bool flag given without one. */
  readonly value: string | undefined;
  /** The index of its first word in argv. */
  readonly start: number;
  /** The index after its last word. */
  readonly end: number;
}

/** A fully parsed invocation of an identity-setting command. */
export interface Invocation {
  /** The grammar it was parsed in. */
  readonly flavour: Flavour;
  /** The arguments, as given. */
  readonly argv: readonly string[];
  /** The command word. */
  readonly command: string;
  /** Global flags, wherever they stood. */
  readonly globals: readonly ParsedFlag[];
  /** The command's flags. */
  readonly flags: readonly ParsedFlag[];
  /** The container id, and for an exec without `--process` its command line. */
  readonly positionals: readonly string[];
}

/** Where the command word is, found without knowing the flavour or the config. */
export type CommandLocation =
  | {
    readonly kind: "command";
    /** The command word. */
    readonly name: string;
    /** Its index in argv. */
    readonly index: number;
  }
  | { readonly kind: "none" }
  | {
    readonly kind: "unknown-flag";
    /** The first global flag that neither runtime declares. */
    readonly flag: string;
  };

const v = (...names: string[]): FlagDef => ({ names, kind: "value" });
const b = (...names: string[]): FlagDef => ({ names, kind: "bool" });
const o = (...names: string[]): FlagDef => ({ names, kind: "optional" });

const RUNC_GLOBALS = [
  v("log"),
  v("log-format"),
  v("root"),
  v("criu"),
  v("rootless"),
  b("debug"),
  b("systemd-cgroup"),
  b("help", "h"),
  b("version", "v"),
];

const CRUN_GLOBALS = [
  v("log"),
  v("log-format"),
  v("log-level"),
  v("root"),
  v("rootless"),
  v("cgroup-manager"),
  b("debug"),
  b("systemd-cgroup"),
  b("help", "?"),
  b("usage"),
  b("version", "V", "v"),
];

const RUNC_CREATE = [
  v("bundle", "b"),
  v("console-socket"),
  v("pidfd-socket"),
  v("pid-file"),
  v("preserve-fds"),
  b("no-pivot"),
  b("no-new-keyring"),
  b("help", "h"),
];

const RUNC_COMMANDS: Readonly<Record<string, readonly FlagDef[]>> = {
  create: RUNC_CREATE,
  run: [...RUNC_CREATE, b("detach", "d"), b("keep"), b("no-subreaper")],
  exec: [
    v("console-socket"),
    v("pidfd-socket"),
    v("cwd"),
    v("env", "e"),
    v("user", "u"),
    v("additional-gids", "g"),
    v("process", "p"),
    v("pid-file"),
    v("process-label"),
    v("apparmor"),
    v("cap", "c"),
    v("preserve-fds"),
    v("cgroup"),
    b("tty", "t"),
    b("detach", "d"),
    b("no-new-privs"),
    b("ignore-paused"),
    b("help", "h"),
  ],
  restore: [
    v("console-socket"),
    v("image-path"),
    v("work-path"),
    v("manage-cgroups-mode"),
    v("bundle", "b"),
    v("pid-file"),
    v("empty-ns"),
    v("lsm-profile"),
    v("lsm-mount-context"),
    b("tcp-established"),
    b("ext-unix-sk"),
    b("shell-job"),
    b("file-locks"),
    b("detach", "d"),
    b("no-subreaper"),
    b("no-pivot"),
    b("auto-dedup"),
    b("lazy-pages"),
    b("help", "h"),
  ],
};

const CRUN_CREATE = [
  v("bundle", "b"),
  v("config", "f"),
  v("console-socket"),
  v("preserve-fds"),
  v("pid-file"),
  b("no-pivot"),
  b("no-subreaper"),
  b("no-new-keyring"),
  b("help", "?"),
  b("usage"),
];

const CRUN_COMMANDS: Readonly<Record<string, readonly FlagDef[]>> = {
  create: CRUN_CREATE,
  run: [...CRUN_CREATE, b("detach", "d"), b("keep")],
  exec: [
    v("console-socket"),
    v("process", "p"),
    v("cwd"),
    v("cgroup"),
    v("user", "u"),
    v("env", "e"),
    v("cap", "c"),
    v("pid-file"),
    v("preserve-fds"),
    v("process-label"),
    v("apparmor"),
    o("tty", "t"),
    b("detach", "d"),
    b("no-new-privs"),
    b("help", "?"),
    b("usage"),
  ],
  restore: [
    v("image-path"),
    v("work-path"),
    v("manage-cgroups-mode"),
    v("bundle", "b"),
    v("pid-file"),
    v("console-socket"),
    v("lsm-profile"),
    v("lsm-mount-context"),
    b("tcp-established"),
    b("ext-unix-sk"),
    b("shell-job"),
    b("file-locks"),
    b("detach", "d"),
    b("help", "?"),
    b("usage"),
  ],
};

/** Flags that may be given several times with different values. */
const REPEATABLE = new Set(["env", "cap", "additional-gids", "cgroup", "empty-ns"]);

/** runc's urfave/cli v1 reorders flags placed after the id for these commands. */
const RUNC_REORDERED = new Set(["create", "run", "restore"]);

const UNION_GLOBALS = _index([...RUNC_GLOBALS, ...CRUN_GLOBALS]);

/**
 * Finds the command word using the union of runc's and crun's global flags.
 * It reads no file and knows no flavour, so that pass-through commands can be
 * handed off before anything else is loaded.
 *
 * @param argv The wrapper's arguments (without the program name).
 * @returns The command and its index, `none` when there is no command word
 *   (`--version`, `--help`), or the first global flag it does not know.
 *
 * @example The word after the global flags and their values
 * ```ts
 * import { deepEqual } from "assert";
 * import { locateCommand } from "./argv.ts";
 *
 * deepEqual(locateCommand(["--root", "/run/runc", "state", "abc"]), {
 *   kind: "command",
 *   name: "state",
 *   index: 2,
 * });
 * deepEqual(locateCommand(["--version"]), { kind: "none" });
 * ```
 */
export function locateCommand(argv: readonly string[]): CommandLocation {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      const name = argv[i + 1];
      return name === undefined ? { kind: "none" } : { kind: "command", name, index: i + 1 };
    }
    if (!arg.startsWith("-") || arg === "-") return { kind: "command", name: arg, index: i };
    const { name, inline } = _splitFlag(arg);
    const def = UNION_GLOBALS.get(name);
    if (def === undefined) return { kind: "unknown-flag", flag: arg };
    if (def.kind === "value" && inline === undefined) i++;
  }
  return { kind: "none" };
}

/**
 * Whether an invocation must be enforced. A global flag neither runtime
 * declares makes the command word uncertain; then any identity command word
 * among the arguments makes it an identity-setting call (and parsing will
 * refuse it).
 *
 * @param argv The arguments.
 * @returns `true` for create/run/exec/restore.
 *
 * @example
 * ```ts
 * import { equal } from "assert";
 * import { isIdentitySetting } from "./argv.ts";
 *
 * equal(isIdentitySetting(["--root", "/r", "create", "c1"]), true);
 * equal(isIdentitySetting(["--root", "/r", "state", "c1"]), false);
 * equal(isIdentitySetting(["--frobnicate", "exec", "c1", "id"]), true);
 * ```
 */
export function isIdentitySetting(argv: readonly string[]): boolean {
  const found = locateCommand(argv);
  if (found.kind === "command") return IDENTITY_COMMANDS.has(found.name);
  return found.kind === "unknown-flag" && argv.some((arg) => IDENTITY_COMMANDS.has(arg));
}

/**
 * Parses an identity-setting invocation completely, in the grammar of the
 * runtime that will receive it.
 *
 * @param argv The wrapper's arguments.
 * @param flavour `runc` or `crun`.
 * @returns The invocation.
 * @throws {UsageError} On anything the runtime might read differently:
 *   unknown flags, missing values, values that look like flags, conflicting
 *   repeats, ambiguous prefixes.
 *
 * @example runc reorders flags after the id of a create
 * ```ts
 * import { deepEqual, equal } from "assert";
 * import { flagValue, parseInvocation } from "./argv.ts";
 *
 * const inv = parseInvocation(["--root=/r", "create", "id1", "-bundle", "/b"], "runc");
 * equal(flagValue(inv.flags, "bundle"), "/b");
 * equal(flagValue(inv.globals, "root"), "/r");
 * deepEqual(inv.positionals, ["id1"]);
 * ```
 *
 * @example crun takes unique prefixes and attached short values
 * ```ts
 * import { equal, throws } from "assert";
 * import { flagValue, parseInvocation } from "./argv.ts";
 *
 * equal(flagValue(parseInvocation(["exec", "-p/tmp/p.json", "c1"], "crun").flags, "process"), "/tmp/p.json");
 * equal(flagValue(parseInvocation(["create", "--bund", "/b", "c1"], "crun").flags, "bundle"), "/b");
 * throws(() => parseInvocation(["exec", "--proc", "x", "c1"], "crun"), /ambiguous/);
 * ```
 */
export function parseInvocation(argv: readonly string[], flavour: Flavour): Invocation {
  const parser = flavour === "runc" ? _parseRuncFlag : _parseCrunFlag;
  const globalsTable = _index(flavour === "runc" ? RUNC_GLOBALS : CRUN_GLOBALS);
  const globals: ParsedFlag[] = [];
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      i++;
      break;
    }
    if (!arg.startsWith("-") || arg === "-") break;
    const parsed = parser(argv, i, globalsTable);
    globals.push(...parsed.flags);
    i = parsed.next - 1;
  }
  const command = argv[i];
  if (command === undefined) throw new UsageError(`${flavour} command line has no command`);
  const commands = flavour === "runc" ? RUNC_COMMANDS : CRUN_COMMANDS;
  // Own keys only: a command word such as `toString` must not find Object.prototype's.
  const commandTable = Object.hasOwn(commands, command) ? commands[command] : undefined;
  if (commandTable === undefined) throw new UsageError(`${command} is not an identity command`);
  // runc's next release parses global flags after the command as well.
  const commandNames = _index(commandTable);
  const table = _index(flavour === "runc" ? [...commandTable, ...RUNC_GLOBALS] : commandTable);
  const reorder = flavour === "runc" && RUNC_REORDERED.has(command);
  const flags: ParsedFlag[] = [];
  const positionals: string[] = [];
  for (let j = i + 1; j < argv.length; j++) {
    const arg = argv[j]!;
    if (arg === "--") {
      positionals.push(...argv.slice(j + 1));
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      positionals.push(arg);
      if (reorder) continue;
      positionals.push(...argv.slice(j + 1));
      break;
    }
    const parsed = parser(argv, j, table);
    for (const flag of parsed.flags) {
      (commandNames.has(flag.name) ? flags : globals).push(flag);
    }
    j = parsed.next - 1;
  }
  _rejectConflicts(globals);
  _rejectConflicts(flags);
  return { flavour, argv, command, globals, flags, positionals };
}

/**
 * The value of a single-valued flag.
 *
 * @param flags Parsed flags.
 * @param name Canonical name.
 * @returns The value, or `undefined` when absent.
 *
 * @example The last occurrence counts
 * ```ts
 * import { equal } from "assert";
 * import { flagValue } from "./argv.ts";
 *
 * const flags = [
 *   { name: "root", value: "/a", start: 0, end: 2 },
 *   { name: "root", value: "/b", start: 2, end: 3 },
 * ];
 * equal(flagValue(flags, "root"), "/b");
 * equal(flagValue(flags, "log"), undefined);
 * ```
 */
export function flagValue(flags: readonly ParsedFlag[], name: string): string | undefined {
  return flags.findLast((flag) => flag.name === name)?.value;
}

/**
 * Whether a bool flag is set (`--detach`, `--detach=true`).
 *
 * @param flags Parsed flags.
 * @param name Canonical name.
 * @returns `true` when its last occurrence is true.
 *
 * @example
 * ```ts
 * import { equal } from "assert";
 * import { flagSet, parseInvocation } from "./argv.ts";
 *
 * equal(flagSet(parseInvocation(["run", "-d", "c1"], "runc").flags, "detach"), true);
 * equal(flagSet(parseInvocation(["run", "--detach=false", "c1"], "runc").flags, "detach"), false);
 * ```
 */
export function flagSet(flags: readonly ParsedFlag[], name: string): boolean {
  const flag = flags.findLast((candidate) => candidate.name === name);
  return flag !== undefined && flag.value !== "false";
}

interface FlagParse {
  readonly flags: ParsedFlag[];
  readonly next: number;
}

function _index(defs: readonly FlagDef[]): Map<string, FlagDef & { canonical: string }> {
  const map = new Map<string, FlagDef & { canonical: string }>();
  for (const def of defs) {
    for (const name of def.names) map.set(name, { ...def, canonical: def.names[0]! });
  }
  return map;
}

function _splitFlag(arg: string): { name: string; inline: string | undefined } {
  const body = arg.startsWith("--") ? arg.slice(2) : arg.slice(1);
  const eq = body.indexOf("=");
  return eq < 0
    ? { name: body, inline: undefined }
    : { name: body.slice(0, eq), inline: body.slice(eq + 1) };
}

/** Go's flag package: one or two dashes, `name=value`, next word for values. */
function _parseRuncFlag(
  argv: readonly string[],
  i: number,
  table: Map<string, FlagDef & { canonical: string }>,
): FlagParse {
  const arg = argv[i]!;
  const { name, inline } = _splitFlag(arg);
  if (name === "" || name.startsWith("-") || name.startsWith("=")) {
    throw new UsageError(`bad flag syntax: ${arg}`);
  }
  const def = table.get(name);
  if (def === undefined) throw new UsageError(`flag provided but not defined: ${arg}`);
  if (def.kind === "bool") {
    const value = inline === undefined ? undefined : _goBool(inline, arg);
    return { flags: [{ name: def.canonical, value, start: i, end: i + 1 }], next: i + 1 };
  }
  if (inline !== undefined) {
    return { flags: [{ name: def.canonical, value: inline, start: i, end: i + 1 }], next: i + 1 };
  }
  const value = _nextValue(argv, i);
  return { flags: [{ name: def.canonical, value, start: i, end: i + 2 }], next: i + 2 };
}

/** getopt_long: `--name[=value]` with unique prefixes, or a short cluster `-dpFILE`. */
function _parseCrunFlag(
  argv: readonly string[],
  i: number,
  table: Map<string, FlagDef & { canonical: string }>,
): FlagParse {
  const arg = argv[i]!;
  if (arg.startsWith("--")) {
    const { name, inline } = _splitFlag(arg);
    const def = _crunLong(name, table, arg);
    if (def.kind === "bool" && inline !== undefined) {
      throw new UsageError(`option '--${def.canonical}' does not take a value: ${arg}`);
    }
    if (def.kind !== "value" || inline !== undefined) {
      return { flags: [{ name: def.canonical, value: inline, start: i, end: i + 1 }], next: i + 1 };
    }
    const value = _nextValue(argv, i);
    return { flags: [{ name: def.canonical, value, start: i, end: i + 2 }], next: i + 2 };
  }
  const flags: ParsedFlag[] = [];
  for (let k = 1; k < arg.length; k++) {
    const def = table.get(arg[k]!);
    if (def === undefined || arg[k]!.length !== 1) {
      throw new UsageError(`invalid option -- '${arg[k]}' in ${arg}`);
    }
    const rest = arg.slice(k + 1);
    if (def.kind === "bool") {
      flags.push({ name: def.canonical, value: undefined, start: i, end: i + 1 });
      continue;
    }
    if (rest !== "" || def.kind === "optional") {
      flags.push({
        name: def.canonical,
        value: rest === "" ? undefined : rest,
        start: i,
        end: i + 1,
      });
      return { flags, next: i + 1 };
    }
    flags.push({ name: def.canonical, value: _nextValue(argv, i), start: i, end: i + 2 });
    return { flags, next: i + 2 };
  }
  return { flags, next: i + 1 };
}

function _crunLong(
  name: string,
  table: Map<string, FlagDef & { canonical: string }>,
  arg: string,
): FlagDef & { canonical: string } {
  const exact = table.get(name);
  if (exact !== undefined && name.length > 1) return exact;
  const candidates = new Map<string, FlagDef & { canonical: string }>();
  for (const [key, def] of table) {
    if (key.length > 1 && key.startsWith(name)) candidates.set(def.canonical, def);
  }
  if (name === "" || candidates.size === 0) throw new UsageError(`unrecognized option '${arg}'`);
  if (candidates.size > 1) {
    throw new UsageError(
      `option '${arg}' is ambiguous; possibilities: ${[...candidates.keys()].join(", ")}`,
    );
  }
  return [...candidates.values()][0]!;
}

function _nextValue(argv: readonly string[], i: number): string {
  const value = argv[i + 1];
  if (value === undefined) throw new UsageError(`flag needs an argument: ${argv[i]}`);
  // Go's flag takes any next word as the value while urfave's reordering
  // treats a known flag as a flag: refuse rather than guess which one runs.
  if (value.startsWith("-") && value !== "-") {
    throw new UsageError(`flag ${argv[i]} is followed by ${value}, not by a value`);
  }
  return value;
}

function _goBool(text: string, arg: string): string {
  if (["1", "t", "T", "TRUE", "true", "True"].includes(text)) return "true";
  if (["0", "f", "F", "FALSE", "false", "False"].includes(text)) return "false";
  throw new UsageError(`invalid boolean value ${JSON.stringify(text)} for ${arg}`);
}

function _rejectConflicts(flags: readonly ParsedFlag[]): void {
  const seen = new Map<string, string | undefined>();
  for (const flag of flags) {
    if (REPEATABLE.has(flag.name)) continue;
    if (seen.has(flag.name) && seen.get(flag.name) !== flag.value) {
      throw new UsageError(
        `--${flag.name} is given twice with different values (${seen.get(flag.name)} and ` +
          `${flag.value})`,
      );
    }
    seen.set(flag.name, flag.value);
  }
}

/**
 * The caller's `--log` and `--log-format`: the global flags as the runtime
 * reads them when the invocation parses (words after an exec's container id
 * belong to the process, `exec ID sh --log x` must not name the log), else
 * found leniently so that even an invocation that cannot be parsed gets its
 * refusal into the caller's log.
 *
 * @param argv The wrapper's arguments.
 * @returns The log path and format, when given.
 *
 * @example
 * ```ts
 * import { deepEqual } from "assert";
 * import { logTarget } from "./argv.ts";
 *
 * deepEqual(logTarget(["--log", "/b/log.json", "--log-format", "json", "create", "c1"]), {
 *   path: "/b/log.json",
 *   format: "json",
 * });
 * deepEqual(logTarget(["exec", "c1", "sh", "--log", "x"]), {});
 * // crun's own spellings of a log target
 * deepEqual(logTarget(["--log=file:/b/log.json", "create", "c1"]), { path: "/b/log.json" });
 * deepEqual(logTarget(["--log=journald:crun", "create", "c1"]), {});
 * ```
 */
export function logTarget(argv: readonly string[]): { path?: string; format?: string } {
  const target: { path?: string; format?: string } = {};
  for (const flavour of ["runc", "crun"] as const) {
    let globals: readonly ParsedFlag[];
    try {
      globals = parseInvocation(argv, flavour).globals;
    } catch {
      continue;
    }
    const path = _logFile(flagValue(globals, "log"));
    const format = flagValue(globals, "log-format");
    if (path !== undefined) target.path = path;
    if (format !== undefined) target.format = format;
    return target;
  }
  for (let i = 0; i < argv.length; i++) {
    const match = /^--?(log|log-format)(?:=([\s\S]*))?$/.exec(argv[i]!);
    if (match === null) continue;
    const value = match[2] ?? argv[++i];
    if (value === undefined) break;
    if (match[1] !== "log") target.format = value;
    else if (_logFile(value) !== undefined) target.path = _logFile(value)!;
  }
  return target;
}

/**
 * The file a `--log` value names: crun also takes `file:PATH`, and
 * `journald:ID` or `syslog:ID`, which name no file (crun
 * src/libcrun/error.c init_logging); runc takes a plain path.
 */
function _logFile(value: string | undefined): string | undefined {
  if (value === undefined || /^(journald|syslog):/.test(value)) return undefined;
  return value.startsWith("file:") ? value.slice("file:".length) : value;
}
