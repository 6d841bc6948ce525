/**
 * The decision record: one JSON object per judged (or deliberately not
 * judged) identity. The wrapper writes it as its log line and
 * `strict-supplementalgroups explain --json` prints it, so both show one
 * decision in one shape; docs/decision-record.md documents the fields.
 *
 * @module
 */

import type { PodRef } from "./container_identity.ts";
import { PodSourceError, SpecError, UsageError } from "./errors.ts";
import type { Mode } from "./decision.ts";
import type { AppliedIdentity } from "./identity.ts";
import type { GidChange, Judgement, RefusalCause } from "./judgement.ts";
import type { PodFacts } from "./pod_facts.ts";
import type { Violation } from "./policy.ts";

/** The invocation a decision is about. */
export interface Subject {
  /** The container id. */
  readonly container: string;
  /** `create`, `run` or `exec`. */
  readonly command: string;
  /** The file whose identity was judged (a `config.json` or an exec process file). */
  readonly spec: string;
}

/** Where the Pod's facts came from and how long the lookup took. */
export interface Lookup {
  /** The source that answered (`kubelet`, `pod-file`, …). */
  readonly source: string;
  /** Milliseconds, as the caller saw them. */
  readonly ms: number;
  /** The sources asked before it, which did not hold the Pod (a cache's miss). */
  readonly missed?: readonly string[] | undefined;
}

/** Where the time of one invocation went (the wrapper's records only). */
export interface Timings {
  /** Module loading and configuration, from the runtime's time origin. */
  readonly startupMs: number;
  /** From the start of the request to the record. */
  readonly elapsedMs: number;
}

/** A container handed off without judgement: a Pod sandbox, or no Kubernetes container at all. */
export interface UnjudgedRecord extends Subject {
  /** `untouched`, or `refuse` when non-Kubernetes containers are not allowed. */
  readonly verdict: "untouched" | "refuse";
  /** The configured mode. */
  readonly mode: Mode;
  /** `pod sandbox` or `not a Kubernetes container`. */
  readonly reason: string;
  /** The refusal message, with `verdict: "refuse"`. */
  readonly refusal?: string;
  /** `non-kubernetes`, with `verdict: "refuse"`. */
  readonly cause?: "non-kubernetes";
  /** Milliseconds from the start of the request, in the wrapper's records. */
  readonly elapsedMs?: number;
}

/**
 * A request refused before it could be judged: its Pod could not be looked
 * up, its spec could not be read, its command line not understood, or it
 * restores a checkpoint. Only the wrapper writes these.
 */
export interface FailedRecord {
  /** The container id. */
  readonly container: string;
  /** `create`, `run`, `exec` or `restore`. */
  readonly command: string;
  /** Always `refuse`. */
  readonly verdict: "refuse";
  /** The configured mode. */
  readonly mode: Mode;
  /** What stopped it. */
  readonly cause: RefusalCause;
  /** The refusal message, as the caller reports it. */
  readonly refusal: string;
  /** The container's Pod and image, when they were known by then. */
  readonly pod?: { readonly namespace: string; readonly name: string; readonly uid?: string };
  /** The container's name in the Pod, when known. */
  readonly containerName?: string;
  /** The container's image, when known. */
  readonly image?: string;
  /** Milliseconds from the start of the request. */
  readonly elapsedMs?: number;
}

