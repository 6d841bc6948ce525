import { deepEqual, equal } from "assert";
import {
  checkIdentity,
  globMatch,
  OPEN_POLICY,
  type Policy,
  type PolicyRules,
  rulesFor,
} from "./policy.ts";

const RANGE = { rule: "MustRunAsRange", ranges: [{ min: 1000, max: 65534 }] } as const;
const MUST = { rule: "MustRunAs", ranges: [{ min: 1000, max: 65534 }] } as const;
const rules = (overrides: Partial<PolicyRules>): PolicyRules => ({
  ...OPEN_POLICY.defaults,
  ...overrides,
});

// The SCC runAsGroup enhancement's examples: 999, 1000, 65534, 65535 against [1000-65534].
const BOUNDARIES: [number, boolean][] = [[999, false], [1000, true], [65534, true], [65535, false]];

for (
  const [field, key] of [
    ["run-as-user", "runAsUser"],
    ["run-as-group", "runAsGroup"],
    ["supplemental-groups", "supplementalGroups"],
    ["fs-group", "fsGroup"],
  ] as const
) {
  for (const rule of [RANGE, MUST]) {
    for (const [value, allowed] of BOUNDARIES) {
      Deno.test(`checkIdentity() ${field} ${rule.rule} ${value} is ${allowed ? "allowed" : "refused"}`, () => {
        const identity = {
          uid: field === "run-as-user" ? value : 1000,
          gid: field === "run-as-group" ? value : 1000,
          additionalGids: field === "supplemental-groups" ? [1000, value] : [1000],
          fsGroup: field === "fs-group" ? value : undefined,
        };
        const violations = checkIdentity(rules({ [key]: rule }), identity, "user-alice");
        deepEqual(
          violations.map((v) => v.message),
          allowed ? [] : [
            `${field}: ${value} is not in the allowed ranges [1000-65534] (namespace user-alice)`,
          ],
        );
      });
    }
  }
}

Deno.test("checkIdentity() MustRunAsNonRoot refuses uid 0 only", () => {
  const nonRoot = rules({ runAsUser: { rule: "MustRunAsNonRoot" } });
  equal(
    checkIdentity(nonRoot, { uid: 0, gid: 0, additionalGids: [] }, "ns")[0]!.message,
    "run-as-user: 0 is root, which MustRunAsNonRoot forbids (namespace ns)",
  );
  deepEqual(checkIdentity(nonRoot, { uid: 1, gid: 0, additionalGids: [] }, "ns"), []);
});

Deno.test("checkIdentity() skips the primary gid and the fsGroup among supplemental groups", () => {
  const strict = rules({
    supplementalGroups: { rule: "MustRunAs", ranges: [{ min: 60000, max: 60000 }] },
  });
  deepEqual(
    checkIdentity(strict, {
      uid: 1000,
      gid: 1000,
      additionalGids: [1000, 60000, 5000],
      fsGroup: 5000,
    }, "ns"),
    [],
  );
  deepEqual(
    checkIdentity(strict, { uid: 1000, gid: 1000, additionalGids: [1000, 4000, 4000] }, "ns").map((
      v,
    ) => v.value),
    [4000],
  );
});

Deno.test("checkIdentity() lists every violation with several ranges", () => {
  const r = rules({
    runAsUser: { rule: "MustRunAs", ranges: [{ min: 1000, max: 2000 }, { min: 5000, max: 5000 }] },
    runAsGroup: RANGE,
  });
  deepEqual(checkIdentity(r, { uid: 0, gid: 0, additionalGids: [] }, "t").map((v) => v.message), [
    "run-as-user: 0 is not in the allowed ranges [1000-2000, 5000] (namespace t)",
    "run-as-group: 0 is not in the allowed ranges [1000-65534] (namespace t)",
  ]);
});

const POLICY: Policy = {
  defaults: rules({ runAsGroup: RANGE, extraGids: [7000] }),
  namespaces: [
    { match: ["kube-system", "infra-*"], rules: { runAsGroup: { rule: "RunAsAny" } } },
    { match: ["infra-db"], rules: { extraGids: [8000] } },
    { match: ["team-?"], rules: { extraGids: [9000] } },
  ],
};

Deno.test("rulesFor() takes the first matching entry and inherits unspecified rules", () => {
  const infra = rulesFor(POLICY, "infra-db");
  equal(infra.source, "namespaces[0]");
  deepEqual(infra.rules.runAsGroup, { rule: "RunAsAny" });
  deepEqual(infra.rules.extraGids, [7000], "the second entry is never reached");
  equal(rulesFor(POLICY, "kube-system").source, "namespaces[0]");
  equal(rulesFor(POLICY, "team-a").rules.extraGids[0], 9000);
  deepEqual(rulesFor(POLICY, "team-a").rules.runAsGroup, RANGE);
  equal(rulesFor(POLICY, "team-ab").source, "defaults");
  equal(rulesFor(POLICY, "user-alice").source, "defaults");
});

Deno.test("globMatch() matches whole names only", () => {
  equal(globMatch("infra-*", "infra-"), true);
  equal(globMatch("infra-*", "xinfra-a"), false);
  equal(globMatch("a.b", "axb"), false);
  equal(globMatch("*", "anything"), true);
});
