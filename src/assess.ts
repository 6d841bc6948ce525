/**
 * One assessment of a process identity: the gid decision and the node
 * policy's verdict together, as pure data. The enforcement path acts on it;
 * `strict-supplementalgroups explain` prints it.
 *
 * @module
 */

import {
  decideGids,
  entitledGids,
  type GidDecision,
  type Mode,
  type PodGroups,
} from "./decision.ts";
import { checkIdentity, type Policy, rulesFor, type Violation } from "./policy.ts";
import type { ProcessUser } from "./spec.ts";

/** What is assessed. */
export interface AssessInput {
  readonly mode: Mode;
  readonly policy: Policy;
  readonly namespace: string;
  /** `namespace/name`, for messages. */
  readonly podName: string;
  readonly user: ProcessUser;
  readonly groups: PodGroups;
}

/** The verdict. */
export interface Assessment {
  readonly decision: GidDecision;
  readonly entitled: ReadonlySet<number>;
  /** Which policy scope applied: `defaults` or `namespaces[i]`. */
  readonly rulesSource: string;
  /** Policy violations of the identity the container would run with. */
  readonly violations: readonly Violation[];
  /** Set when the container must not run: the message for `kubectl describe`. */
  readonly refusal: string | undefined;
}

/**
 * Assesses an identity: which gids it keeps, and whether the result
 * passes the node policy. In `audit` mode nothing is refused; the verdicts
 * say what `enforce` would do.
 *
 * @param input Mode, policy, Pod and identity.
 * @returns The assessment.
 *
 * @example
 * ```ts
 * import { assess } from "./assess.ts";
 * import { OPEN_POLICY } from "./policy.ts";
 * const a = assess({
 *   mode: "deny", policy: OPEN_POLICY, namespace: "ns", podName: "ns/web",
 *   user: { uid: 1000, gid: 1000, additionalGids: [1000, 50000] },
 *   groups: { supplementalGroups: [] },
 * });
 * console.assert(a.refusal?.startsWith("gids 50000 are not declared by pod ns/web") === true);
 * ```
 */
export function assess(input: AssessInput): Assessment {
  const { rules, source } = rulesFor(input.policy, input.namespace);
  const entitled = entitledGids(input.user.gid, { ...input.groups, extraGids: rules.extraGids });
  const decision = decideGids(input.user.additionalGids, entitled, input.mode);
  const violations = checkIdentity(rules, {
    uid: input.user.uid,
    gid: input.user.gid,
    additionalGids: decision.verdict === "deny" ? decision.before : decision.after,
    fsGroup: input.groups.fsGroup,
  }, input.namespace);
  const reasons: string[] = [];
  if (decision.verdict === "deny") {
    reasons.push(
      `gids ${decision.dropped.join(",")} are not declared by pod ${input.podName} (mode deny): ` +
        `declare them in securityContext.supplementalGroups or remove them from the image's ` +
        `/etc/group`,
    );
  }
  if (input.mode !== "audit") reasons.push(...violations.map((v) => v.message));
  return {
    decision,
    entitled,
    rulesSource: source,
    violations,
    refusal: reasons.length > 0 ? reasons.join("; ") : undefined,
  };
}
