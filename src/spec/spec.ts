/**
 * The OCI spec seam: parse a `config.json` or exec `process.json` losslessly,
 * read the process identity and annotations, and produce the text with a new
 * `additionalGids` list. Nothing else in the document is touched.
 *
 * @module
 */

import { SpecError } from "../core/errors.ts";
import type { ProcessUser } from "../core/identity.ts";
import { isRawNumber, parseLossless, stringifyLossless } from "./json_lossless.ts";

/** Which file a document is: a bundle's `config.json` or an exec process file. */
export type SpecKind = "config" | "process";

/** A parsed spec document. */
export interface SpecDocument {
  /** The file it was read from, for messages and for the rewrite. */
  readonly path: string;
  /** A `config.json` or a process file. */
  readonly kind: SpecKind;
  /** The parsed JSON object; numbers a double cannot hold are raw JSON text. */
  readonly root: Record<string, unknown>;
}

const MAX_ID = 4294967295;

/**
 * Parses spec text.
 *
 * @param text The file's content.
 * @param options Where it came from (for messages) and which kind it is.
 * @returns The document.
 * @throws {SpecError} When the text is not a JSON object.
 *
 * @example
 * ```ts
 * import { equal, throws } from "assert";
 * import { parseSpec } from "./spec.ts";
 *
 * const doc = parseSpec('{"ociVersion":"1.0.2"}', { path: "/b/config.json", kind: "config" });
 * equal(doc.root.ociVersion, "1.0.2");
 * throws(() => parseSpec("[]", { path: "/b/config.json", kind: "config" }), /not a JSON object/);
 * ```
 */
export function parseSpec(text: string, options: { path: string; kind: SpecKind }): SpecDocument {
  let root: unknown;
  try {
    root = parseLossless(text);
  } catch (error) {
    throw new SpecError(`${options.path}: not valid JSON: ${(error as Error).message}`);
  }
  if (!_isObject(root)) throw new SpecError(`${options.path}: not a JSON object`);
  return { path: options.path, kind: options.kind, root };
}

/**
 * Reads the process identity. runc decodes the spec with Go's
 * `encoding/json`, which matches keys case-insensitively; a key such as
 * `"AdditionalGids"` would be applied by runc yet invisible to an exact
 * lookup, so any case variant of the keys on the path is refused.
 *
 * @param doc The document.
 * @param options `optional: true` returns `undefined` when the process has no `user`.
 * @returns The identity.
 * @throws {SpecError} When `process`/`user` is missing or a value is not a uint32.
 *
 * @example
 * ```ts
 * import { deepEqual, throws } from "assert";
 * import { parseSpec, readUser } from "./spec.ts";
 *
 * const doc = parseSpec('{"process":{"user":{"uid":1000,"gid":1000,"additionalGids":[50000]}}}', {
 *   path: "/b/config.json",
 *   kind: "config",
 * });
 * deepEqual(readUser(doc), { uid: 1000, gid: 1000, additionalGids: [50000] });
 *
 * // Go's decoder would read "AdditionalGids" as additionalGids: refused.
 * const variant = parseSpec('{"user":{"uid":0,"gid":0,"AdditionalGids":[0]}}', {
 *   path: "/tmp/p.json",
 *   kind: "process",
 * });
 * throws(() => readUser(variant), /case variant of "additionalGids"/);
 * ```
 */
export function readUser(doc: SpecDocument): ProcessUser;
/**
 * Reads the process identity of a document whose `user` may be absent.
 *
 * @param doc The document.
 * @param options `optional: true`.
 * @returns The identity, or `undefined` when the process has no `user`.
 */