/** A judged identity. */
export interface JudgedRecord extends Subject {
  /** The outcome's kind. */
  readonly verdict: "unchanged" | "rewrite" | "audit" | "refuse";
  /** The configured mode. */
  readonly mode: Mode;
  /** The container's Pod, from the CRI's annotations. */
  readonly pod: { readonly namespace: string; readonly name: string; readonly uid?: string };
  /** The container's name in the Pod, when the CRI gave one. */
  readonly containerName?: string;
  /** The container's image, when the CRI gave one. */
  readonly image?: string;
  /** The uid the process runs with. */
  readonly uid: number;
  /** The primary gid it runs with. */
  readonly gid: number;
  /** Where that identity comes from (`spec`, `process file`, `create-time spec`, `runtime default`). */
  readonly identityFrom: string;
  /** The supplementary gids: as the runtime would apply them, what enforce keeps, what it drops. */
  readonly gids: GidChange;
  /**
   * The gids the image grants the user, the only ones enforce may drop (read
   * at the create, recorded for its execs); absent when not known, and then
   * any gid the Pod does not entitle may be dropped.
   */
  readonly imageGids?: readonly number[];
  /** The gids the Pod entitles the process to; absent when the Pod was not looked up. */
  readonly entitled?: readonly number[];
  /** The policy scope that applied and the identity's violations of it. */
  readonly policy: { readonly rules: string; readonly violations: readonly Violation[] };
  /** The refusal message (reasons joined), with `verdict: "refuse"`. */
  readonly refusal?: string;
  /** The first reason's kind, with `verdict: "refuse"`. */
  readonly cause?: RefusalCause;
  /** The Pod's `supplementalGroupsPolicy`, when the Pod was looked up. */
  readonly supplementalGroupsPolicy?: string;
  /** Which Pod source answered, or `image` when no gid needed the Pod. */
  readonly source: string;
  /** How long it took. */
  readonly lookupMs: number;
  /** The sources asked first that did not hold the Pod (`cache` on a cache miss). */
  readonly missed?: readonly string[];
  /** Module loading and configuration, in the wrapper's records. */
  readonly startupMs?: number;
  /** From the start of the request to the record, in the wrapper's records. */
  readonly elapsedMs?: number;
}

/** Any record of a decision the request flow made. */
export type DecisionRecord = UnjudgedRecord | JudgedRecord;

/** What a judged record is rendered from. */
export interface JudgedParts {
  /** The invocation. */
  readonly subject: Subject;
  /** The configured mode. */
  readonly mode: Mode;
  /** The container's Pod reference. */
  readonly pod: PodRef;
  /** The identity that was judged. */
  readonly identity: AppliedIdentity;
  /** The gids the image grants the user, when known. */
  readonly imageGids?: readonly number[] | undefined;
  /** The Pod's facts, when it was looked up. */
  readonly facts?: PodFacts | undefined;
  /** The judgement. */
  readonly judgement: Judgement;
  /** The lookup. */
  readonly lookup: Lookup;
}

/**
 * Renders the record of a judged identity.
 *
 * @param parts What was judged, and the judgement.
 * @param timings The wrapper's timings, when it writes the record.
 * @returns The record.
 *
 * @example
 * ```ts
 * import { equal, deepEqual } from "assert";
 * import { judgedRecord } from "./decision_record.ts";
 * import { createIdentity } from "./identity.ts";
 * import { judge } from "./judgement.ts";
 * import { OPEN_POLICY } from "./policy.ts";
 *
 * const identity = createIdentity({ uid: 1000, gid: 1000, additionalGids: [1000, 50000] });
 * const facts = {
 *   namespace: "tenant-a", name: "app", uid: "u1", supplementalGroups: [],
 *   supplementalGroupsPolicy: "Merge", containers: [{ name: "main" }],
 * };
 * const judgement = judge({
 *   mode: "enforce", policy: OPEN_POLICY, namespace: "tenant-a", podName: "tenant-a/app",
 *   identity, droppable: new Set([50000]), groups: { supplementalGroups: [] },
 * });
 * const record = judgedRecord({
 *   subject: { container: "c1", command: "create", spec: "/b/config.json" },
 *   mode: "enforce",
 *   pod: { namespace: "tenant-a", name: "app", uid: "u1", container: "main" },
 *   identity, imageGids: [50000], facts, judgement, lookup: { source: "kubelet", ms: 12.345 },
 * });
 * equal(record.verdict, "rewrite");
 * deepEqual(record.gids, { before: [1000, 50000], after: [1000], dropped: [50000] });
 * deepEqual(record.imageGids, [50000]);
 * equal(record.lookupMs, 12.35);
 * ```
 */
