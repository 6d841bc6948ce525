/**
 * The edit `install` makes to containerd's `config.toml`, as a pure function
 * of the file's text: one clearly marked block appended at the end that
 * defines the wrapper's runtime handler. TOML lets a later table header
 * extend tables defined earlier, so the operator's comments, order and
 * formatting stay exactly as they were, and removing the block gives the
 * original text back.
 *
 * @module
 */

import { stringify } from "toml";
import { describe, InstallError } from "../core/errors.ts";
import { parseToml, tomlKey } from "../config/toml.ts";

/** The shim every handler of ours uses: the runc shim, which calls `BinaryName`. */
export const RUNC_SHIM = "io.containerd.runc.v2";

/**
 * The CRI plugin that holds runtime handlers, per config version
 * (containerd docs/cri/config.md of 1.7 and 2.x): containerd 1.x writes
 * version 2, 2.x version 3.
 */
const CRI_PLUGIN: Readonly<Record<2 | 3, string>> = {
  2: "io.containerd.grpc.v1.cri",
  3: "io.containerd.cri.v1.runtime",
};

/** What the handler block says. */
export interface HandlerOptions {
  /** The runtime handler name (the RuntimeClass's `handler`). */
  readonly handler: string;
  /** The wrapper's path as the host sees it (`options.BinaryName`). */
  readonly binary: string;
}

/** The result of planning an install. */
export interface ContainerdEdit {
  /** The new text; equal to the input when nothing changes. */
  readonly text: string;
  /** What happened to the handler block. */
  readonly change: "added" | "updated" | "unchanged";
  /** The config version found (2 or 3). */
  readonly version: 2 | 3;
  /** Things the operator should know that do not stop the install. */
  readonly warnings: readonly string[];
}

/**
 * Plans adding (or updating) the wrapper's runtime handler.
 *
 * The handler copies the plain settings of the default runtime (such as
 * `SystemdCgroup`, which must match the kubelet's cgroup driver) when that
 * runtime uses the runc shim, and sets `BinaryName` to the wrapper.
 *
 * @param text The current `config.toml`.
 * @param path The file, for messages.
 * @param options Handler name and wrapper path.
 * @returns The new text and what changed.
 * @throws {InstallError} When the file is version 1 or does not parse, the CRI plugin is
 *   disabled, the handler is defined differently outside our block, or the result would not parse.
 *
 * @example The operator's text stays a prefix of the result
 * ```ts
 * import { equal, match } from "assert";
 * import { addContainerdHandler } from "./install_containerd.ts";
 *
 * const edit = addContainerdHandler("version = 2\n", "config.toml", {
 *   handler: "strict-supplementalgroups",
 *   binary: "/usr/local/bin/strict-supplementalgroups-container-runtime",
 * });
 * equal(edit.change, "added");
 * equal(edit.text.startsWith("version = 2\n"), true);
 * match(edit.text, /BinaryName = "\/usr\/local\/bin\/strict-supplementalgroups-container-runtime"/);
 * ```
 */
export function addContainerdHandler(
  text: string,
  path: string,
  options: HandlerOptions,
): ContainerdEdit {
  const found = _findBlock(text, path, options.handler);
  const base = found ? text.slice(0, found.start) + text.slice(found.end) : text;
  const config = _parse(base, path);
  const version = _version(config, path);
  const cri = _criPlugin(config, version, path);
  const existing = _record(_record(cri?.containerd)?.runtimes)?.[options.handler];
  if (existing !== undefined) {
    if (_isOurs(existing, options.binary)) {
      return { text, change: "unchanged", version, warnings: [] };
    }
    throw new InstallError(
      `${path}: runtime handler ${JSON.stringify(options.handler)} is already defined ` +
        `(${_summary(existing)}): remove that definition or install under another --handler`,
    );
  }
  const template = _template(cri);
  const block = _block(version, options, template);
  const next = found
    ? text.slice(0, found.start) + block + text.slice(found.end)
    : `${base}${base === "" || base.endsWith("\n") ? "" : "\n"}\n${block}`;
  if (next === text) return { text, change: "unchanged", version, warnings: [] };
  const check = _record(
    _record(_record(_record(_parseResult(next, path).plugins)?.[CRI_PLUGIN[version]])?.containerd)
      ?.runtimes,
  )?.[options.handler];
  if (!_isOurs(check, options.binary)) {
    throw new InstallError(
      `${path}: the edited file does not define handler ${JSON.stringify(options.handler)} ` +
        `as intended; nothing was written`,
    );
  }
  return {
    text: next,
    change: found ? "updated" : "added",
    version,
    warnings: [...template.warnings, ..._importWarnings(config, version, path)],
  };
}