export function readUser(doc: SpecDocument, options: { optional: true }): ProcessUser | undefined;
export function readUser(
  doc: SpecDocument,
  options: { optional?: boolean } = {},
): ProcessUser | undefined {
  const process = _processOf(doc);
  const user = _field(process, "user", `${doc.path}: ${_processPath(doc)}`);
  if (user === undefined && options.optional) return undefined;
  const where = `${doc.path}: ${_processPath(doc)}.user`;
  if (!_isObject(user)) throw new SpecError(`${where}: missing or not an object`);
  const uid = _id(_field(user, "uid", where), `${where}.uid`);
  const gid = _id(_field(user, "gid", where), `${where}.gid`);
  const list = _field(user, "additionalGids", where);
  if (list !== undefined && list !== null && !Array.isArray(list)) {
    throw new SpecError(`${where}.additionalGids: not an array`);
  }
  const additionalGids = (list ?? []).map((value, index) =>
    _id(value, `${where}.additionalGids[${index}]`)
  );
  return { uid, gid, additionalGids };
}

/**
 * The process user as Go's encoding/json writes it, the way the CRIs write
 * it into an exec's process file (runtime-spec specs-go `User`: `uid`,
 * `gid`, `umask` when set, `additionalGids` when not empty, `username` when
 * not empty; compact). The shell front end recognises an exec whose
 * process file carries exactly this text. Only what is sure to be written
 * so is returned: a `username` (whose characters Go may escape otherwise
 * than here) or any other field gives none.
 *
 * @param doc The document (its `user` already read with {@linkcode readUser}).
 * @returns The text, or `undefined`.
 *
 * @example
 * ```ts
 * import { equal } from "assert";
 * import { goUserText, parseSpec } from "./spec.ts";
 *
 * const doc = parseSpec('{"user":{"gid":1000,"additionalGids":[1000,60000],"uid":1000}}', {
 *   path: "/tmp/p.json",
 *   kind: "process",
 * });
 * equal(goUserText(doc), '{"uid":1000,"gid":1000,"additionalGids":[1000,60000]}');
 * ```
 */
export function goUserText(doc: SpecDocument): string | undefined {
  const user = _processOf(doc).user;
  if (!_isObject(user)) return undefined;
  const { uid, gid, umask, additionalGids, ...rest } = user;
  const integer = (value: unknown) => typeof value === "number" && Number.isInteger(value);
  const list = additionalGids ?? [];
  if (
    Object.keys(rest).length > 0 || !integer(uid) || !integer(gid) ||
    (umask !== undefined && !integer(umask)) || !Array.isArray(list) || !list.every(integer)
  ) {
    return undefined;
  }
  return `{"uid":${uid},"gid":${gid}${umask === undefined ? "" : `,"umask":${umask}`}${
    list.length === 0 ? "" : `,"additionalGids":[${list.join(",")}]`
  }}`;
}

/**
 * Reads the annotations of a bundle's `config.json`.
 *
 * @param doc A `config` document.
 * @returns The annotations (empty when absent).
 * @throws {SpecError} When `annotations` is not an object of strings.
 *
 * @example
 * ```ts
 * import { equal } from "assert";
 * import { parseSpec, readAnnotations } from "./spec.ts";
 *
 * const doc = parseSpec('{"annotations":{"io.kubernetes.cri.sandbox-name":"app"}}', {
 *   path: "/b/config.json",
 *   kind: "config",
 * });
 * equal(readAnnotations(doc).get("io.kubernetes.cri.sandbox-name"), "app");
 * ```
 */
export function readAnnotations(doc: SpecDocument): ReadonlyMap<string, string> {
  const where = `${doc.path}: annotations`;
  const annotations = _field(doc.root, "annotations", doc.path);
  const result = new Map<string, string>();
  if (annotations === undefined || annotations === null) return result;
  if (!_isObject(annotations)) throw new SpecError(`${where}: not an object`);
  for (const [key, value] of Object.entries(annotations)) {
    if (typeof value !== "string") throw new SpecError(`${where}.${key}: not a string`);
    result.set(key, value);
  }
  return result;
}

