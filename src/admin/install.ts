/**
 * `install` and `uninstall`: put the wrapper on a node and register it with
 * the node's CRI (docs/install.md).
 * A plan is computed first as a list of file steps; `--dry-run` shows it as
 * a diff, otherwise the steps are applied in an order that never leaves the
 * CRI pointing at a missing binary, each file replaced atomically, and the
 * CRI restarted only when its configuration changed. A second install with
 * the same inputs plans nothing.
 *
 * @module
 */

import { createTwoFilesPatch } from "diff";
import { parseConfig } from "../config/config.ts";
import { DEFAULT_CONFIG_PATH, passThroughSettings, RUNTIME_RECORD } from "../config/config_file.ts";
import type { Cri } from "../core/container_identity.ts";
import { describe, InstallError } from "../core/errors.ts";
import { DEFAULT_RUNTIME, RUNTIME_DIRS } from "../runtime/runtime_binary.ts";
import { FRONT_END_MARK, frontEndScript } from "./front_end.ts";
import { writeFileAtomic } from "../spec/atomic_write.ts";
import {
  addContainerdHandler,
  type HandlerOptions,
  removeContainerdHandler,
} from "./install_containerd.ts";
import {
  assertNoOtherHandler,
  CRIO_DROP_IN,
  crioDropIn,
  crioEnvWarnings,
  isOurDropIn,
} from "./install_crio.ts";

/** Where the wrapper lives on the node, as the host sees it (the CRI's `BinaryName`). */
export const HOST_WRAPPER = "/usr/local/bin/strict-supplementalgroups-container-runtime";

/** Where the Deno program goes when the shell front end takes the wrapper's name. */
export const HOST_PROGRAM =
  "/usr/local/lib/strict-supplementalgroups/strict-supplementalgroups-container-runtime";

/** The default handler name, also the RuntimeClass's name in deploy/. */
export const DEFAULT_HANDLER = "strict-supplementalgroups";

const BACKUP_SUFFIX = ".strict-supplementalgroups.bak";
const STATE_FILE = "/etc/strict-supplementalgroups-container-runtime/installed.json";

/** The CRI's default config file (containerd) or drop-in (CRI-O), as the host sees it. */
const CRI_CONFIG: Readonly<Record<Cri, string>> = {
  containerd: "/etc/containerd/config.toml",
  "cri-o": `/etc/crio/crio.conf.d/${CRIO_DROP_IN}`,
};

/**
 * How each CRI takes a new runtime handler: containerd registers no SIGHUP
 * handler (cmd/containerd/command/main_unix.go handledSignals), so Go's
 * default makes it exit; CRI-O re-reads crio.conf.d on SIGHUP
 * (server/server.go startReloadWatcher, 1.26 and later).
 */
const RELOAD: Readonly<Record<Cri, { argv: string[]; why: string }>> = {
  // containerd reads its config only at start, and SIGHUP would stop it.
  containerd: {
    argv: ["systemctl", "restart", "containerd"],
    why: "containerd reads its config only at start",
  },
  // CRI-O >= 1.26 re-reads its runtimes on SIGHUP, which its unit's ExecReload sends.
  "cri-o": {
    argv: ["systemctl", "reload", "crio"],
    why: "CRI-O re-reads its runtime handlers on reload",
  },
};

/** What `install`/`uninstall` act on. */
export interface InstallOptions {
  /** The node's CRI. */
  readonly cri: Cri;
  /** Prefix of every host path (`/host` in the DaemonSet). */
  readonly hostRoot: string;
  /** containerd's config.toml, or CRI-O's drop-in, as the host sees it. */
  readonly criConfig?: string | undefined;
  /** The runtime handler name (the RuntimeClass's `handler`). */
  readonly handler: string;
  /** The runtime config to install (a path in the installer's own filesystem). */
  readonly config?: string | undefined;
  /** The wrapper binary to install (a path in the installer's own filesystem). */
  readonly wrapper: string;
  /** `uninstall` only: also remove the wrapper and its config. */
  readonly purge?: boolean;
  /**
   * Put the shell front end under the wrapper's name and the program beside
   * it (the default); `false` installs the program under the wrapper's name.
   */
  readonly frontEnd?: boolean;
}

/** One file the plan writes (`after`) or removes (`after === undefined`). */
export interface FileStep {
  /** The file, as the installer sees it (under the host root). */
  readonly path: string;
  /** Its content now, or `undefined` when it does not exist. */
  readonly before: Uint8Array | undefined;
  /** Its content after the step, or `undefined` when the step removes it. */
  readonly after: Uint8Array | undefined;
  /** The mode it is written with. */
  readonly mode: number;
  /** One line for the report, e.g. `containerd config: handler added`. */
  readonly summary: string;
  /** Whether a diff of the text is meaningful. */
  readonly text: boolean;
}