/**
 * Removes the block {@linkcode addContainerdHandler} added, with the blank
 * line that separated it.
 *
 * @param text The current `config.toml`.
 * @param path The file, for messages.
 * @param handler The handler name.
 * @returns The text without the block, or `undefined` when there is none.
 * @throws {InstallError} When the block's end marker is missing.
 *
 * @example Removing the block gives the original back, byte for byte
 * ```ts
 * import { equal } from "assert";
 * import { addContainerdHandler, removeContainerdHandler } from "./install_containerd.ts";
 *
 * const options = { handler: "ssg", binary: "/usr/local/bin/ssg" };
 * const added = addContainerdHandler("version = 2\n", "config.toml", options).text;
 * equal(removeContainerdHandler(added, "config.toml", "ssg"), "version = 2\n");
 * equal(removeContainerdHandler("version = 2\n", "config.toml", "ssg"), undefined);
 * ```
 */
export function removeContainerdHandler(
  text: string,
  path: string,
  handler: string,
): string | undefined {
  const found = _findBlock(text, path, handler);
  if (!found) return undefined;
  const start = text.slice(0, found.start).endsWith("\n\n") ? found.start - 1 : found.start;
  return text.slice(0, start) + text.slice(found.end);
}

/** The block's first line, which names the handler. */
function _begin(handler: string): string {
  return `# >>> strict-supplementalgroups: runtime handler ${JSON.stringify(handler)} ` +
    "(added by `strict-supplementalgroups install`, removed by `uninstall`)";
}

function _end(handler: string): string {
  return `# <<< strict-supplementalgroups: runtime handler ${JSON.stringify(handler)}`;
}

function _findBlock(
  text: string,
  path: string,
  handler: string,
): { start: number; end: number } | undefined {
  const begin = _begin(handler).slice(0, _begin(handler).indexOf(" ("));
  const at = text.startsWith(begin) ? 0 : text.indexOf(`\n${begin}`);
  if (at < 0) return undefined;
  const start = text.startsWith(begin) ? 0 : at + 1;
  const endLine = _end(handler);
  const endAt = text.indexOf(`\n${endLine}`, start);
  if (endAt < 0) {
    throw new InstallError(
      `${path}: the strict-supplementalgroups block for ${JSON.stringify(handler)} has no end ` +
        `marker (${endLine}); repair the file or restore it from its backup`,
    );
  }
  const lineEnd = text.indexOf("\n", endAt + 1);
  return { start, end: lineEnd < 0 ? text.length : lineEnd + 1 };
}

function _block(
  version: 2 | 3,
  options: HandlerOptions,
  template: { name: string; runtime: Record<string, unknown>; options: Record<string, unknown> },
): string {
  const table = `plugins.${JSON.stringify(CRI_PLUGIN[version])}.containerd.runtimes.${
    tomlKey(options.handler)
  }`;
  const copied = template.name === ""
    ? []
    : [`  # Settings copied from the default runtime ${JSON.stringify(template.name)}.`];
  return [
    _begin(options.handler),
    `[${table}]`,
    ...copied,
    ..._assignments({ ...template.runtime, runtime_type: RUNC_SHIM }),
    `[${table}.options]`,
    ..._assignments({ ...template.options, BinaryName: options.binary }),
    _end(options.handler),
    "",
  ].join("\n");
}

/** `key = value` lines for the plain (non-table) values, in order. */
function _assignments(values: Record<string, unknown>): string[] {
  return Object.entries(values).map(([key, value]) => `  ${stringify({ [key]: value }).trim()}`);
}

