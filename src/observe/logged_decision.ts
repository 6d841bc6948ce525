/**
 * Reads one line of the wrapper's log back as a decision (docs/decision-record.md):
 * JSON, or the logfmt-style text form, whichever the line is. A line that is
 * neither, or a decision record of a shape this version does not know, is
 * malformed; a well-formed record that is not a decision (a warning, an
 * exec's bundle) is "other". Nothing here throws: a log is evidence, and
 * one bad line must not hide the rest.
 *
 * @module
 */

/** A decision, as `report` and `metrics` count it. */
export interface LoggedDecision {
  /** When it was logged, milliseconds since the epoch. */
  readonly time: number;
  /** `unchanged`, `rewrite`, `audit`, `refuse` or `untouched`. */
  readonly verdict: Verdict;
  /** The mode it was made in. */
  readonly mode: string;
  /** `create`, `run`, `exec` or `restore`. */
  readonly command: string;
  /** The container's Pod, when the record names one. */
  readonly pod?: { readonly namespace: string; readonly name: string };
  /** The container's name in its Pod. */
  readonly container?: string;
  /** The container's image. */
  readonly image?: string;
  /** What enforce drops, or in audit would drop, or in deny refused for. */
  readonly dropped: readonly number[];
  /** The node policy's violations: the rule (its key) and the offending id. */
  readonly violations: readonly { readonly rule: string; readonly value: number }[];
  /** With `verdict: "refuse"`: its cause (`unrecorded` for records older than causes). */
  readonly cause?: string;
  /** With `verdict: "refuse"`: the message the caller saw. */
  readonly refusal?: string;
  /** The Pod lookup, for a judged decision: who answered, how long it took, who missed. */
  readonly lookup?: {
    readonly source: string;
    readonly seconds: number;
    readonly missed: readonly string[];
  };
}

/** The verdicts a record can carry. */
export type Verdict = "unchanged" | "rewrite" | "audit" | "refuse" | "untouched";

const VERDICTS: ReadonlySet<string> = new Set([
  "unchanged",
  "rewrite",
  "audit",
  "refuse",
  "untouched",
]);

/** One line, read. */
export type LogLine =
  | { readonly kind: "decision"; readonly decision: LoggedDecision }
  | { readonly kind: "other" }
  | { readonly kind: "malformed"; readonly reason: string };

/** Fields the text form carries as text, never as JSON values. */
const TEXT_FIELDS: ReadonlySet<string> = new Set([
  "time",
  "level",
  "msg",
  "container",
  "command",
  "spec",
  "verdict",
  "mode",
  "reason",
  "refusal",
  "cause",
  "containerName",
  "image",
  "source",
  "identityFrom",
  "supplementalGroupsPolicy",
]);

/**
 * Reads a line.
 *
 * @param line The line, without its newline.
 * @returns What it is.
 *
 * @example JSON and text lines read alike
 * ```ts
 * import { deepEqual, equal } from "assert";
 * import { readLogLine } from "./logged_decision.ts";
 *
 * const json = readLogLine(
 *   '{"time":"2026-12-01T10:00:00.000Z","level":"info","msg":"decision","container":"c1",' +
 *     '"command":"create","verdict":"rewrite","mode":"enforce",' +
 *     '"pod":{"namespace":"tenant-a","name":"web-7d4b9c8f5-x2k9p"},"containerName":"main",' +
 *     '"gids":{"before":[1000,50000],"after":[1000],"dropped":[50000]},' +
 *     '"policy":{"rules":"defaults","violations":[]},"source":"kubelet","lookupMs":12.5}',
 * );
 * equal(json.kind, "decision");
 * deepEqual(json.kind === "decision" && json.decision.dropped, [50000]);
 * const text = readLogLine(
 *   'time=2026-12-01T10:00:00.000Z level=info msg=decision container=c1 command=create ' +
 *     'verdict=rewrite mode=enforce pod="{\\"namespace\\":\\"tenant-a\\",\\"name\\":\\"web\\"}" ' +
 *     'gids="{\\"before\\":[1000,50000],\\"after\\":[1000],\\"dropped\\":[50000]}" ' +
 *     'policy="{\\"rules\\":\\"defaults\\",\\"violations\\":[]}" source=kubelet lookupMs=12.5',
 * );
 * deepEqual(text.kind === "decision" && text.decision.pod, { namespace: "tenant-a", name: "web" });
 * equal(readLogLine("not a record").kind, "malformed");
 * equal(readLogLine('{"time":"2026-12-01T10:00:00.000Z","level":"warn","msg":"x"}').kind, "other");
 * ```
 */
