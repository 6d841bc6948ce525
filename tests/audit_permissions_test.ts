/**
 * What the shipped wrapper touches, as Deno itself records it
 * (`DENO_AUDIT_PERMISSIONS`, one line per permission check, granted or
 * denied): a create reads its config, the bundle's spec and the node's
 * credentials, asks the kubelet, writes the spec, its own log and its
 * node-local state (the Pod cache, the pass-through record), and nothing
 * else; it never reads the container's rootfs. A pass-through command reads
 * only the config and its pass-through record; a refusal adds only the
 * caller's --log.
 */

// Strict comparisons: Deno 2.9's named equal/deepEqual of node:assert/strict are loose.
import { deepStrictEqual as deepEqual, strictEqual as equal } from "assert";
import { DEFAULT_CONFIG } from "../src/config/config.ts";
import { TEMP_TAG } from "../src/spec/atomic_write.ts";
import { containerdAnnotations, makeBundle } from "./support/bundle.ts";
import { startCri, tenantAContainerInfo } from "./support/cri_standin.ts";
import { defaultSocketBlocker, useDefaultSocket } from "./support/host.ts";
import { alicePod, startKubelet } from "./support/kubelet_standin.ts";
import { TENANT_A } from "./support/tenant_a.ts";
import {
  announceRootTestsBlocker,
  type AuditRecord,
  readAudit,
  runcDelete,
  runcStatus,
  runWrapper,
  spawnWrapper,
  writeConfig,
} from "./support/wrapper.ts";
import { makeWorld, type World } from "./support/world.ts";

const blocker = await announceRootTestsBlocker("permission audit tests");
const criBlocker = blocker ?? await defaultSocketBlocker();
if (criBlocker !== undefined && blocker === undefined) {
  console.error(`\n*** SKIPPED: permission audit with the CRI source: ${criBlocker} ***\n`);
}

/** The environment variables the wrapper may look at (its permission set's `env`). */
const ENV = ["STRICT_SUPPLEMENTALGROUPS_CONFIG", "LD_PRELOAD", "LD_LIBRARY_PATH", "PATH"];

/**
 * What keeping the node-local state under `stateDir` may touch: its
 * directories and their ancestors below `/` (created and checked for
 * trust), the pass-through record, and the entries of the Pod cache (by
 * Pod uid) or of the container cache (by container id).
 */
function stateAccesses(
  stateDir: string,
  entries: {
    pods?: readonly string[];
    containers?: readonly string[];
    creates?: readonly string[];
  } = {},
): string[] {
  const dirs = [
    stateDir,
    ...entries.pods ? [`${stateDir}/pods`] : [],
    ...entries.containers ? [`${stateDir}/containers`] : [],
    ...entries.creates ? [`${stateDir}/creates`] : [],
  ];
  const parts = stateDir.split("/").filter(Boolean);
  const ancestors = parts.map((_, i) => `/${parts.slice(0, i + 1).join("/")}`);
  const file = (path: string) => {
    const slash = path.lastIndexOf("/");
    const temp = `${path.slice(0, slash)}/.${path.slice(slash + 1)}.${TEMP_TAG}-N`;
    return [`read ${path}`, `write ${path}`, `read ${temp}`, `write ${temp}`];
  };
  return [
    ...ancestors.map((path) => `read ${path}`),
    ...dirs.flatMap((path) => [`read ${path}`, `write ${path}`]),
    ...file(`${stateDir}/runtime`),
    ...(entries.pods ?? []).flatMap((uid) => file(`${stateDir}/pods/${uid}.json`)),
    ...(entries.containers ?? []).flatMap((id) => file(`${stateDir}/containers/${id}.json`)),
    ...(entries.creates ?? []).flatMap((id) => file(`${stateDir}/creates/${id}`)),
  ];
}