/** The computed changes. */
export interface Plan {
  /** The file steps, in the order they are applied. */
  readonly steps: readonly FileStep[];
  /** Facts for the operator: what is already in place, what was kept. */
  readonly notes: readonly string[];
  /** What the operator should know that does not stop the change. */
  readonly warnings: readonly string[];
  /** The command that makes the CRI take the change, when its config changes. */
  readonly reload: { argv: string[]; why: string } | undefined;
}

interface State {
  configSha256?: string;
}

/**
 * Plans an install.
 *
 * @param options What to install where.
 * @returns The plan; nothing is written.
 * @throws {InstallError} When the install would be unsafe or wrong, naming the cause.
 */
export async function planInstall(options: InstallOptions): Promise<Plan> {
  const host = _hostPaths(options);
  const notes: string[] = [];
  const warnings: string[] = [];
  const steps: FileStep[] = [];
  const stateText = await _readText(host.state, "install state");

  const read = await _readFile(options.wrapper, "wrapper");
  if (read === undefined) throw new InstallError(`${options.wrapper}: wrapper not found`);
  const wrapper: Uint8Array = read;
  const head = new TextDecoder().decode(wrapper.subarray(0, 512));
  if (head.includes(FRONT_END_MARK)) {
    throw new InstallError(
      `${options.wrapper} is the shell front end, not the wrapper program: name the program ` +
        `with --wrapper (installed as ${HOST_PROGRAM} by make install)`,
    );
  }
  if (head.startsWith("#!")) {
    warnings.push(
      `${options.wrapper} is a launcher script (it runs Deno from this machine's paths), ` +
        "not a self-contained binary: it works on the node only if those paths exist there",
    );
  }

  const configSteps: FileStep[] = [];
  const effectiveConfig = await _planConfig(options, host, stateText, configSteps, notes, warnings);
  const { runtime, stateDir } = await passThroughSettings(
    effectiveConfig.text,
    effectiveConfig.path,
  );
  await _assertRuntimeOnNode(runtime, options.hostRoot, effectiveConfig.path);

  // The program first, then what calls it: the CRI never points at a missing binary.
  const programs: [string, Uint8Array, string][] = options.frontEnd === false
    ? [[host.wrapper, wrapper, "wrapper installed"]]
    : [
      [host.program, wrapper, "wrapper program installed"],
      [
        host.wrapper,
        new TextEncoder().encode(frontEndScript({
          program: HOST_PROGRAM,
          record: `${stateDir}/${RUNTIME_RECORD}`,
          configDefault: DEFAULT_CONFIG_PATH,
        })),
        "front end installed",
      ],
    ];
  for (const [path, bytes, summary] of programs) {
    const installed = await _readFile(path, "wrapper");
    if (installed !== undefined && _equal(installed, bytes)) {
      notes.push(`${path}: already in place`);
    } else {
      steps.push(_step(path, installed, bytes, 0o755, summary, false));
    }
  }
  steps.push(...configSteps);

  const handler = { handler: options.handler, binary: HOST_WRAPPER };
  if (options.cri === "containerd") {
    warnings.push(...await _planContainerd(host.criConfig, handler, steps, notes));
  } else {
    warnings.push(
      ...await _planCrio(host.criConfig, options.hostRoot, { handler, runtime }, steps, notes),
    );
  }
  return { steps, notes, warnings, reload: _reload(options, steps, host.criConfig) };
}

/**
 * Plans an uninstall: the CRI registration goes, byte-for-byte back to the
 * backup when the file is as install left it; the wrapper and its config stay
 * unless `purge` is set, because the shims of running containers still call
 * the wrapper for `state`, `kill` and `delete`.
 *
 * @param options What to remove where.
 * @returns The plan; nothing is written.
 * @throws {InstallError} When a file to change was not written by this tool.
 */
