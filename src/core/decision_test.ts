import { deepEqual, equal } from "assert";
import { decideGids, entitledGids, type Mode, type PodGroups } from "./decision.ts";

const T: [string, number[], number, PodGroups, Mode, string, number[], number[]][] = [
  // name, CRI gids, primary gid, pod groups, mode, verdict, after, dropped
  [
    "keeps an image gid the pod declares (original e2e 1)",
    [1000, 50000],
    1000,
    { runAsGroup: 1000, supplementalGroups: [50000], fsGroup: 50000 },
    "enforce",
    "unchanged",
    [1000, 50000],
    [],
  ],
  [
    "drops an image gid the pod does not declare (original e2e 2)",
    [1000, 50000, 50001, 50002],
    1000,
    { runAsGroup: 1000, supplementalGroups: [50001], fsGroup: 50002 },
    "enforce",
    "rewrite",
    [1000, 50001, 50002],
    [50000],
  ],
  [
    "leaves the KEP example with groups 3000,4000",
    [3000, 4000, 50000],
    3000,
    { runAsGroup: 3000, supplementalGroups: [4000] },
    "enforce",
    "rewrite",
    [3000, 4000],
    [50000],
  ],
  [
    "honours a container-level runAsGroup (already applied)",
    [2000, 50000],
    2000,
    { runAsGroup: 2000, supplementalGroups: [] },
    "enforce",
    "rewrite",
    [2000],
    [50000],
  ],
  [
    "needs no fsGroup",
    [1000, 60000],
    1000,
    { supplementalGroups: [60000] },
    "enforce",
    "unchanged",
    [1000, 60000],
    [],
  ],
  [
    "removes duplicates, keeping the first",
    [1000, 60000, 1000, 60000],
    1000,
    { supplementalGroups: [60000] },
    "enforce",
    "rewrite",
    [1000, 60000],
    [],
  ],
  ["accepts an empty list", [], 1000, { supplementalGroups: [] }, "enforce", "unchanged", [], []],
  [
    "keeps the CRI's order",
    [60000, 1000, 50000, 4000],
    1000,
    { supplementalGroups: [4000, 60000] },
    "enforce",
    "rewrite",
    [60000, 1000, 4000],
    [50000],
  ],
  [
    "only records in audit mode",
    [1000, 50000],
    1000,
    { supplementalGroups: [] },
    "audit",
    "audit",
    [1000],
    [50000],
  ],
  [
    "refuses in deny mode",
    [1000, 50000],
    1000,
    { supplementalGroups: [] },
    "deny",
    "deny",
    [1000],
    [50000],
  ],
  [
    "still dedupes in deny mode without refusing",
    [1000, 1000],
    1000,
    { supplementalGroups: [] },
    "deny",
    "rewrite",
    [1000],
    [],
  ],
  [
    "grants node-policy extra gids",
    [1000, 7000],
    1000,
    { supplementalGroups: [], extraGids: [7000] },
    "enforce",
    "unchanged",
    [1000, 7000],
    [],
  ],
  [
    "lists a dropped gid once",
    [1000, 50000, 50000],
    1000,
    { supplementalGroups: [] },
    "enforce",
    "rewrite",
    [1000],
    [50000],
  ],
];

for (const [name, before, primary, pod, mode, verdict, after, dropped] of T) {
  Deno.test(`decideGids() ${name}`, () => {
    const decision = decideGids(before, entitledGids(primary, pod), mode);
    equal(decision.verdict, verdict);
    deepEqual(decision.after, after);
    deepEqual(decision.dropped, dropped);
    deepEqual(decision.before, before);
  });
}

Deno.test("entitledGids() is the Strict set: primary ∪ runAsGroup ∪ supplementalGroups ∪ fsGroup", () => {
  deepEqual(
    [...entitledGids(10, { runAsGroup: 20, supplementalGroups: [30, 40], fsGroup: 50 })],
    [10, 20, 30, 40, 50],
  );
});