/** `permission value` for a record, with the random part of temp-file names blanked. */
function key(record: AuditRecord): string {
  const value = (record.value ?? "").replace(new RegExp(`(${TEMP_TAG})-\\d+$`), "$1-N");
  return `${record.permission} ${value}`;
}

interface Expectation {
  /** Every record must be one of these. */
  allowed: string[];
  /** Each of these must be among the records. */
  required: string[];
}

/** What a create reads of the container's rootfs: the image's account files, nothing else. */
function imageReads(rootfs: string): string[] {
  return [`read ${rootfs}/etc`, `read ${rootfs}/etc/passwd`, `read ${rootfs}/etc/group`];
}

function assertOnly(records: AuditRecord[], expectation: Expectation, rootfs: string): void {
  const seen = new Set(records.map(key));
  const unexpected = [...seen].filter((k) => !expectation.allowed.includes(k));
  deepEqual(unexpected, [], "nothing outside the expected accesses");
  deepEqual(expectation.required.filter((k) => !seen.has(k)), [], "the expected accesses");
  const inRootfs = records.filter((r) => (r.value ?? "").startsWith(`${rootfs}/`)).map(key);
  deepEqual(
    inRootfs.filter((k) => !imageReads(rootfs).includes(k)),
    [],
    "of the rootfs, only the image's /etc/passwd and /etc/group are read",
  );
}

