import { deepEqual, equal, throws } from "assert";
import { type AppliedIdentity, createIdentity, type ProcessUser } from "./identity.ts";
import { judge, type JudgeInput, type Outcome, podLookupNeeded } from "./judgement.ts";
import { OPEN_POLICY, type Policy } from "./policy.ts";

const POLICY: Policy = {
  defaults: {
    ...OPEN_POLICY.defaults,
    runAsUser: { rule: "MustRunAsRange", ranges: [{ min: 1000, max: 65534 }] },
    runAsGroup: { rule: "MustRunAsRange", ranges: [{ min: 1000, max: 65534 }] },
    supplementalGroups: { rule: "MustRunAs", ranges: [{ min: 60000, max: 60000 }] },
  },
  namespaces: [{ match: ["storage"], rules: { extraGids: [7000] } }],
};

const input = (
  { user, ...overrides }: Partial<JudgeInput> & { user?: ProcessUser },
): JudgeInput => ({
  mode: "enforce",
  policy: POLICY,
  namespace: "user-alice",
  podName: "user-alice/app",
  identity: createIdentity(user ?? { uid: 1000, gid: 1000, additionalGids: [1000, 50000, 60000] }),
  droppable: "any",
  groups: { runAsGroup: 1000, supplementalGroups: [60000] },
  ...overrides,
});

/** An exec's identity whose first `fixed` gids come from the create-time spec. */
const inherited = (
  additionalGids: number[],
  fixed: number,
  rewrite: AppliedIdentity["rewrite"],
): AppliedIdentity => ({
  user: { uid: 1000, gid: 1000, additionalGids },
  from: "create-time spec",
  fixedGids: fixed,
  rewrite,
});

/** The refusal message of an outcome, as the wrapper reports it. */
const refusal = (outcome: Outcome) =>
  outcome.kind === "refuse" ? outcome.reasons.join("; ") : undefined;

Deno.test("judge() enforces: drops the image gid and passes the policy", () => {
  const a = judge(input({}));
  equal(refusal(a.outcome), undefined);
  deepEqual(a.gids.after, [1000, 60000]);
  deepEqual(a.violations, []);
  equal(a.rulesSource, "defaults");
});

Deno.test("judge() refuses an image-derived gid 0 when the pod sets no runAsGroup", () => {
  const a = judge(input({
    user: { uid: 1000, gid: 0, additionalGids: [0] },
    groups: { supplementalGroups: [] },
  }));
  equal(
    refusal(a.outcome),
    "run-as-group: 0 is not in the allowed ranges [1000-65534] (namespace user-alice)",
  );
  equal(a.outcome.kind === "refuse" && a.outcome.cause, "policy");
});

Deno.test("judge() in audit mode refuses nothing but reports both verdicts", () => {
  const a = judge(
    input({ mode: "audit", user: { uid: 0, gid: 1000, additionalGids: [1000, 50000] } }),
  );
  equal(refusal(a.outcome), undefined);
  deepEqual(a.outcome, { kind: "audit", wouldDrop: [50000] });
  deepEqual(a.gids.dropped, [50000]);
  deepEqual(a.violations.map((v) => v.field), ["run-as-user"]);
});

Deno.test("judge() in deny mode names the gids and the policy violations together", () => {
  const a = judge(
    input({ mode: "deny", user: { uid: 10, gid: 1000, additionalGids: [1000, 50000] } }),
  );
  equal(
    refusal(a.outcome),
    "gids 50000 are not declared by pod user-alice/app (mode deny): declare them in " +
      "securityContext.supplementalGroups or remove them from the image's /etc/group; " +
      "run-as-user: 10 is not in the allowed ranges [1000-65534] (namespace user-alice); " +
      "supplemental-groups: 50000 is not in the allowed ranges [60000] (namespace user-alice)",
  );
  equal(a.outcome.kind === "refuse" && a.outcome.cause, "undeclared-gids");
});

Deno.test("judge() lets a namespace's extra-gids keep a PV gid the spec does not show", () => {
  const a = judge(input({
    namespace: "storage",
    policy: {
      ...POLICY,
      defaults: { ...POLICY.defaults, supplementalGroups: { rule: "RunAsAny" } },
    },
    user: { uid: 1000, gid: 1000, additionalGids: [1000, 7000] },
  }));
  equal(a.outcome.kind, "unchanged");
  equal(a.rulesSource, "namespaces[0]");
});

