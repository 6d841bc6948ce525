import { deepEqual, equal } from "assert";
import { assess, type AssessInput } from "./assess.ts";
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

const input = (overrides: Partial<AssessInput>): AssessInput => ({
  mode: "enforce",
  policy: POLICY,
  namespace: "user-alice",
  podName: "user-alice/app",
  user: { uid: 1000, gid: 1000, additionalGids: [1000, 50000, 60000] },
  groups: { runAsGroup: 1000, supplementalGroups: [60000] },
  ...overrides,
});

Deno.test("assess() enforces: drops the image gid and passes the policy", () => {
  const a = assess(input({}));
  equal(a.refusal, undefined);
  deepEqual(a.decision.after, [1000, 60000]);
  deepEqual(a.violations, []);
  equal(a.rulesSource, "defaults");
});

Deno.test("assess() refuses an image-derived gid 0 when the pod sets no runAsGroup", () => {
  const a = assess(input({
    user: { uid: 1000, gid: 0, additionalGids: [0] },
    groups: { supplementalGroups: [] },
  }));
  equal(
    a.refusal,
    "run-as-group: 0 is not in the allowed ranges [1000-65534] (namespace user-alice)",
  );
});

Deno.test("assess() in audit mode refuses nothing but reports both verdicts", () => {
  const a = assess(
    input({ mode: "audit", user: { uid: 0, gid: 1000, additionalGids: [1000, 50000] } }),
  );
  equal(a.refusal, undefined);
  equal(a.decision.verdict, "audit");
  deepEqual(a.decision.dropped, [50000]);
  deepEqual(a.violations.map((v) => v.field), ["run-as-user"]);
});

Deno.test("assess() in deny mode names the gids and the policy violations together", () => {
  const a = assess(
    input({ mode: "deny", user: { uid: 10, gid: 1000, additionalGids: [1000, 50000] } }),
  );
  equal(
    a.refusal,
    "gids 50000 are not declared by pod user-alice/app (mode deny): declare them in " +
      "securityContext.supplementalGroups or remove them from the image's /etc/group; " +
      "run-as-user: 10 is not in the allowed ranges [1000-65534] (namespace user-alice); " +
      "supplemental-groups: 50000 is not in the allowed ranges [60000] (namespace user-alice)",
  );
});

Deno.test("assess() lets a namespace's extra-gids keep a PV gid the spec does not show", () => {
  const a = assess(input({
    namespace: "storage",
    policy: {
      ...POLICY,
      defaults: { ...POLICY.defaults, supplementalGroups: { rule: "RunAsAny" } },
    },
    user: { uid: 1000, gid: 1000, additionalGids: [1000, 7000] },
  }));
  equal(a.decision.verdict, "unchanged");
  equal(a.rulesSource, "namespaces[0]");
});