export async function planUninstall(options: InstallOptions): Promise<Plan> {
  const host = _hostPaths(options);
  const notes: string[] = [];
  const steps: FileStep[] = [];
  if (options.cri === "containerd") {
    const current = await _readText(host.criConfig, "containerd config");
    const removed = current === undefined
      ? undefined
      : removeContainerdHandler(current, host.criConfig, options.handler);
    const backupPath = `${host.criConfig}${BACKUP_SUFFIX}`;
    const backup = await _readText(backupPath, "backup");
    if (current === undefined || removed === undefined) {
      notes.push(`${host.criConfig}: no handler ${JSON.stringify(options.handler)} block`);
    } else if (backup !== undefined && _installOf(backup, host.criConfig, options) === current) {
      steps.push(
        _textStep(host.criConfig, current, backup, "containerd config: restored from its backup"),
        _step(backupPath, _encode(backup), undefined, 0o600, "backup removed", false),
      );
    } else {
      steps.push(
        _textStep(host.criConfig, current, removed, "containerd config: handler block removed"),
      );
      if (backup !== undefined) {
        notes.push(`${backupPath}: kept (the config changed since install)`);
      }
    }
  } else {
    const current = await _readText(host.criConfig, "CRI-O drop-in");
    if (current === undefined) {
      notes.push(`${host.criConfig}: not present`);
    } else if (!isOurDropIn(current)) {
      throw new InstallError(`${host.criConfig}: was not written by this tool; not removing it`);
    } else {
      steps.push(_textStep(host.criConfig, current, undefined, "CRI-O drop-in removed"));
    }
  }
  if (options.purge) {
    await _planPurge(host, steps, notes);
  } else {
    for (const path of [host.wrapper, host.program, host.config]) {
      if (!await _exists(path)) continue;
      notes.push(
        `${path}: kept (the shims of running containers still call the wrapper; ` +
          "--purge removes it once they are gone)",
      );
    }
  }
  return { steps, notes, warnings: [], reload: _reload(options, steps, host.criConfig) };
}

/**
 * Applies a plan's file steps in order, each atomically.
 *
 * @param plan From {@linkcode planInstall} or {@linkcode planUninstall}.
 * @throws {InstallError} At the first step that fails; earlier steps stay applied.
 */
export async function applyPlan(plan: Plan): Promise<void> {
  for (const step of plan.steps) {
    try {
      if (step.after === undefined) {
        await Deno.remove(step.path);
      } else {
        await Deno.mkdir(step.path.slice(0, step.path.lastIndexOf("/")) || "/", {
          recursive: true,
        });
        await writeFileAtomic(step.path, step.after, { createMode: step.mode });
      }
    } catch (error) {
      throw new InstallError(`${step.summary}: ${describe(error)}`);
    }
  }
}

/**
 * Makes the CRI take the new configuration.
 *
 * @param reload The plan's `reload`.
 * @throws {InstallError} When the command fails, with its output.
 */
export async function reloadCri(reload: { argv: string[]; why: string }): Promise<void> {
  const [command, ...args] = reload.argv;
  const output = await new Deno.Command(command!, { args, stdin: "null" }).output()
    .catch((error) => {
      throw new InstallError(`${reload.argv.join(" ")}: ${describe(error)}`);
    });
  if (!output.success) {
    const stderr = new TextDecoder().decode(output.stderr).trim();
    throw new InstallError(
      `${reload.argv.join(" ")} failed (exit ${output.code})${stderr ? `: ${stderr}` : ""}`,
    );
  }
}

/**
 * The plan as a unified diff of its text files, for `--dry-run`.
 *
 * @param plan The plan.
 * @returns The diff (binary files are named, not shown).
 */
export function formatDiff(plan: Plan): string {
  const decode = (bytes: Uint8Array | undefined) =>
    bytes === undefined ? "" : new TextDecoder().decode(bytes);
  return plan.steps.map((step) =>
    step.text
      ? createTwoFilesPatch(
        step.before === undefined ? "/dev/null" : step.path,
        step.after === undefined ? "/dev/null" : step.path,
        decode(step.before),
        decode(step.after),
      )
      : `${step.path}: ${step.summary}\n`
  ).join("");
}

interface HostPaths {
  wrapper: string;
  program: string;
  config: string;
  state: string;
  criConfig: string;
}

function _hostPaths(options: InstallOptions): HostPaths {
  const root = options.hostRoot.replace(/\/+$/, "");
  const onHost = (path: string) => `${root}${path}`;
  return {
    wrapper: onHost(HOST_WRAPPER),
    program: onHost(HOST_PROGRAM),
    config: onHost(DEFAULT_CONFIG_PATH),
    state: onHost(STATE_FILE),
    criConfig: onHost(options.criConfig ?? CRI_CONFIG[options.cri]),
  };
}