Deno.test({
  name: "a create, a pass-through and a refusal touch only the paths and the host they must",
  ignore: blocker !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const w: World = await makeWorld("ssgcr-audit-");
    const bundle = `${w.dir}/bundle`;
    await makeBundle(bundle, {
      rootfs: w.rootfs,
      args: ["sleep", "60"],
      annotations: containerdAnnotations(),
    });
    const { pki, dir } = w;
    const id = `ssgcr-audit-${Deno.pid}`;
    const kubelet = await startKubelet(pki, [
      alicePod(),
    ]);
    const env = ENV.map((name) => `env ${name}`);
    const credentials = [
      `read ${pki.kubeletCrt}`,
      `read ${pki.kubeconfig}`,
      `read ${pki.clientPem}`,
      "sys hostname",
      "net 127.0.0.1:10250",
    ];
    const decisionLog = [
      `write ${dir}/wrapper.log.lock`,
      `read ${dir}/wrapper.log`,
      `write ${dir}/wrapper.log`,
    ];
    let checked = 0;
    try {
      // 1. A create that rewrites the spec and hands off to runc.
      const createAudit = `${dir}/create.audit.jsonl`;
      const create = spawnWrapper(["--root", w.root, "create", "--bundle", bundle, id], {
        config: w.config,
        env: { DENO_AUDIT_PERMISSIONS: createAudit },
      });
      equal((await create.status).code, 0);
      equal(await runcStatus(w.root, id), "created");
      const temp = `${bundle}/.config.json.${TEMP_TAG}-N`;
      const created = await readAudit(createAudit);
      assertOnly(created, {
        allowed: [
          ...env,
          `read ${w.config}`,
          `read ${bundle}/config.json`,
          ...credentials,
          ...decisionLog,
          `read ${temp}`,
          `write ${temp}`,
          `write ${bundle}/config.json`,
          `read ${bundle}`,
          // Whether containerd's socket is there (the config points at none).
          `read ${dir}/no-containerd.sock`,
          ...imageReads(w.rootfs),
          ...stateAccesses(`${dir}/state`, { pods: [TENANT_A.uid], creates: [id] }),
        ],
        required: [
          `read ${w.config}`,
          `read ${bundle}/config.json`,
          `read ${w.rootfs}/etc/passwd`,
          `read ${w.rootfs}/etc/group`,
          ...credentials,
          `write ${dir}/wrapper.log`,
          `write ${temp}`,
          `write ${bundle}/config.json`,
          `write ${dir}/state/pods/${TENANT_A.uid}.json`,
          `write ${dir}/state/creates/${id}`,
          `write ${dir}/state/runtime`,
        ],
      }, w.rootfs);
      checked += created.length;

      // 2. A pass-through command: the config (for `runtime`) and the pass-through record.
      const stateAudit = `${dir}/state.audit.jsonl`;
      const state = await runWrapper(["--root", w.root, "state", id], {
        config: w.config,
        env: { DENO_AUDIT_PERMISSIONS: stateAudit },
      });
      equal(state.code, 0);
      equal(JSON.parse(state.stdout).status, "created");
      const passed = await readAudit(stateAudit);
      assertOnly(
        passed,
        {
          // The record is rewritten when it is not a whole second newer than the config.
          allowed: [...env, `read ${w.config}`, ...stateAccesses(`${dir}/state`)],
          required: [`read ${w.config}`, `read ${dir}/state/runtime`],
        },
        w.rootfs,
      );
      checked += passed.length;

      // 3. A refusal (mode deny): the caller's --log is the one more file written.
      await Deno.mkdir(`${dir}/deny`);
      const denyConfig = await writeConfig(`${dir}/deny`, pki, ['mode = "deny"']);
      const refusalAudit = `${dir}/refusal.audit.jsonl`;
      const other = `${w.dir}/bundle-2`;
      await makeBundle(other, { rootfs: w.rootfs, annotations: containerdAnnotations() });
      const runcLog = `${dir}/runc-log.json`;
      const refused = await runWrapper(
        [
          "--root",
          w.root,
          "--log",
          runcLog,
          "--log-format",
          "json",
          "create",
          "--bundle",
          other,
          `${id}-2`,
        ],
        { config: denyConfig, env: { DENO_AUDIT_PERMISSIONS: refusalAudit } },
      );
      equal(refused.code, 1);
      const refusal = await readAudit(refusalAudit);
      assertOnly(refusal, {
        allowed: [
          ...env,
          `read ${denyConfig}`,
          `read ${other}/config.json`,
          ...credentials,
          `write ${dir}/deny/wrapper.log.lock`,
          `read ${dir}/deny/wrapper.log`,
          `write ${dir}/deny/wrapper.log`,
          `write ${runcLog}`,
          `read ${dir}/deny/no-containerd.sock`,
          ...imageReads(w.rootfs),
          ...stateAccesses(`${dir}/deny/state`, { pods: [TENANT_A.uid] }),
        ],
        required: [`read ${other}/config.json`, "net 127.0.0.1:10250", `write ${runcLog}`],
      }, w.rootfs);
      checked += refusal.length;

      console.log(
        `permission audit: ${created.length} accesses on create, ${passed.length} on ` +
          `pass-through, ${refusal.length} on refusal; ${checked} checked, 0 unexpected`,
      );
    } finally {
      await kubelet.close();
      await runcDelete(w.root, id);
      await Deno.remove(w.dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "with containerd's CRI as the source, a create and an exec touch its socket instead of " +
    "the kubelet's host and credentials",
  ignore: blocker !== undefined || criBlocker !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const w: World = await makeWorld("ssgcr-audit-cri-");
    const { dir, pki } = w;
    const bundle = `${dir}/bundle`;
    await makeBundle(bundle, {
      rootfs: w.rootfs,
      args: ["sleep", "60"],
      annotations: containerdAnnotations(),
    });
    const id = `ssgcr-audit-cri-${Deno.pid}`;
    const socket = DEFAULT_CONFIG.containerdSocket;
    const releaseSocket = await useDefaultSocket();
    const cri = await startCri(
      socket,
      (asked) => asked === id ? { info: tenantAContainerInfo() } : undefined,
    ).catch(async (error) => {
      await releaseSocket();
      throw error;
    });
    const config = await writeConfig(dir, pki, [`containerd-socket = "${socket}"`]);
    const env = ENV.map((name) => `env ${name}`);
    const criAccess = [
      `read ${socket}`,
      `write ${socket}`,
      `net unix:${socket}`,
      "net containerd.invalid:80",
      "net http://containerd.invalid/runtime.v1.RuntimeService/ContainerStatus",
    ];
    try {
      const createAudit = `${dir}/create.audit.jsonl`;
      const create = spawnWrapper(["--root", w.root, "create", "--bundle", bundle, id], {
        config,
        env: { DENO_AUDIT_PERMISSIONS: createAudit },
      });
      equal((await create.status).code, 0);
      const temp = `${bundle}/.config.json.${TEMP_TAG}-N`;
      const created = await readAudit(createAudit);
      assertOnly(created, {
        allowed: [
          ...env,
          `read ${config}`,
          `read ${bundle}/config.json`,
          `read ${bundle}`,
          `read ${temp}`,
          `write ${temp}`,
          `write ${bundle}/config.json`,
          `write ${dir}/wrapper.log.lock`,
          `read ${dir}/wrapper.log`,
          `write ${dir}/wrapper.log`,
          ...criAccess,
          ...imageReads(w.rootfs),
          ...stateAccesses(`${dir}/state`, { containers: [id], creates: [id] }),
        ],
        required: [...criAccess, `write ${dir}/state/containers/${id}.json`],
      }, w.rootfs);
      equal(cri.requests.length, 1);

      const execAudit = `${dir}/exec.audit.jsonl`;
      const exec = await runWrapper(["--root", w.root, "exec", id, "id"], {
        config,
        env: { DENO_AUDIT_PERMISSIONS: execAudit },
      });
      equal(exec.code, 0, exec.stderr);
      const executed = (await readAudit(execAudit)).map(key);
      // runc re-reads the rewritten config.json: nothing the image granted is left in it, as
      // the create's record tells, so no Pod source is asked, not even the container cache.
      equal(executed.includes(`read ${dir}/state/creates/${id}`), true);
      deepEqual(executed.filter((k) => k.includes(`${dir}/state/containers`)), []);
      deepEqual(executed.filter((k) => k.startsWith("net ")), [], "the exec asks nobody");
      deepEqual(executed.filter((k) => k.startsWith(`read ${w.rootfs}/`)), [], "nor the image");
      equal(cri.requests.length, 1, "the create alone asked containerd");
      console.log(
        `permission audit, CRI source: ${created.length} accesses on create ` +
          `(socket ${socket} only, no kubelet host, no credentials), ${executed.length} on exec`,
      );
    } finally {
      cri.close();
      await runcDelete(w.root, id);
      await Deno.remove(w.dir, { recursive: true });
      await releaseSocket();
    }
  },
});

Deno.test({
  name: "a containerd socket the permission set does not name fails closed, naming the permission",
  ignore: blocker !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const w: World = await makeWorld("ssgcr-audit-cri-path-");
    const bundle = `${w.dir}/bundle`;
    await makeBundle(bundle, { rootfs: w.rootfs, annotations: containerdAnnotations() });
    const socket = `${w.dir}/containerd.sock`;
    const cri = await startCri(socket, () => ({ info: tenantAContainerInfo() }));
    const config = await writeConfig(w.dir, w.pki, [`containerd-socket = "${socket}"`]);
    const before = await Deno.readTextFile(`${bundle}/config.json`);
    try {
      const id = `ssgcr-cri-path-${Deno.pid}`;
      const refused = await runWrapper(["--root", w.root, "create", "--bundle", bundle, id], {
        config,
      });
      equal(refused.code, 1);
      equal(refused.stdout, "");
      equal(
        refused.stderr.includes(`containerd ${socket}: Requires net access to "unix:${socket}"`),
        true,
        refused.stderr,
      );
      equal(cri.requests.length, 0);
      equal(await Deno.readTextFile(`${bundle}/config.json`), before, "the spec is untouched");
      equal(await runcStatus(w.root, id), undefined);
    } finally {
      cri.close();
      await Deno.remove(w.dir, { recursive: true });
    }
  },
});
