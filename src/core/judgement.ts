/**
 * The one judgement of an identity: which gids it keeps, whether the result
 * passes the node policy, and what therefore happens. The wrapper acts on
 * its {@linkcode Outcome}; `strict-supplementalgroups explain` prints it;
 * nothing else derives a verdict.
 *
 * @module
 */

import { decideGids, entitledGids, type Mode, type PodGroups } from "./decision.ts";
import type { AppliedIdentity, ProcessUser } from "./identity.ts";
import { checkIdentity, type Policy, rulesFor, type Violation } from "./policy.ts";

/**
 * Which gids of a list the wrapper may take away: KEP-3619's `Strict`
 * keeps every gid the kubelet put in the CRI's config (fsGroup, the Pod's
 * supplementalGroups, PersistentVolume gids) and drops only what the image
 * grants the user.
 *
 * - a set: only these, what the image grants the user (read at the
 *   container's create, or recorded then for its execs);
 * - `any`: any gid the Pod does not entitle, because what the image grants
 *   is not known (an exec into a container whose create left no record, or
 *   as another user), or the gids come from the exec's caller (runc's `-g`).
 */
export type Droppable = ReadonlySet<number> | "any";

/** What is judged. */
export interface JudgeInput {
  /** The configured mode. */
  readonly mode: Mode;
  /** The node policy. */
  readonly policy: Policy;
  /** The Pod's namespace (it selects the policy rules). */
  readonly namespace: string;
  /** `namespace/name`, for messages. */
  readonly podName: string;
  /** The identity the runtime will apply. */
  readonly identity: AppliedIdentity;
  /** Which of its gids may be taken away. */
  readonly droppable: Droppable;
  /**
   * The Pod's group fields for this container; absent when the Pod was not
   * looked up, because {@linkcode podLookupNeeded} said no gid needs them.
   */
  readonly groups?: PodGroups | undefined;
}

/**
 * What happens to the container.
 *
 * - `unchanged`: nothing to drop; it runs as it is.
 * - `rewrite`: the wrapper changes the list to `after`, dropping `dropped`.
 * - `audit`: it runs as it is; enforce would drop `wouldDrop`.
 * - `refuse`: it does not run, for `reasons`.
 */
export type Outcome =
  | { readonly kind: "unchanged" }
  | {
    readonly kind: "rewrite";
    /** The list the process gets. */
    readonly after: readonly number[];
    /** What is taken away. */
    readonly dropped: readonly number[];
  }
  | {
    readonly kind: "audit";
    /** What enforce would take away. */
    readonly wouldDrop: readonly number[];
  }
  | {
    readonly kind: "refuse";
    /** Why, each fit for `kubectl describe`. */
    readonly reasons: readonly string[];
    /** The first reason's kind, for counting refusals. */
    readonly cause: RefusalCause;
  };

/**
 * Why a container was refused, in a few words that can be counted (a
 * metric's label, a report's heading):
 *
 * - `undeclared-gids`: mode deny, and the image grants gids the Pod does not declare;
 * - `created-unchecked`: an exec of a container created with undeclared gids;
 * - `policy`: the identity breaks the node policy;
 * - `non-kubernetes`: no Kubernetes annotations, and `allow-non-kubernetes` is false;
 * - `restore`: a checkpoint restore, and `allow-restore` is false;
 * - `pod-lookup`: no source could tell the Pod's groups;
 * - `spec`: a spec or process file that cannot be judged or rewritten safely;
 * - `usage`: a command line that cannot be understood well enough;
 * - `internal`: anything else.
 */
export type RefusalCause =
  | "undeclared-gids"
  | "created-unchecked"
  | "policy"
  | "non-kubernetes"
  | "restore"
  | "pod-lookup"
  | "spec"
  | "usage"
  | "internal";

/**
 * Whether judging an identity needs the Pod's group fields: when its list
 * holds a gid the wrapper may take away that only the Pod can entitle (not
 * the process's own gid, not a namespace's `extra-gids`), or when the node
 * policy judges the Pod's fsGroup. An image that grants the user no group
 * the list carries, the common case, needs no Pod lookup at all.
 *
 * @param identity The identity the runtime will apply.
 * @param droppable Which of its gids may be taken away.
 * @param where The node policy and the Pod's namespace.
 * @returns Whether the Pod must be looked up.
 *
 * @example
 * ```ts
 * import { equal } from "assert";
 * import { createIdentity } from "./identity.ts";
 * import { podLookupNeeded } from "./judgement.ts";
 * import { OPEN_POLICY } from "./policy.ts";
 *
 * const identity = createIdentity({ uid: 1000, gid: 1000, additionalGids: [1000, 50000, 60000] });
 * const where = { policy: OPEN_POLICY, namespace: "tenant-a" };
 * equal(podLookupNeeded(identity, new Set([50000]), where), true);
 * equal(podLookupNeeded(identity, new Set(), where), false);
 * equal(podLookupNeeded(identity, "any", where), true);
 * ```
 */
export function podLookupNeeded(
  identity: AppliedIdentity,
  droppable: Droppable,
  where: { readonly policy: Policy; readonly namespace: string },
): boolean {
  const { rules } = rulesFor(where.policy, where.namespace);
  if (rules.fsGroup.rule !== "RunAsAny") return true;
  const user = identity.user;
  return _candidates(user, droppable, new Set([user.gid, ...rules.extraGids])).length > 0;
}

/** The gids of a list that may be taken away and that the given set does not keep. */
function _candidates(
  user: ProcessUser,
  droppable: Droppable,
  kept: ReadonlySet<number>,
): number[] {
  return user.additionalGids.filter((gid) =>
    !kept.has(gid) && (droppable === "any" || droppable.has(gid))
  );
}