/** Plans the containerd config edit; returns its warnings. */
async function _planContainerd(
  path: string,
  handler: HandlerOptions,
  steps: FileStep[],
  notes: string[],
): Promise<readonly string[]> {
  const before = await _readText(path, "containerd config");
  if (before === undefined) {
    throw new InstallError(
      `${path}: no containerd config: create it with ` +
        "`containerd config default > /etc/containerd/config.toml` (containerd's defaults apply " +
        "without it, but a handler needs a file) and install again",
    );
  }
  const edit = addContainerdHandler(before, path, handler);
  const name = JSON.stringify(handler.handler);
  if (edit.change === "unchanged") {
    notes.push(`${path}: handler ${name} already in place`);
    return edit.warnings;
  }
  const backup = `${path}${BACKUP_SUFFIX}`;
  if (!await _exists(backup)) {
    const bytes = _encode(before);
    steps.push(_step(backup, undefined, bytes, 0o600, "backup of the containerd config", false));
  }
  const summary = `containerd config (version ${edit.version}): handler ${name} ${edit.change}`;
  steps.push(_textStep(path, before, edit.text, summary));
  return edit.warnings;
}

/** Plans the CRI-O drop-in; returns warnings about the other CRI-O files. */
async function _planCrio(
  path: string,
  hostRoot: string,
  wanted: { handler: HandlerOptions; runtime: string },
  steps: FileStep[],
  notes: string[],
): Promise<string[]> {
  const others = await _crioConfigs(path, hostRoot);
  assertNoOtherHandler(others, wanted.handler.handler);
  const before = await _readText(path, "CRI-O drop-in");
  if (before !== undefined && !isOurDropIn(before)) {
    throw new InstallError(`${path}: exists and was not written by this tool`);
  }
  const after = crioDropIn(wanted.handler, wanted.runtime);
  if (before === after) {
    notes.push(`${path}: handler ${JSON.stringify(wanted.handler.handler)} already in place`);
  } else {
    steps.push(_textStep(path, before, after, `CRI-O drop-in: handler ${wanted.handler.handler}`));
  }
  return crioEnvWarnings(others);
}

/**
 * Plans the runtime config: written when missing, replaced when it is the one
 * we installed last time, kept (with the new one beside it) when an operator
 * edited it.
 */
async function _planConfig(
  options: InstallOptions,
  host: HostPaths,
  stateText: string | undefined,
  steps: FileStep[],
  notes: string[],
  warnings: string[],
): Promise<{ path: string; text: string | undefined }> {
  const installed = await _readText(host.config, "runtime config");
  const source = options.config === undefined
    ? undefined
    : await _readText(options.config, "runtime config");
  if (options.config !== undefined && source === undefined) {
    throw new InstallError(`${options.config}: runtime config not found`);
  }
  let effective = { path: host.config, text: installed };
  if (source !== undefined && source !== installed) {
    const ours = installed === undefined ||
      await _sha256(installed) === _parseState(stateText).configSha256;
    if (ours) {
      steps.push(_textStep(host.config, installed, source, "runtime config"));
      steps.push(
        _textStep(
          host.state,
          stateText,
          `${JSON.stringify({ configSha256: await _sha256(source) })}\n`,
          "install state",
        ),
      );
      effective = { path: options.config!, text: source };
    } else {
      const pending = await _readText(`${host.config}.new`, "new runtime config");
      if (pending !== source) {
        steps.push(_textStep(`${host.config}.new`, pending, source, "new runtime config"));
      }
      warnings.push(
        `${host.config} was edited on the node, so it was kept; the new config is in ` +
          `${host.config}.new: move it into place to use it`,
      );
    }
  } else if (source !== undefined) {
    notes.push(`${host.config}: already in place`);
  }
  _assertCri(effective, options.cri);
  return effective;
}

/**
 * The config in effect must read the annotations of the CRI we register
 * with: with the other CRI's keys every container would look
 * non-Kubernetes and be handed off untouched.
 */
function _assertCri(config: { path: string; text: string | undefined }, cri: Cri): void {
  let configured: Cri;
  try {
    configured = parseConfig(config.text, config.path).cri;
  } catch (error) {
    throw new InstallError(`the runtime config is invalid: ${describe(error)}`);
  }
  if (configured !== cri) {
    throw new InstallError(
      `${config.text === undefined ? "the embedded default config" : config.path} has ` +
        `cri = ${JSON.stringify(configured)} but the install is for ${cri}: set ` +
        `cri = ${JSON.stringify(cri)} and pass it with --config`,
    );
  }
}

