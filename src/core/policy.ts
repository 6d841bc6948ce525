/**
 * The node's identity policy: OpenShift SCC strategies (openshift/apiserver-
 * library-go pkg/securitycontextconstraints, `MustRunAs`, `MustRunAsRange`,
 * `MustRunAsNonRoot`, `RunAsAny`) applied to the *effective* identity in the
 * OCI spec, which admission control cannot see when the image supplies it.
 * Pure: rules in, verdicts out. docs/policy.md describes it for operators.
 *
 * @module
 */

/** An inclusive id range. */
export interface IdRange {
  /** The smallest id allowed. */
  readonly min: number;
  /** The largest id allowed. */
  readonly max: number;
}

/** One SCC-style strategy. */
export type Rule =
  | { readonly rule: "RunAsAny" }
  | { readonly rule: "MustRunAsNonRoot" }
  | {
    readonly rule: "MustRunAs" | "MustRunAsRange";
    /** The allowed ids. */
    readonly ranges: readonly IdRange[];
  };

/** The rules for one scope (the defaults, or a namespace entry). */
export interface PolicyRules {
  /** The rule for the process uid. */
  readonly runAsUser: Rule;
  /** The rule for the process's primary gid. */
  readonly runAsGroup: Rule;
  /** The rule for each supplementary gid. */
  readonly supplementalGroups: Rule;
  /** The rule for the Pod's fsGroup. */
  readonly fsGroup: Rule;
  /** Gids a Pod may keep although its spec does not name them (PV gid annotations). */
  readonly extraGids: readonly number[];
}

/** A namespace entry: glob patterns and the rules it sets (the rest inherit the defaults). */
export interface NamespacePolicy {
  /** Namespace globs (`*`, `?`). */
  readonly match: readonly string[];
  /** The rules it sets. */
  readonly rules: Partial<PolicyRules>;
}

/** The whole policy. */
export interface Policy {
  /** The rules where no namespace entry matches, and what entries inherit. */
  readonly defaults: PolicyRules;
  /** Namespace entries, first match wins. */
  readonly namespaces: readonly NamespacePolicy[];
}

/** A field that breaks its rule. */
export interface Violation {
  /** The policy key the value breaks. */
  readonly field: "run-as-user" | "run-as-group" | "supplemental-groups" | "fs-group";
  /** The offending id. */
  readonly value: number;
  /** The message, in the SCC style. */
  readonly message: string;
}

/** The identity to check. */
export interface EffectiveIdentity {
  /** The process uid. */
  readonly uid: number;
  /** The process's primary gid. */
  readonly gid: number;
  /** The final additionalGids (after enforcement). */
  readonly additionalGids: readonly number[];
  /** The Pod's fsGroup, when set. */
  readonly fsGroup?: number | undefined;
}

const ANY: Rule = { rule: "RunAsAny" };

/** The policy that allows every identity (an absent rule is RunAsAny). */
export const OPEN_POLICY: Policy = {
  defaults: {
    runAsUser: ANY,
    runAsGroup: ANY,
    supplementalGroups: ANY,
    fsGroup: ANY,
    extraGids: [],
  },
  namespaces: [],
};

/**
 * The rules that apply in a namespace: the first entry whose glob matches,
 * over the defaults.
 *
 * @param policy The policy.
 * @param namespace The Pod's namespace.
 * @returns The rules and where they come from (`defaults` or `namespaces[i]`).
 *
 * @example The first matching entry, over the defaults
 * ```ts
 * import { deepEqual, equal } from "assert";
 * import { OPEN_POLICY, rulesFor } from "./policy.ts";
 *
 * const policy = { ...OPEN_POLICY, namespaces: [{ match: ["infra-*"], rules: { extraGids: [7] } }] };
 * equal(rulesFor(policy, "infra-db").source, "namespaces[0]");
 * deepEqual(rulesFor(policy, "infra-db").rules.extraGids, [7]);
 * equal(rulesFor(policy, "tenant").source, "defaults");
 * ```
 */