export function readLogLine(line: string): LogLine {
  const fields = line.startsWith("{") ? _json(line) : _text(line);
  if (fields === undefined) return _malformed("neither a JSON record nor a text record");
  const time = typeof fields.time === "string" ? Date.parse(fields.time) : NaN;
  if (Number.isNaN(time) || typeof fields.msg !== "string" || typeof fields.level !== "string") {
    return _malformed("no time, level or msg");
  }
  if (fields.msg !== "decision") return { kind: "other" };
  const decision = _decision(fields, time);
  return typeof decision === "string" ? _malformed(decision) : { kind: "decision", decision };
}

function _malformed(reason: string): LogLine {
  return { kind: "malformed", reason };
}

type Fields = Record<string, unknown>;

function _json(line: string): Fields | undefined {
  try {
    const value = JSON.parse(line);
    return _isObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** `key=value` pairs, a value bare (no space, quote or `=`) or a JSON string. */
function _text(line: string): Fields | undefined {
  const fields: Fields = {};
  const pair = /([^\s=]+)=("(?:[^"\\]|\\.)*"|[^\s"=]+)(?:\s+|$)/y;
  while (pair.lastIndex < line.length) {
    const at = pair.lastIndex;
    const match = pair.exec(line);
    if (match === null || match.index !== at) return undefined;
    const [, key, raw] = match as unknown as [string, string, string];
    let text: string;
    try {
      text = raw.startsWith('"') ? JSON.parse(raw) : raw;
    } catch {
      return undefined;
    }
    fields[key] = TEXT_FIELDS.has(key) ? text : _jsonOr(text);
  }
  return Object.keys(fields).length === 0 ? undefined : fields;
}

function _jsonOr(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The decision in a record, or why it cannot be read as one. */
function _decision(fields: Fields, time: number): LoggedDecision | string {
  const { verdict, mode, command, container } = fields;
  if (typeof verdict !== "string" || !VERDICTS.has(verdict)) return "a decision without a verdict";
  if (typeof mode !== "string" || typeof command !== "string" || typeof container !== "string") {
    return "a decision without its mode, command or container";
  }
  const pod = fields.pod === undefined ? undefined : _pod(fields.pod);
  if (pod === null) return "a decision whose pod is not a namespace and a name";
  const optional = (key: string) => {
    const value = fields[key];
    return typeof value === "string" && value !== "" ? value : undefined;
  };
  const base = {
    time,
    verdict: verdict as Verdict,
    mode,
    command,
    ...(pod === undefined ? {} : { pod }),
    ...(optional("containerName") === undefined ? {} : { container: optional("containerName")! }),
    ...(optional("image") === undefined ? {} : { image: optional("image")! }),
    ...(verdict === "refuse"
      ? { cause: optional("cause") ?? "unrecorded", refusal: optional("refusal") ?? "" }
      : {}),
  };
  if (fields.gids === undefined) return { ...base, dropped: [], violations: [] };

  const gids = fields.gids;
  const policy = fields.policy;
  if (!_isObject(gids) || !_isIdList(gids.dropped)) return "a decision whose gids are not lists";
  if (!_isObject(policy) || !Array.isArray(policy.violations)) {
    return "a decision without its policy violations";
  }
  const violations: { rule: string; value: number }[] = [];
  for (const violation of policy.violations) {
    if (!_isObject(violation) || typeof violation.field !== "string") {
      return "a policy violation without its rule";
    }
    if (typeof violation.value !== "number") return "a policy violation without its id";
    violations.push({ rule: violation.field, value: violation.value });
  }
  const { source, lookupMs, missed } = fields;
  if (typeof source !== "string" || typeof lookupMs !== "number" || lookupMs < 0) {
    return "a judged decision without its pod source and lookup time";
  }
  const missedList = Array.isArray(missed) ? missed.filter((m) => typeof m === "string") : [];
  return {
    ...base,
    dropped: gids.dropped,
    violations,
    lookup: { source, seconds: lookupMs / 1000, missed: missedList },
  };
}

function _pod(value: unknown): { namespace: string; name: string } | null {
  if (!_isObject(value)) return null;
  const { namespace, name } = value;
  return typeof namespace === "string" && namespace !== "" && typeof name === "string" &&
      name !== ""
    ? { namespace, name }
    : null;
}

function _isObject(value: unknown): value is Fields {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function _isIdList(value: unknown): value is number[] {
  return Array.isArray(value) &&
    value.every((id) => Number.isInteger(id) && id >= 0 && id <= 0xffffffff);
}
