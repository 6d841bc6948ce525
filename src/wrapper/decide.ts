/**
 * The path from a request to its decision, shared by the wrapper and
 * `strict-supplementalgroups explain`: read the spec, classify the
 * container, look its Pod up, find the identity the runtime will apply, and
 * judge it. The wrapper then acts on the decision; `explain` only prints it.
 *
 * @module
 */

import type { JudgeSettings } from "../config/config.ts";
import { containerIdentity, type PodRef } from "../core/container_identity.ts";
import {
  IMAGE_SOURCE,
  type JudgedParts,
  NOT_KUBERNETES,
  POD_SANDBOX,
  type Subject,
  type UnjudgedRecord,
} from "../core/decision_record.ts";
import {
  type AppliedIdentity,
  createIdentity,
  execIdentity,
  processFileIdentity,
  type RuntimeRules,
} from "../core/identity.ts";
import { PodSourceError } from "../core/errors.ts";
import { grantedGids } from "../core/image_groups.ts";
import { type Droppable, judge, podLookupNeeded } from "../core/judgement.ts";
import { groupsFor } from "../core/pod_facts.ts";
import { type PodSource, requirePod } from "../pod_source/pod_source.ts";
import type { ImageFiles } from "../spec/image_files.ts";
import {
  goUserText,
  parseSpec,
  readAnnotations,
  readRootfs,
  readUser,
  type SpecDocument,
} from "../spec/spec.ts";
import type { SpecFiles } from "../spec/spec_files.ts";
import type { CreateRecords } from "../state/create_record.ts";
import type { CreateRequest, ExecRequest } from "./request.ts";

/** What the decision reads through. */
export interface DecideSeams {
  /** Spec and process files. */
  readonly specs: Pick<SpecFiles, "read">;
  /** The image's account files, read inside the rootfs at a create. */
  readonly image: ImageFiles;
  /** What a container's create found in its image, for its execs. */
  readonly created: Pick<CreateRecords, "read">;
  /** The Pod's facts. */
  readonly pods: PodSource;
  /** A running container's bundle, when the request does not name it. */
  readonly bundleOf: (root: string | undefined, id: string) => Promise<string>;
  /** The runtime's exec rules (asked only for an exec). */
  readonly rules: () => Promise<RuntimeRules>;
}

/** A decision. */
export type Decision =
  /** Not judged: handed off untouched, or refused as non-Kubernetes. */
  | {
    readonly kind: "unjudged";
    readonly record: UnjudgedRecord;
    /** A create's process user: its uid, and as Go writes it (an exec's that needs nothing). */
    readonly user?: { readonly uid: number; readonly pass: string | undefined } | undefined;
  }
  | {
    readonly kind: "judged";
    /** Everything the record is rendered from. */
    readonly parts: JudgedParts;
    /** The document a `spec-file` rewrite changes. */
    readonly document: SpecDocument;
    /** The judged user as Go writes it into process files (`goUserText`), when it can be told. */
    readonly pass: string | undefined;
  };