/** A supplementary gid list as the runtime would apply it, what enforce keeps of it, what it drops. */
export interface GidChange {
  /** As the runtime would apply it. */
  readonly before: readonly number[];
  /** What enforce keeps. */
  readonly after: readonly number[];
  /** What enforce drops. */
  readonly dropped: readonly number[];
}

/** The judgement: the outcome and what it was derived from. */
export interface Judgement {
  /** What happens. */
  readonly outcome: Outcome;
  /** The supplementary gids, before and after. */
  readonly gids: GidChange;
  /** The gids the process may hold, in the order they were collected. */
  readonly entitled: ReadonlySet<number>;
  /** Which policy scope applied: `defaults` or `namespaces[i]`. */
  readonly rulesSource: string;
  /** Policy violations of the identity the process would run with. */
  readonly violations: readonly Violation[];
}

/**
 * Judges an identity: of the gids it may take away (`droppable`), it keeps
 * those the Pod entitles, and checks the result against the node policy.
 * In `audit` mode nothing is refused; the judgement says what `enforce`
 * would do. Gids the wrapper cannot change (an exec's
 * create-time list, which runc re-reads and crun keeps in its state) that
 * the Pod does not entitle refuse the exec: the container did not start
 * through the wrapper.
 *
 * @param input Mode, policy, Pod and identity.
 * @returns The judgement.
 *
 * @example The image's gid is dropped from a create; the kubelet's 60000 stays
 * ```ts
 * import { deepEqual } from "assert";
 * import { createIdentity } from "./identity.ts";
 * import { judge } from "./judgement.ts";
 * import { OPEN_POLICY } from "./policy.ts";
 *
 * const { outcome } = judge({
 *   mode: "enforce", policy: OPEN_POLICY, namespace: "tenant-a", podName: "tenant-a/app",
 *   identity: createIdentity({ uid: 1000, gid: 1000, additionalGids: [1000, 50000, 60000] }),
 *   droppable: new Set([50000]),
 *   groups: { runAsGroup: 1000, supplementalGroups: [60000] },
 * });
 * deepEqual(outcome, { kind: "rewrite", after: [1000, 60000], dropped: [50000] });
 * ```
 *
 * @example Mode deny refuses instead, naming the gids
 * ```ts
 * import { equal } from "assert";
 * import { createIdentity } from "./identity.ts";
 * import { judge } from "./judgement.ts";
 * import { OPEN_POLICY } from "./policy.ts";
 *
 * const { outcome } = judge({
 *   mode: "deny", policy: OPEN_POLICY, namespace: "ns", podName: "ns/web",
 *   identity: createIdentity({ uid: 1000, gid: 1000, additionalGids: [1000, 50000] }),
 *   droppable: new Set([50000]),
 *   groups: { supplementalGroups: [] },
 * });
 * equal(outcome.kind === "refuse" && outcome.reasons[0]?.startsWith("gids 50000 are not"), true);
 * ```
 */
export function judge(input: JudgeInput): Judgement {
  const { identity: { user, fixedGids, rewrite }, mode, droppable } = input;
  const { rules, source } = rulesFor(input.policy, input.namespace);
  const groups = input.groups ?? { supplementalGroups: [] };
  const entitled = entitledGids(user.gid, { ...groups, extraGids: rules.extraGids });
  if (input.groups === undefined && _candidates(user, droppable, entitled).length > 0) {
    throw new Error("judge(): gids the image grants need the Pod's groups, which were not given");
  }
  // Every gid the wrapper may not take away is kept as if entitled.
  const kept = droppable === "any"
    ? entitled
    : new Set([...entitled, ...user.additionalGids.filter((gid) => !droppable.has(gid))]);
  const decision = decideGids(user.additionalGids, kept, mode);
  const fixedDropped = decision.dropped.filter((gid) =>
    user.additionalGids.slice(0, fixedGids).includes(gid)
  );
  const violations = checkIdentity(rules, {
    uid: user.uid,
    gid: user.gid,
    // What the process ends up holding: all of it when nothing is dropped.
    additionalGids: decision.verdict === "deny" || fixedDropped.length > 0
      ? decision.before
      : decision.after,
    fsGroup: groups.fsGroup,
  }, input.namespace);

  const reasons: string[] = [];
  let cause: RefusalCause = "policy";
  if (fixedDropped.length > 0) {
    cause = "created-unchecked";
    reasons.push(
      `the container was created with undeclared gids ${fixedDropped.join(",")} ` +
        `(not through this wrapper?): recreate it`,
    );
  } else if (decision.verdict === "deny") {
    cause = "undeclared-gids";
    reasons.push(
      `gids ${decision.dropped.join(",")} are not declared by pod ${input.podName} (mode deny): ` +
        `declare them in securityContext.supplementalGroups or remove them from the image's ` +
        `/etc/group`,
    );
  }
  reasons.push(...violations.map((v) => v.message));

  const base = { entitled, rulesSource: source, violations };
  const gids = { before: decision.before, after: decision.after, dropped: decision.dropped };
  if (mode !== "audit" && reasons.length > 0) {
    return { ...base, gids, outcome: { kind: "refuse", reasons, cause } };
  }
  if (decision.verdict === "audit") {
    return { ...base, gids, outcome: { kind: "audit", wouldDrop: decision.dropped } };
  }
  // Only duplicates of an unchangeable list: harmless, and nothing to do.
  if (decision.verdict === "unchanged" || rewrite === "none") {
    return {
      ...base,
      gids: { before: decision.before, after: decision.before, dropped: [] },
      outcome: { kind: "unchanged" },
    };
  }
  return {
    ...base,
    gids,
    outcome: { kind: "rewrite", after: decision.after, dropped: decision.dropped },
  };
}