export function rulesFor(
  policy: Policy,
  namespace: string,
): { rules: PolicyRules; source: string } {
  const index = policy.namespaces.findIndex((entry) =>
    entry.match.some((pattern) => globMatch(pattern, namespace))
  );
  if (index < 0) return { rules: policy.defaults, source: "defaults" };
  return {
    rules: { ...policy.defaults, ...policy.namespaces[index]!.rules },
    source: `namespaces[${index}]`,
  };
}

/**
 * Checks an identity against rules.
 *
 * run-as-user checks the uid, run-as-group the primary gid,
 * supplemental-groups every final supplementary gid except the primary gid
 * and the Pod's fsGroup, fs-group the Pod's fsGroup when set.
 *
 * @param rules The rules in force.
 * @param identity The effective identity.
 * @param namespace For messages.
 * @returns Every violation (empty when allowed).
 *
 * @example An image-supplied primary gid outside the namespace's range
 * ```ts
 * import { deepEqual } from "assert";
 * import { checkIdentity, OPEN_POLICY, type PolicyRules } from "./policy.ts";
 *
 * const rules: PolicyRules = {
 *   ...OPEN_POLICY.defaults,
 *   runAsGroup: { rule: "MustRunAsRange", ranges: [{ min: 1000, max: 65534 }] },
 * };
 * deepEqual(checkIdentity(rules, { uid: 1000, gid: 999, additionalGids: [] }, "user-alice"), [{
 *   field: "run-as-group",
 *   value: 999,
 *   message: "run-as-group: 999 is not in the allowed ranges [1000-65534] (namespace user-alice)",
 * }]);
 * ```
 */
export function checkIdentity(
  rules: PolicyRules,
  identity: EffectiveIdentity,
  namespace: string,
): Violation[] {
  const violations: Violation[] = [];
  const check = (field: Violation["field"], rule: Rule, value: number) => {
    const message = _violation(rule, value);
    if (message !== undefined) {
      violations.push({ field, value, message: `${field}: ${message} (namespace ${namespace})` });
    }
  };
  check("run-as-user", rules.runAsUser, identity.uid);
  check("run-as-group", rules.runAsGroup, identity.gid);
  const seen = new Set<number>();
  for (const gid of identity.additionalGids) {
    if (gid === identity.gid || gid === identity.fsGroup || seen.has(gid)) continue;
    seen.add(gid);
    check("supplemental-groups", rules.supplementalGroups, gid);
  }
  if (identity.fsGroup !== undefined) check("fs-group", rules.fsGroup, identity.fsGroup);
  return violations;
}

/**
 * Shell-style glob matching of a namespace (`*` any run, `?` one character).
 *
 * @param pattern The glob.
 * @param text The namespace.
 * @returns Whether it matches the whole namespace.
 *
 * @example
 * ```ts
 * import { equal } from "assert";
 * import { globMatch } from "./policy.ts";
 *
 * equal(globMatch("tenant-?", "tenant-a"), true);
 * equal(globMatch("tenant-*", "tenant"), false);
 * ```
 */
export function globMatch(pattern: string, text: string): boolean {
  const regex = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replaceAll("*", ".*").replaceAll(
    "?",
    ".",
  );
  return new RegExp(`^${regex}$`).test(text);
}

/**
 * Renders ranges the way SCC messages do: `[1000-65534, 70000]`.
 *
 * @param ranges The ranges.
 * @returns The text.
 *
 * @example
 * ```ts
 * import { equal } from "assert";
 * import { formatRanges } from "./policy.ts";
 *
 * equal(formatRanges([{ min: 1000, max: 65534 }, { min: 70000, max: 70000 }]), "[1000-65534, 70000]");
 * ```
 */
export function formatRanges(ranges: readonly IdRange[]): string {
  return `[${ranges.map((r) => r.min === r.max ? `${r.min}` : `${r.min}-${r.max}`).join(", ")}]`;
}

function _violation(rule: Rule, value: number): string | undefined {
  switch (rule.rule) {
    case "RunAsAny":
      return undefined;
    case "MustRunAsNonRoot":
      return value === 0 ? "0 is root, which MustRunAsNonRoot forbids" : undefined;
    default:
      return rule.ranges.some((r) => value >= r.min && value <= r.max)
        ? undefined
        : `${value} is not in the allowed ranges ${formatRanges(rule.ranges)}`;
  }
}
