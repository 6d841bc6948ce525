/**
 * The kubelet Pod source against the TLS kubelet stand-in (a real HTTPS
 * server that demands the node's client certificate): hit, miss, a replaced
 * Pod, an answer that cannot be a kubelet's, a refused request, and the hook
 * that sees every Pod list.
 */

import { deepEqual, equal, rejects } from "assert";
import { makePki, type Pki } from "../../tests/support/pki.ts";
import { podFixture, startKubelet } from "../../tests/support/kubelet_standin.ts";
import { TENANT_A, TENANT_A_POD } from "../../tests/support/tenant_a.ts";
import { kubeletTestsBlocker } from "../../tests/support/wrapper.ts";
import { DEFAULT_CONFIG, type KubeletSettings } from "../config/config.ts";
import { KubeletError, PodSourceError } from "../core/errors.ts";
import { kubeletSource } from "./kubelet_source.ts";
import type { PodFacts } from "../core/pod_facts.ts";

const blocker = await kubeletTestsBlocker();
if (blocker !== undefined) console.error(`\n*** SKIPPED: kubelet source tests: ${blocker} ***\n`);

let shared: Promise<Pki> | undefined;
let dir: string | undefined;
const pki = () => {
  shared ??= Deno.makeTempDir({ prefix: "ssgcr-source-" }).then((made) => makePki(dir = made));
  return shared;
};
globalThis.addEventListener("unload", () => {
  if (dir !== undefined) Deno.removeSync(dir, { recursive: true });
});

const settings = (p: Pki): KubeletSettings => ({
  ...DEFAULT_CONFIG,
  kubeconfig: p.kubeconfig,
  kubeletCaFile: p.kubeletCrt,
});

const REF = { namespace: TENANT_A.namespace, name: TENANT_A.name, uid: TENANT_A.uid };

function test(name: string, fn: (p: Pki) => Promise<void>): void {
  Deno.test({
    name,
    ignore: blocker !== undefined,
    sanitizeResources: false,
    fn: async () => fn(await pki()),
  });
}

test("kubeletSource() answers the Pod's facts, naming itself", async (p) => {
  const kubelet = await startKubelet(p, [podFixture({ name: "other" }), TENANT_A_POD]);
  try {
    const answer = await kubeletSource(settings(p)).lookup({ ...REF, container: "main" });
    deepEqual(answer, {
      source: "kubelet",
      facts: {
        namespace: "tenant-a",
        name: "app",
        uid: TENANT_A.uid,
        runAsGroup: 1000,
        supplementalGroups: [60000],
        supplementalGroupsPolicy: "Merge",
        containers: [{ name: "main" }],
      },
    });
    equal(kubelet.clients.length, 1, "one request");
  } finally {
    await kubelet.close();
  }
});

test("kubeletSource() misses a Pod the kubelet does not list, and hands every list to onList", async (p) => {
  const kubelet = await startKubelet(p, [podFixture({ name: "other" })]);
  const lists: (readonly PodFacts[])[] = [];
  try {
    const source = kubeletSource(settings(p), { onList: (pods) => void lists.push(pods) });
    equal(await source.lookup(REF), undefined);
    deepEqual(lists.map((pods) => pods.map((pod) => pod.name)), [["other"]]);
  } finally {
    await kubelet.close();
  }
});

test("kubeletSource() fails closed on a replaced Pod and on ids no API server accepts", async (p) => {
  const kubelet = await startKubelet(p, [podFixture({ uid: "a-newer-uid" })]);
  try {
    await rejects(
      kubeletSource(settings(p)).lookup(REF),
      (e: unknown) => e instanceof PodSourceError && /the pod was replaced/.test(e.message),
    );
    kubelet.behaviour.pods = [podFixture({ supplementalGroups: [-1] })];
    await rejects(kubeletSource(settings(p)).lookup(REF), /not a valid group id/);
  } finally {
    await kubelet.close();
  }
});

test("kubeletSource() names the cause of a refused request", async (p) => {
  const kubelet = await startKubelet(p, []);
  try {
    kubelet.behaviour.status = 403;
    kubelet.behaviour.body =
      "Forbidden (user=system:node:n, verb=get, resource=nodes, subresource=pods)";
    await rejects(
      kubeletSource(settings(p)).lookup(REF),
      (e: unknown) =>
        e instanceof KubeletError &&
        /403 Forbidden: the node credential needs RBAC get on nodes\/pods/.test(e.message),
    );
  } finally {
    await kubelet.close();
  }
  await rejects(
    kubeletSource(settings(p)).lookup(REF),
    /connection refused \(is the kubelet running\?\)/,
  );
});