/**
 * Decides a create, run or exec.
 *
 * @param request The request.
 * @param settings Mode, policy, trusted annotations, non-Kubernetes rule.
 * @param seams Files, Pod source, runtime.
 * @returns The decision.
 * @throws {WrapperError} Whenever the decision cannot be made; the message names the cause.
 *
 * @example A create of the tenant-a container: the image grants alice 50000, the Pod does not declare it
 * ```ts
 * import { deepEqual, equal } from "assert";
 * import { DEFAULT_CONFIG } from "../config/config.ts";
 * import { podFileSource } from "../pod_source/pod_file_source.ts";
 * import { decide } from "./decide.ts";
 *
 * const files: Record<string, string> = {
 *   "/b/config.json": JSON.stringify({
 *     process: { user: { uid: 1000, gid: 1000, additionalGids: [1000, 50000, 60000] } },
 *     root: { path: "rootfs" },
 *     annotations: {
 *       "io.kubernetes.cri.container-type": "container",
 *       "io.kubernetes.cri.sandbox-namespace": "tenant-a",
 *       "io.kubernetes.cri.sandbox-name": "app",
 *       "io.kubernetes.cri.container-name": "main",
 *     },
 *   }),
 *   "/pod.json": JSON.stringify({
 *     metadata: { namespace: "tenant-a", name: "app" },
 *     spec: { securityContext: { supplementalGroups: [60000] }, containers: [{ name: "main" }] },
 *   }),
 * };
 * const read = async (path: string) => files[path]!;
 * const decision = await decide(
 *   {
 *     kind: "create", command: "create", id: "c1", bundle: "/b", specPath: "/b/config.json",
 *     root: undefined, argv: [],
 *   },
 *   DEFAULT_CONFIG,
 *   {
 *     specs: { read },
 *     image: {
 *       accountFiles: async (rootfs) => {
 *         equal(rootfs, "/b/rootfs");
 *         return { passwd: "alice:x:1000:1000::/:/bin/sh\n", group: "extra:x:50000:alice\n" };
 *       },
 *     },
 *     created: { read: () => undefined },
 *     pods: podFileSource("/pod.json", read),
 *     bundleOf: () => Promise.reject(new Error("not an exec")),
 *     rules: async () => ({ flavour: "runc" }),
 *   },
 * );
 * equal(decision.kind, "judged");
 * if (decision.kind === "judged") {
 *   deepEqual(decision.parts.judgement.outcome, {
 *     kind: "rewrite",
 *     after: [1000, 60000],
 *     dropped: [50000],
 *   });
 *   deepEqual(decision.parts.imageGids, [50000]);
 *   equal(decision.parts.lookup.source, "pod-file");
 * }
 * ```
 */
export async function decide(
  request: CreateRequest | ExecRequest,
  settings: JudgeSettings,
  seams: DecideSeams,
): Promise<Decision> {
  if (request.kind === "create") {
    const doc = await _read(seams, request.specPath, "config");
    const subject = { container: request.id, command: request.command, spec: doc.path };
    const classified = _classify(doc, subject, settings);
    if (classified.decision) {
      const user = readUser(doc, { optional: true });
      return user === undefined
        ? classified.decision
        : { ...classified.decision, user: { uid: user.uid, pass: goUserText(doc) } };
    }
    const identity = createIdentity(readUser(doc));
    const files = await seams.image.accountFiles(readRootfs(doc, request.bundle));
    const imageGids = grantedGids(files, identity.user.uid);
    return await _judge(subject, settings, seams, {
      pod: classified.pod,
      identity,
      imageGids,
      droppable: new Set(imageGids),
      document: doc,
    });
  }

  const bundle = request.bundle ?? await seams.bundleOf(request.root, request.id);
  const bundleDoc = await _read(seams, `${bundle}/config.json`, "config");
  const subject = {
    container: request.id,
    command: "exec",
    spec: request.processFile ?? bundleDoc.path,
  };
  const classified = _classify(bundleDoc, subject, settings);
  if (classified.decision) return classified.decision;
  const processDoc = request.processFile === undefined
    ? undefined
    : await _read(seams, request.processFile, "process");
  const fileUser = processDoc && readUser(processDoc, { optional: true });
  // A process file's user is applied as it is by every runtime; only the
  // other cases depend on the runtime's rules (crun's on its version).
  const identity = fileUser !== undefined ? processFileIdentity(fileUser) : execIdentity(
    await seams.rules(),
    {
      createUser: readUser(bundleDoc),
      processFile: processDoc && { user: undefined },
      userFlag: request.userFlag,
      gidFlags: request.gidFlags.map((flag) => flag.gid),
    },
  );
  // What the image granted the container's user, as its create read it; for
  // another user, or a container the wrapper did not create, it is not known.
  const record = seams.created.read(request.id, request.root);
  const imageGids = record?.uid === identity.user.uid ? record.imageGids : undefined;
  // runc's -g words come from the exec's caller, not the kubelet: each may go.
  const gidFlags = request.gidFlags.map((flag) => flag.gid);
  return await _judge(subject, settings, seams, {
    pod: classified.pod,
    identity,
    imageGids,
    droppable: imageGids === undefined ? "any" : new Set([...imageGids, ...gidFlags]),
    document: processDoc ?? bundleDoc,
  });
}

