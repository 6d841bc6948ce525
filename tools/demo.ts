/**
 * `make demo`: the bypass and its closing on a real runc container.
 *
 * A Pod declares runAsUser 1000, runAsGroup 1000, supplementalGroups
 * [60000]. Its image's /etc/group makes alice (1000) a member of gid 50000,
 * so the CRI computes additionalGids [1000, 50000, 60000]. Bare runc runs
 * `id` with 50000; the wrapper, asking a kubelet (an HTTPS stand-in that
 * demands the node's client certificate), drops it.
 *
 * The wrapper runs on its embedded defaults; the demo's config only points
 * the node paths (kubeconfig, kubelet CA, log) at the demo's own files.
 *
 * @module
 */

import { containerdAnnotations, makeBundle, makeRootfs } from "../tests/support/bundle.ts";
import { alicePod, startKubelet } from "../tests/support/kubelet_standin.ts";
import { makePki } from "../tests/support/pki.ts";
import { decisions, rootTestsBlocker, runWrapper, writeConfig } from "../tests/support/wrapper.ts";
import { decideGids, entitledGids } from "../src/core/decision.ts";

const POD = alicePod();
const CRI_GIDS = [1000, 50000, 60000];

const blocker = await rootTestsBlocker();
if (blocker !== undefined) {
  console.log(`demo: cannot run containers here (${blocker}); showing the decision only.\n`);
  const decision = decideGids(
    CRI_GIDS,
    entitledGids(1000, { runAsGroup: 1000, supplementalGroups: [60000] }),
    "enforce",
  );
  console.log(`CRI additionalGids: ${JSON.stringify(CRI_GIDS)}`);
  console.log(`decision:           ${JSON.stringify(decision)}`);
  Deno.exit(0);
}

const dir = await Deno.makeTempDir({ prefix: "ssgcr-demo-" });
await Deno.mkdir(`${dir}/pki`);
const pki = await makePki(`${dir}/pki`);
const kubelet = await startKubelet(pki, [POD]);
try {
  const config = await writeConfig(dir, pki);
  const rootfs = await makeRootfs(dir);
  const annotations = containerdAnnotations();
  await makeBundle(`${dir}/before`, { rootfs, annotations });
  await makeBundle(`${dir}/after`, { rootfs, annotations });

  console.log("Pod tenant-a/app: runAsUser 1000, runAsGroup 1000, supplementalGroups [60000]");
  console.log("image /etc/group: bypassed-group:x:50000:alice");
  console.log(`CRI-computed additionalGids: ${JSON.stringify(CRI_GIDS)}\n`);

  const bare = await runWrapper(["run", "demo-before"], { cwd: `${dir}/before`, program: "runc" });
  console.log(`bare runc:            ${bare.stdout.trim() || bare.stderr.trim()}`);
  const wrapped = await runWrapper(["run", "demo-after"], { cwd: `${dir}/after`, config });
  console.log(`through the wrapper:  ${wrapped.stdout.trim() || wrapped.stderr.trim()}\n`);
  console.log("the wrapper's decision record:");
  for (const line of await decisions(dir)) console.log(JSON.stringify(line));
  if (bare.code !== 0 || wrapped.code !== 0 || wrapped.stdout.includes("50000")) {
    console.error("\ndemo: unexpected result");
    Deno.exitCode = 1;
  }
} finally {
  await kubelet.close();
  for (const id of ["demo-before", "demo-after"]) {
    await new Deno.Command("runc", { args: ["delete", "--force", id], stderr: "null" }).output();
  }
  await Deno.remove(dir, { recursive: true });
}