/**
 * Reads a bundle's `root.path`: the container's rootfs, relative to the
 * bundle unless absolute (OCI runtime-spec config.md). Its keys are read
 * as runc reads them, a case variant refused.
 *
 * @param doc A `config` document.
 * @param bundle The bundle, absolute (a relative path starts there).
 * @returns The rootfs path, absolute.
 * @throws {SpecError} When `root.path` is missing or not a string.
 *
 * @example containerd's relative rootfs and CRI-O's absolute one
 * ```ts
 * import { equal } from "assert";
 * import { parseSpec, readRootfs } from "./spec.ts";
 *
 * const spec = (root: string) =>
 *   parseSpec(`{"root":{"path":"${root}"}}`, { path: "/b/config.json", kind: "config" });
 * equal(readRootfs(spec("rootfs"), "/run/b"), "/run/b/rootfs");
 * equal(readRootfs(spec("/var/lib/containers/storage/overlay/l/merged"), "/run/b"),
 *   "/var/lib/containers/storage/overlay/l/merged");
 * ```
 */
export function readRootfs(doc: SpecDocument, bundle: string): string {
  const root = _field(doc.root, "root", doc.path);
  if (!_isObject(root)) throw new SpecError(`${doc.path}: root: missing or not an object`);
  const path = _field(root, "path", `${doc.path}: root`);
  if (typeof path !== "string" || path === "") {
    throw new SpecError(`${doc.path}: root.path: missing or not a path`);
  }
  return path.startsWith("/") ? path : `${bundle}/${path}`;
}

/**
 * Produces the document's text with `additionalGids` replaced. Every other
 * value, unknown fields and big integers included, is written back as read.
 *
 * @param doc The document (not modified).
 * @param gids The new list.
 * @returns The new file content.
 *
 * @example Only the list changes; a 2^64-1 rlimit survives byte for byte
 * ```ts
 * import { equal } from "assert";
 * import { parseSpec, withAdditionalGids } from "./spec.ts";
 *
 * const text = '{"process":{"user":{"uid":1,"gid":1,"additionalGids":[1,50000]},' +
 *   '"rlimits":[{"type":"RLIMIT_CORE","hard":18446744073709551615}]}}';
 * const doc = parseSpec(text, { path: "/b/config.json", kind: "config" });
 * equal(withAdditionalGids(doc, [1]), text.replace("[1,50000]", "[1]"));
 * ```
 */
export function withAdditionalGids(doc: SpecDocument, gids: readonly number[]): string {
  // Copy only the path that changes: raw numbers elsewhere must stay the very
  // objects `JSON.stringify` recognises (a structured clone would unwrap them).
  const process = _processOf(doc);
  const user = { ...(process.user as Record<string, unknown>), additionalGids: [...gids] };
  const root = doc.kind === "process"
    ? { ...doc.root, user }
    : { ...doc.root, process: { ...process, user } };
  return stringifyLossless(root);
}

function _processOf(doc: SpecDocument): Record<string, unknown> {
  if (doc.kind === "process") return doc.root;
  const process = _field(doc.root, "process", doc.path);
  if (!_isObject(process)) throw new SpecError(`${doc.path}: process: missing or not an object`);
  return process;
}

function _processPath(doc: SpecDocument): string {
  return doc.kind === "config" ? "process" : "(process)";
}

/** Folds a key the way Go's encoding/json matches field names. */
function _goFold(key: string): string {
  return key.toLowerCase().replaceAll("\u017f", "s").replaceAll("\u212a", "k");
}

function _field(object: Record<string, unknown>, name: string, where: string): unknown {
  const folded = _goFold(name);
  const keys = Object.keys(object).filter((key) => _goFold(key) === folded);
  if (keys.length === 0) return undefined;
  if (keys.length > 1 || keys[0] !== name) {
    throw new SpecError(
      `${where}: key ${JSON.stringify(keys.find((key) => key !== name))} is a case variant of ` +
        `${JSON.stringify(name)}; runc would read it, so the spec is refused`,
    );
  }
  return object[name];
}

function _id(value: unknown, where: string): number {
  if (isRawNumber(value)) {
    throw new SpecError(`${where}: ${value.rawJSON} is not an id (0 to ${MAX_ID})`);
  }
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > MAX_ID) {
    throw new SpecError(`${where}: ${JSON.stringify(value)} is not an id (0 to ${MAX_ID})`);
  }
  return value;
}

function _isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