/** The decision on a container handed off untouched, or refused unjudged. */
type Unjudged = Extract<Decision, { kind: "unjudged" }>;

/** A container's Pod could not be looked up: the source's error, with the Pod it was for. */
export class PodLookupError extends PodSourceError {
  /** The error class, as `error.name`. */
  override name = "PodLookupError";

  /**
   * Wraps a source's error.
   *
   * @param pod The Pod that was looked up.
   * @param cause The source's error; its message is this error's.
   */
  constructor(readonly pod: PodRef, cause: PodSourceError) {
    super(cause.message, { cause });
  }
}

async function _read(
  seams: DecideSeams,
  path: string,
  kind: "config" | "process",
): Promise<SpecDocument> {
  return parseSpec(await seams.specs.read(path), { path, kind });
}

/** The container's Pod, or the unjudged decision for a sandbox or a non-Kubernetes container. */
function _classify(
  doc: SpecDocument,
  subject: Subject,
  settings: JudgeSettings,
): { pod: PodRef; decision?: undefined } | { decision: Unjudged } {
  const identity = containerIdentity(readAnnotations(doc), settings.annotations);
  if (identity.kind === "container") return { pod: identity.pod };
  const base = { ...subject, mode: settings.mode };
  const unjudged = (record: UnjudgedRecord) => ({
    decision: { kind: "unjudged", record } as const,
  });
  if (identity.kind === "sandbox") {
    return unjudged({ ...base, verdict: "untouched", reason: POD_SANDBOX });
  }
  if (settings.allowNonKubernetes) {
    return unjudged({ ...base, verdict: "untouched", reason: NOT_KUBERNETES });
  }
  return unjudged({
    ...base,
    verdict: "refuse",
    reason: NOT_KUBERNETES,
    cause: "non-kubernetes",
    refusal: `container ${subject.container} has no Kubernetes annotations ` +
      `(${settings.annotations.type}) and allow-non-kubernetes is false`,
  });
}

async function _judge(
  subject: Subject,
  settings: JudgeSettings,
  seams: DecideSeams,
  what: {
    pod: PodRef;
    identity: AppliedIdentity;
    imageGids: readonly number[] | undefined;
    droppable: Droppable;
    document: SpecDocument;
  },
): Promise<Decision> {
  const { pod, identity, droppable } = what;
  const where = { policy: settings.policy, namespace: pod.namespace };
  const answer = podLookupNeeded(identity, droppable, where)
    ? await requirePod(seams.pods, { ...pod, containerId: subject.container }).catch(
      (error: unknown) => {
        throw error instanceof PodSourceError ? new PodLookupError(pod, error) : error;
      },
    )
    : undefined;
  const judgement = judge({
    mode: settings.mode,
    ...where,
    podName: `${pod.namespace}/${pod.name}`,
    identity,
    droppable,
    groups: answer && groupsFor(answer.facts, pod.container),
  });
  return {
    kind: "judged",
    parts: {
      subject,
      mode: settings.mode,
      pod,
      identity,
      imageGids: what.imageGids,
      facts: answer?.facts,
      judgement,
      lookup: answer === undefined
        ? { source: IMAGE_SOURCE, ms: 0 }
        : { source: answer.source, ms: answer.ms, missed: answer.missed },
    },
    document: what.document,
    pass: goUserText(what.document),
  };
}
