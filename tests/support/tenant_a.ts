/**
 * The tenant-a Pod every test and fixture shares, defined once in
 * `tests/testdata/tenant-a-pod.json`: alice (uid and gid 1000) declaring
 * supplementalGroups [60000], so that the gid 50000 her image grants is the
 * one the wrapper drops. The spec fixtures' annotations name this Pod.
 *
 * @module
 */

import type { Pod } from "../../src/pod_source/pod_list.ts";

/** The Pod, as the kubelet's `/pods` lists it. */
export const TENANT_A_POD: Pod & { metadata: { namespace: string; name: string; uid: string } } =
  JSON.parse(await Deno.readTextFile(new URL("../testdata/tenant-a-pod.json", import.meta.url)));

/** Its identity, as the CRI's annotations carry it. */
export const TENANT_A = {
  namespace: TENANT_A_POD.metadata.namespace,
  name: TENANT_A_POD.metadata.name,
  uid: TENANT_A_POD.metadata.uid,
  container: TENANT_A_POD.spec!.containers![0]!.name!,
  image: (TENANT_A_POD.spec!.containers![0] as { image: string }).image,
} as const;

/**
 * The tenant-a image's account files, as the test rootfs (`bundle.ts`
 * makeRootfs) has them: alice (1000) is a member of bypassed-group (50000).
 */
export const TENANT_A_IMAGE = {
  passwd: "root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000:alice:/home/alice:/bin/sh\n",
  group: "root:x:0:\nalice:x:1000:\nbypassed-group:x:50000:alice\n",
} as const;