async function _assertRuntimeOnNode(runtime: string, hostRoot: string, path: string) {
  const root = hostRoot.replace(/\/+$/, "");
  const candidates = runtime.startsWith("/")
    ? [runtime]
    : RUNTIME_DIRS.map((dir) => `${dir}/${runtime}`);
  for (const candidate of candidates) {
    if ((await Deno.stat(`${root}${candidate}`).catch(() => undefined))?.isFile) return;
  }
  throw new InstallError(
    `runtime ${JSON.stringify(runtime)} (from ${path}${
      runtime === DEFAULT_RUNTIME ? ", or the default" : ""
    }) is not on the node: looked for ${candidates.join(", ")}${
      root === "" ? "" : ` under ${root}`
    }`,
  );
}

async function _crioConfigs(
  dropIn: string,
  hostRoot: string,
): Promise<{ path: string; text: string }[]> {
  const dir = dropIn.slice(0, dropIn.lastIndexOf("/"));
  const paths = [`${hostRoot.replace(/\/+$/, "")}/etc/crio/crio.conf`];
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isFile && `${dir}/${entry.name}` !== dropIn) paths.push(`${dir}/${entry.name}`);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) {
      throw new InstallError(`${dir}: cannot list: ${describe(error)}`);
    }
  }
  const files = [];
  for (const path of paths.sort()) {
    const text = await _readText(path, "CRI-O config");
    if (text !== undefined) files.push({ path, text });
  }
  return files;
}

async function _planPurge(host: HostPaths, steps: FileStep[], notes: string[]) {
  // What calls the program goes first.
  const programs: [string, string][] = [
    [host.wrapper, "wrapper removed"],
    [host.program, "wrapper program removed"],
  ];
  for (const [path, summary] of programs) {
    if (await _exists(path)) steps.push(_step(path, undefined, undefined, 0o755, summary, false));
  }

  const config = await _readText(host.config, "runtime config");
  const stateText = await _readText(host.state, "install state");
  if (config !== undefined) {
    if (await _sha256(config) === _parseState(stateText).configSha256) {
      steps.push(_textStep(host.config, config, undefined, "runtime config removed"));
    } else {
      notes.push(`${host.config}: kept (edited on the node)`);
    }
  }
  if (stateText !== undefined) {
    steps.push(_textStep(host.state, stateText, undefined, "install state removed"));
  }
}

function _reload(
  options: InstallOptions,
  steps: readonly FileStep[],
  criConfig: string,
): Plan["reload"] {
  if (!steps.some((step) => step.path === criConfig)) return undefined;
  const { argv, why } = RELOAD[options.cri];
  // From the DaemonSet (host mounted at --host-root, hostPID) the unit is
  // the host's: enter PID 1's namespaces so systemctl talks to the host's systemd.
  const enter = ["nsenter", "--target", "1", "--mount", "--uts", "--ipc", "--net", "--pid", "--"];
  return { argv: options.hostRoot.replace(/\/+$/, "") === "" ? argv : [...enter, ...argv], why };
}

function _installOf(backup: string, path: string, options: InstallOptions): string | undefined {
  try {
    return addContainerdHandler(backup, path, {
      handler: options.handler,
      binary: HOST_WRAPPER,
    }).text;
  } catch {
    return undefined;
  }
}

function _step(
  path: string,
  before: Uint8Array | undefined,
  after: Uint8Array | undefined,
  mode: number,
  summary: string,
  text: boolean,
): FileStep {
  return { path, before, after, mode, summary, text };
}

function _textStep(
  path: string,
  before: string | Uint8Array | undefined,
  after: string | undefined,
  summary: string,
): FileStep {
  return _step(path, _encode(before), _encode(after), 0o644, summary, true);
}

function _encode(value: string | Uint8Array | undefined): Uint8Array | undefined {
  return typeof value === "string" ? new TextEncoder().encode(value) : value;
}

async function _readFile(path: string, what: string): Promise<Uint8Array | undefined> {
  try {
    return await Deno.readFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw new InstallError(`${path}: cannot read the ${what}: ${describe(error)}`);
  }
}

async function _readText(path: string, what: string): Promise<string | undefined> {
  const bytes = await _readFile(path, what);
  return bytes === undefined ? undefined : new TextDecoder().decode(bytes);
}

/** Whether a path exists, without reading it (the wrapper may be a 100 MB binary). */
async function _exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw new InstallError(`${path}: cannot stat: ${describe(error)}`);
  }
}

function _parseState(text: string | undefined): State {
  if (text === undefined) return {};
  try {
    return JSON.parse(text) as State;
  } catch {
    return {};
  }
}

async function _sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

function _equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let index = 0; index < a.length; index++) if (a[index] !== b[index]) return false;
  return true;
}