export function judgedRecord(parts: JudgedParts, timings?: Timings): JudgedRecord {
  const { subject, judgement, pod } = parts;
  const { outcome } = judgement;
  return {
    container: subject.container,
    command: subject.command,
    spec: subject.spec,
    verdict: outcome.kind,
    mode: parts.mode,
    ..._podFields(pod),
    uid: parts.identity.user.uid,
    gid: parts.identity.user.gid,
    identityFrom: parts.identity.from,
    gids: judgement.gids,
    ...(parts.imageGids === undefined ? {} : { imageGids: [...parts.imageGids] }),
    ...(parts.facts === undefined ? {} : { entitled: [...judgement.entitled] }),
    policy: { rules: judgement.rulesSource, violations: judgement.violations },
    ...(outcome.kind === "refuse"
      ? { refusal: outcome.reasons.join("; "), cause: outcome.cause }
      : {}),
    ...(parts.facts === undefined
      ? {}
      : { supplementalGroupsPolicy: parts.facts.supplementalGroupsPolicy }),
    source: parts.lookup.source,
    lookupMs: milliseconds(parts.lookup.ms),
    ...(parts.lookup.missed?.length ? { missed: [...parts.lookup.missed] } : {}),
    ...(timings === undefined ? {} : {
      startupMs: milliseconds(timings.startupMs),
      elapsedMs: milliseconds(timings.elapsedMs),
    }),
  };
}

/**
 * Renders the record of a request refused before it could be judged.
 *
 * @param subject The container and command.
 * @param mode The configured mode.
 * @param error What stopped it.
 * @param pod The container's Pod, when it was known by then.
 * @returns The record.
 *
 * @example
 * ```ts
 * import { equal } from "assert";
 * import { failedRecord } from "./decision_record.ts";
 * import { PodSourceError } from "./errors.ts";
 *
 * const record = failedRecord(
 *   { container: "c1", command: "create" },
 *   "enforce",
 *   new PodSourceError("pod tenant-a/app not found on this node's kubelet"),
 *   { namespace: "tenant-a", name: "app", container: "main", image: "registry.example/app:1" },
 * );
 * equal(record.cause, "pod-lookup");
 * equal(record.image, "registry.example/app:1");
 * ```
 */
export function failedRecord(
  subject: { readonly container: string; readonly command: string },
  mode: Mode,
  error: unknown,
  pod?: PodRef,
): FailedRecord {
  return {
    container: subject.container,
    command: subject.command,
    verdict: "refuse",
    mode,
    cause: error instanceof PodSourceError
      ? "pod-lookup"
      : error instanceof SpecError
      ? "spec"
      : error instanceof UsageError
      ? "usage"
      : "internal",
    refusal: error instanceof Error ? error.message : String(error),
    ...(pod === undefined ? {} : _podFields(pod)),
  };
}

/** A record's `pod`, `containerName` and `image`, from the CRI's annotations. */
function _podFields(pod: PodRef): Pick<JudgedRecord, "pod" | "containerName" | "image"> {
  return {
    pod: { namespace: pod.namespace, name: pod.name, ...(pod.uid ? { uid: pod.uid } : {}) },
    ...(pod.container === undefined ? {} : { containerName: pod.container }),
    ...(pod.image === undefined ? {} : { image: pod.image }),
  };
}

/**
 * The level a record is logged at: `error` for a refusal, `warn` for an
 * audit or a policy violation, `debug` for a Pod sandbox, else `info`.
 *
 * @param record The record.
 * @returns The level.
 *
 * @example
 * ```ts
 * import { equal } from "assert";
 * import { recordLevel } from "./decision_record.ts";
 *
 * equal(recordLevel({
 *   container: "s1", command: "create", spec: "/b/config.json", verdict: "untouched",
 *   mode: "enforce", reason: "pod sandbox",
 * }), "debug");
 * ```
 */
export function recordLevel(
  record: DecisionRecord | FailedRecord,
): "debug" | "info" | "warn" | "error" {
  if (record.verdict === "refuse") return "error";
  if (!("gids" in record)) return record.reason === POD_SANDBOX ? "debug" : "info";
  return record.verdict === "audit" || record.policy.violations.length > 0 ? "warn" : "info";
}

/**
 * The `source` of a record whose Pod was not looked up: the image grants
 * the user no gid of the list that only the Pod could entitle.
 */
export const IMAGE_SOURCE = "image";

/** The reason of a Pod sandbox's record. */
export const POD_SANDBOX = "pod sandbox";

/** The reason of a non-Kubernetes container's record. */
export const NOT_KUBERNETES = "not a Kubernetes container";

/**
 * Rounds milliseconds to two decimals, as records carry them.
 *
 * @param value Milliseconds.
 * @returns The rounded value.
 *
 * @example
 * ```ts
 * import { equal } from "assert";
 * import { milliseconds } from "./decision_record.ts";
 *
 * equal(milliseconds(12.3456), 12.35);
 * ```
 */
export function milliseconds(value: number): number {
  return Math.round(value * 100) / 100;
}