/** The default runtime's plain settings, when it is a runc-shim runtime. */
function _template(cri: Record<string, unknown> | undefined): {
  name: string;
  runtime: Record<string, unknown>;
  options: Record<string, unknown>;
  warnings: string[];
} {
  const containerd = _record(cri?.containerd);
  const name = typeof containerd?.default_runtime_name === "string"
    ? containerd.default_runtime_name
    : "runc";
  const runtime = _record(_record(containerd?.runtimes)?.[name]);
  if (runtime?.runtime_type !== RUNC_SHIM) {
    return { name: "", runtime: {}, options: {}, warnings: [] };
  }
  const warnings: string[] = [];
  const plain = (table: Record<string, unknown>, where: string, skip: string) =>
    Object.fromEntries(
      Object.entries(table).filter(([key, value]) => {
        if (key === skip) return false;
        if (_record(value) === undefined) return true;
        if (key !== "options") warnings.push(`not copied from ${where}: table ${key}`);
        return false;
      }),
    );
  return {
    name,
    runtime: plain(runtime, `runtime ${JSON.stringify(name)}`, "runtime_type"),
    options: plain(_record(runtime.options) ?? {}, `runtime ${JSON.stringify(name)}`, "BinaryName"),
    warnings,
  };
}

function _isOurs(runtime: unknown, binary: string): boolean {
  const table = _record(runtime);
  return table?.runtime_type === RUNC_SHIM && _record(table.options)?.BinaryName === binary;
}

function _summary(runtime: unknown): string {
  const table = _record(runtime);
  const show = (value: unknown) => JSON.stringify(value) ?? "unset";
  return `runtime_type ${show(table?.runtime_type)}, BinaryName ${
    show(_record(table?.options)?.BinaryName)
  }`;
}

function _parse(text: string, path: string): Record<string, unknown> {
  try {
    return parseToml(text, path);
  } catch (error) {
    throw new InstallError(`cannot read the containerd config: ${describe(error)}`);
  }
}

function _parseResult(text: string, path: string): Record<string, unknown> {
  try {
    return parseToml(text, path);
  } catch (error) {
    throw new InstallError(
      `adding the handler would make the file invalid (${describe(error)}); nothing was written`,
    );
  }
}

function _version(config: Record<string, unknown>, path: string): 2 | 3 {
  const version = config.version;
  if (version === 2 || version === 3) return version;
  if (version === undefined || version === 1) {
    throw new InstallError(
      `${path}: this is a version 1 containerd config (${
        version === undefined ? "no version key" : "version = 1"
      }), which names the CRI plugin differently: regenerate it with ` +
        "`containerd config default` (version 2 or 3) and carry your settings over",
    );
  }
  throw new InstallError(`${path}: unknown containerd config version ${JSON.stringify(version)}`);
}

function _criPlugin(
  config: Record<string, unknown>,
  version: 2 | 3,
  path: string,
): Record<string, unknown> | undefined {
  const disabled = Array.isArray(config.disabled_plugins) ? config.disabled_plugins : [];
  const names = ["cri", "io.containerd.grpc.v1.cri", CRI_PLUGIN[version]];
  const off = disabled.find((name) => names.includes(name));
  if (off !== undefined) {
    throw new InstallError(
      `${path}: the CRI plugin is disabled (disabled_plugins contains ${JSON.stringify(off)}), ` +
        "so the kubelet cannot use containerd here",
    );
  }
  return _record(_record(config.plugins)?.[CRI_PLUGIN[version]]);
}

function _importWarnings(config: Record<string, unknown>, version: 2 | 3, path: string): string[] {
  const imports = Array.isArray(config.imports) ? config.imports : [];
  if (version !== 2 || imports.length === 0) return [];
  // containerd 1.x replaces a plugin's whole section with an imported
  // file's (containerd issues #5837, #7982), so a drop-in that configures
  // the CRI plugin would silently drop this handler.
  return [
    `${path} imports ${imports.join(", ")}: on containerd 1.x an imported file that configures ` +
    `the CRI plugin replaces this file's whole CRI section, this handler included`,
  ];
}

function _record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value) &&
      !(value instanceof Date)
    ? value as Record<string, unknown>
    : undefined;
}
