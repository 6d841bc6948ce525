import { deepEqual, equal, throws } from "assert";
import { PodSourceError } from "../core/errors.ts";
import { groupsFor } from "../core/pod_facts.ts";
import { findPod, type Pod, podFacts } from "./pod_list.ts";

/** The group fields of one container of a Pod, as the wrapper judges them. */
const podGroups = (p: Pod, container: string) => groupsFor(podFacts(p), container);

const pod = (uid: string, securityContext = {}, containers: unknown[] = [{ name: "main" }]): Pod =>
  ({
    metadata: { namespace: "ns", name: "web", uid },
    spec: { securityContext, containers },
  }) as Pod;

Deno.test("findPod() matches namespace, name and uid", () => {
  const pods = [pod("u0"), { metadata: { namespace: "other", name: "web", uid: "u1" } }];
  equal(findPod(pods, { namespace: "ns", name: "web", uid: "u0" }), pods[0]);
  equal(findPod(pods, { namespace: "ns", name: "web" }), pods[0]);
});

Deno.test("findPod() fails closed on a recreated pod with the same name", () => {
  throws(
    () => findPod([pod("new-uid")], { namespace: "ns", name: "web", uid: "old-uid" }),
    (e: unknown) => e instanceof PodSourceError && /has uid new-uid .* uid old-uid/.test(e.message),
  );
});

Deno.test("findPod() picks the uid's Pod while the old one with the same name is still listed", () => {
  const old = pod("old-uid", { supplementalGroups: [50000] });
  const replacement = pod("new-uid", { supplementalGroups: [4000] });
  equal(findPod([old, replacement], { namespace: "ns", name: "web", uid: "new-uid" }), replacement);
  equal(findPod([old, replacement], { namespace: "ns", name: "web", uid: "old-uid" }), old);
});

Deno.test("findPod() refuses a name listed twice when there is no uid to choose by", () => {
  throws(
    () => findPod([pod("a"), pod("b")], { namespace: "ns", name: "web" }),
    (e: unknown) =>
      e instanceof PodSourceError &&
      /listed 2 times \(uids a, b\) and the CRI gave no uid/.test(e.message),
  );
  throws(
    () => findPod([pod("a"), pod("a")], { namespace: "ns", name: "web", uid: "a" }),
    /with uid a is listed 2 times/,
  );
});

Deno.test("findPod() answers a miss when the pod is not listed (the sources then decide)", () => {
  equal(findPod([], { namespace: "ns", name: "web" }), undefined);
  equal(findPod([pod("u0")], { namespace: "ns", name: "other" }), undefined);
});

Deno.test("podGroups() applies a container-level runAsGroup over the pod's", () => {
  const p = pod("u", { runAsGroup: 3000, supplementalGroups: [4000], fsGroup: 5000 }, [
    { name: "main", securityContext: { runAsGroup: 6000 } },
    { name: "side" },
  ]);
  deepEqual(podGroups(p, "main"), { runAsGroup: 6000, supplementalGroups: [4000], fsGroup: 5000 });
  deepEqual(podGroups(p, "side"), { runAsGroup: 3000, supplementalGroups: [4000], fsGroup: 5000 });
});

Deno.test("podGroups() finds init and ephemeral containers", () => {
  const p = {
    metadata: { namespace: "ns", name: "web" },
    spec: {
      initContainers: [{ name: "init", securityContext: { runAsGroup: 1 } }],
      ephemeralContainers: [{ name: "debugger", securityContext: { runAsGroup: 2 } }],
    },
  } as Pod;
  equal(podGroups(p, "init").runAsGroup, 1);
  equal(podGroups(p, "debugger").runAsGroup, 2);
});

Deno.test("podGroups() fails closed on an unknown container or invalid ids", () => {
  throws(() => podGroups(pod("u"), "nope"), /has no container nope/);
  throws(() => podGroups(pod("u", { supplementalGroups: [-1] }), "main"), /not a valid group id/);
  throws(() => podGroups(pod("u", { supplementalGroups: [null] }), "main"), /not a valid group id/);
  throws(() => podGroups(pod("u", { fsGroup: "5" }), "main"), /not a valid group id/);
  throws(() => podGroups(pod("u", { supplementalGroups: 5 }), "main"), /not a list/);
});

Deno.test("podFacts() takes supplementalGroupsPolicy, Merge when unset", () => {
  equal(podFacts(pod("u")).supplementalGroupsPolicy, "Merge");
  equal(
    podFacts(pod("u", { supplementalGroupsPolicy: "Strict" })).supplementalGroupsPolicy,
    "Strict",
  );
});