Deno.test("judge() refuses an exec whose unchangeable create-time gids are not the Pod's", () => {
  const a = judge(input({
    identity: inherited([1000, 50000, 60000], 3, "gid-flags"),
  }));
  deepEqual(a.outcome, {
    kind: "refuse",
    reasons: [
      "the container was created with undeclared gids 50000 (not through this wrapper?): " +
      "recreate it",
      "supplemental-groups: 50000 is not in the allowed ranges [60000] (namespace user-alice)",
    ],
    cause: "created-unchecked",
  });
  const identity = inherited([1000, 50000], 2, "none");
  deepEqual(judge(input({ mode: "audit", identity })).outcome, {
    kind: "audit",
    wouldDrop: [50000],
  });
});

Deno.test("judge() drops only the appended gids it may drop, and leaves a duplicated fixed list be", () => {
  const appended = judge(input({
    identity: inherited([1000, 60000, 50000], 2, "gid-flags"),
  }));
  deepEqual(appended.outcome, { kind: "rewrite", after: [1000, 60000], dropped: [50000] });
  const duplicated = judge(input({
    identity: inherited([1000, 1000, 60000], 3, "none"),
  }));
  deepEqual(duplicated.outcome, { kind: "unchanged" });
  deepEqual(duplicated.gids, {
    before: [1000, 1000, 60000],
    after: [1000, 1000, 60000],
    dropped: [],
  });
});

Deno.test("judge() drops only what the image grants: a PersistentVolume's gid the Pod spec does not show stays", () => {
  const open = { ...POLICY, defaults: OPEN_POLICY.defaults };
  const a = judge(input({
    policy: open,
    user: { uid: 1000, gid: 1000, additionalGids: [1000, 50000, 60000, 61000] },
    droppable: new Set([50000]),
  }));
  deepEqual(a.outcome, { kind: "rewrite", after: [1000, 60000, 61000], dropped: [50000] });
  // The image's gid, declared by the Pod, stays too.
  const declared = judge(input({
    policy: open,
    user: { uid: 1000, gid: 1000, additionalGids: [1000, 50000, 61000] },
    droppable: new Set([50000]),
    groups: { supplementalGroups: [50000] },
  }));
  equal(declared.outcome.kind, "unchanged");
});

Deno.test("judge() needs no Pod when the image grants nothing the list holds", () => {
  const open = { ...POLICY, defaults: OPEN_POLICY.defaults };
  const a = judge(input({
    policy: open,
    user: { uid: 2000, gid: 2000, additionalGids: [2000, 60000, 61000] },
    droppable: new Set([50000]),
    groups: undefined,
  }));
  deepEqual(a.outcome, { kind: "unchanged" });
  deepEqual([...a.entitled], [2000]);
});

Deno.test("judge() will not drop what the image grants without the Pod's groups", () => {
  throws(
    () => judge(input({ droppable: new Set([50000]), groups: undefined })),
    /need the Pod's groups/,
  );
});

Deno.test("podLookupNeeded(): only for a droppable gid only the Pod can entitle, or an fs-group rule", () => {
  const where = { policy: POLICY, namespace: "user-alice" };
  const user = (additionalGids: number[]) =>
    createIdentity({ uid: 1000, gid: 1000, additionalGids });
  equal(podLookupNeeded(user([1000, 60000]), new Set([50000]), where), false);
  equal(podLookupNeeded(user([1000, 50000]), new Set([50000]), where), true);
  // The process's own gid, granted by the image too, is entitled without the Pod.
  equal(podLookupNeeded(user([1000]), new Set([1000]), where), false);
  // A namespace's extra-gids need no Pod either.
  const storage = { policy: POLICY, namespace: "storage" };
  equal(podLookupNeeded(user([1000, 7000]), new Set([7000]), storage), false);
  equal(podLookupNeeded(user([1000, 60000]), "any", where), true);
  equal(podLookupNeeded(user([1000]), "any", where), false);
  const fsGroupRule = {
    policy: {
      ...POLICY,
      defaults: {
        ...POLICY.defaults,
        fsGroup: { rule: "MustRunAs" as const, ranges: [{ min: 1, max: 9 }] },
      },
    },
    namespace: "user-alice",
  };
  equal(podLookupNeeded(user([1000]), new Set(), fsGroupRule), true);
});
