/**
 * Spec faults fail closed (docs/security.md): a missing, empty, malformed or
 * ill-typed spec, a link, a directory or a FIFO in its place, a full or
 * read-only filesystem under the bundle. Each stops the create with the cause
 * on stderr and in the caller's `--log`; the bundle stays byte-identical and
 * no temp file is left. Runs the shipped launcher with the kubelet stand-in
 * answering, so faults found after the Pod lookup are reached too.
 */

// Strict comparisons: Deno 2.9's named equal/deepEqual of node:assert/strict are loose.
import { deepStrictEqual as deepEqual, strictEqual as equal } from "assert";
import { parseLossless, rawNumber, stringifyLossless } from "../src/spec/json_lossless.ts";
import { containerdAnnotations, makeBundle } from "./support/bundle.ts";
import { alicePod, startKubelet } from "./support/kubelet_standin.ts";
import {
  assertFailedClosed,
  kubeletTestsBlocker,
  runcStatus,
  runWrapper,
} from "./support/wrapper.ts";
import { makeWorld, type World } from "./support/world.ts";

const blocker = await kubeletTestsBlocker();
const rootBlocker = Deno.uid() !== 0 ? "not root (mount needs it)" : blocker;
if (blocker !== undefined) console.error(`\n*** SKIPPED: spec fault tests: ${blocker} ***\n`);
else if (rootBlocker !== undefined) {
  console.error(`\n*** SKIPPED: spec fault tests on a full/read-only mount: ${rootBlocker} ***\n`);
}

const POD = alicePod();

let shared: Promise<World & { spec: string }> | undefined;
function world(): Promise<World & { spec: string }> {
  shared ??= (async () => {
    const w = await makeWorld("ssgcr-spec-");
    const spec = await makeBundle(`${w.dir}/template`, {
      rootfs: w.rootfs,
      annotations: containerdAnnotations(),
    });
    return { ...w, spec };
  })();
  return shared;
}

type Spec = Record<string, Record<string, Record<string, unknown>>>;

/** The template spec with one change made to its parsed form. */
function edited(spec: string, change: (root: Spec) => void): string {
  const root = parseLossless(spec) as Spec;
  change(root);
  return stringifyLossless(root);
}

/** `config.json` holding this text. */
const file = (text: (spec: string) => string) => async (bundle: string, spec: string) => {
  await Deno.writeTextFile(`${bundle}/config.json`, text(spec));
};

/** The user's fields replaced, written as raw JSON text. */
const user = (fields: Record<string, string>) =>
  file((spec) =>
    edited(spec, (root) => {
      for (const [key, text] of Object.entries(fields)) {
        root.process!.user![key] = key === "additionalGids"
          ? text.slice(1, -1).split(",").map(rawNumber)
          : rawNumber(text);
      }
    })
  );

/** Mounts a 64 KiB tmpfs on the bundle; returns the unmount. */
async function tmpfs(bundle: string): Promise<() => Promise<void>> {
  const mount = await new Deno.Command("mount", {
    args: ["-t", "tmpfs", "-o", "size=64k", "tmpfs", bundle],
  }).output();
  if (!mount.success) throw new Error(new TextDecoder().decode(mount.stderr));
  return async () => {
    await new Deno.Command("umount", { args: [bundle] }).output();
  };
}

interface Fault {
  name: string;
  cause: RegExp;
  /** Needs root (mounts). */
  root?: boolean;
  /** Puts the fault in place in an empty bundle; may return a cleanup. */
  setup(bundle: string, spec: string): Promise<void | (() => Promise<void>)>;
}

const FAULTS: Fault[] = [
  {
    name: "a missing config.json",
    cause: /config\.json: No such file or directory/,
    setup: async () => {},
  },
  { name: "an empty config.json", cause: /config\.json: not valid JSON/, setup: file(() => "") },
  {
    name: "malformed JSON",
    cause: /config\.json: not valid JSON/,
    setup: file((spec) => spec.slice(0, spec.length / 2)),
  },
  { name: "a JSON array", cause: /config\.json: not a JSON object/, setup: file(() => "[]") },
  { name: "a JSON string", cause: /not a JSON object/, setup: file(() => '"config"') },
  { name: "JSON null", cause: /not a JSON object/, setup: file(() => "null") },
  {
    name: "no process",
    cause: /config\.json: process: missing or not an object/,
    setup: file((spec) => edited(spec, (root) => delete root.process)),
  },
  {
    name: "no process.user",
    cause: /config\.json: process\.user: missing or not an object/,
    setup: file((spec) => edited(spec, (root) => delete root.process!.user)),
  },
  {
    name: "a negative gid",
    cause: /process\.user\.additionalGids\[1\]: -50000 is not an id/,
    setup: user({ additionalGids: "[1000,-50000]" }),
  },
  {
    name: "a gid above 4294967295",
    cause: /additionalGids\[0\]: 4294967296 is not an id/,
    setup: user({ additionalGids: "[4294967296]" }),
  },
  {
    name: "a fractional gid",
    cause: /process\.user\.gid: 1000\.5 is not an id/,
    setup: user({ gid: "1000.5" }),
  },
  {
    name: "a gid written as a string",
    cause: /process\.user\.gid: "1000" is not an id/,
    setup: user({ gid: '"1000"' }),
  },
  {
    name: "a gid written 1e3",
    cause: /additionalGids\[0\]: 1e3 is not an id/,
    setup: user({ additionalGids: "[1e3]" }),
  },
  {
    name: "a negative uid",
    cause: /process\.user\.uid: -1 is not an id/,
    setup: user({ uid: "-1" }),
  },
  {
    name: "a case variant of additionalGids that runc would read",
    cause: /key "AdditionalGids" is a case variant of "additionalGids"/,
    setup: file((spec) =>
      edited(spec, (root) => {
        root.process!.user!.AdditionalGids = [rawNumber("50000")];
      })
    ),
  },
  {
    name: "a symlink to a valid spec in place of config.json",
    cause: /config\.json: not a regular file/,
    setup: async (bundle, spec) => {
      await Deno.writeTextFile(`${bundle}/elsewhere.json`, spec);
      await Deno.symlink("elsewhere.json", `${bundle}/config.json`);
    },
  },
  {
    name: "a directory in place of config.json",
    cause: /config\.json: not a regular file/,
    setup: async (bundle) => await Deno.mkdir(`${bundle}/config.json`),
  },
  {
    name: "a FIFO in place of config.json (never opened, so never blocks)",
    cause: /config\.json: not a regular file/,
    setup: async (bundle) => {
      const out = await new Deno.Command("mkfifo", { args: [`${bundle}/config.json`] }).output();
      equal(out.success, true);
    },
  },
  {
    name: "a bundle on a full filesystem",
    cause: /config\.json: cannot write the new content: No space left on device/,
    root: true,
    setup: async (bundle, spec) => {
      const unmount = await tmpfs(bundle);
      await Deno.writeTextFile(`${bundle}/config.json`, spec);
      using filler = await Deno.open(`${bundle}/filler`, { createNew: true, write: true });
      const page = new Uint8Array(4096);
      while (await filler.write(page).then(() => true, () => false));
      return unmount;
    },
  },
  {
    name: "a bundle on a read-only filesystem",
    cause: /config\.json: cannot write the new content: Read-only file system/,
    root: true,
    setup: async (bundle, spec) => {
      const unmount = await tmpfs(bundle);
      await Deno.writeTextFile(`${bundle}/config.json`, spec);
      const ro = await new Deno.Command("mount", { args: ["-o", "remount,ro", bundle] }).output();
      equal(ro.success, true);
      return unmount;
    },
  },
];

/**
 * What a directory holds: each entry's kind and, for files and links, its
 * exact content or target. FIFOs are never opened.
 */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const result: Record<string, string> = {};
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    const info = await Deno.lstat(path);
    result[entry.name] = info.isSymlink
      ? `link ${await Deno.readLink(path)}`
      : info.isFile
      ? `file ${info.mode! & 0o7777} ${await Deno.readTextFile(path)}`
      : info.isDirectory
      ? "directory"
      : "other";
  }
  return result;
}

const tally = { injected: 0, failedClosed: 0, bundlesCompared: 0 };

for (const [index, fault] of FAULTS.entries()) {
  Deno.test({
    name: `create fails closed on ${fault.name} and leaves the bundle as it was`,
    ignore: (fault.root ? rootBlocker : blocker) !== undefined,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
      const w = await world();
      const bundle = `${w.dir}/fault-${index}`;
      const log = `${w.dir}/fault-${index}.log.json`;
      const id = `ssgcr-spec-${Deno.pid}-${index}`;
      await Deno.mkdir(bundle);
      const cleanup = await fault.setup(bundle, w.spec);
      const kubelet = await startKubelet(w.pki, [POD]);
      try {
        const before = await snapshot(bundle);
        tally.injected++;
        const result = await runWrapper(
          [
            "--root",
            w.root,
            "--log",
            log,
            "--log-format",
            "json",
            "create",
            "--bundle",
            bundle,
            id,
          ],
          { config: w.config },
        );
        await assertFailedClosed(result, log, fault.cause);
        tally.failedClosed++;
        deepEqual(await snapshot(bundle), before, "the bundle is byte-identical, no temp file");
        tally.bundlesCompared++;
        equal(await runcStatus(w.root, id), undefined, "runc was never called");
      } finally {
        await kubelet.close();
        if (cleanup) await cleanup();
      }
    },
  });
}

Deno.test({
  name: "every spec fault failed closed with its cause on stderr and in --log",
  ignore: blocker !== undefined,
  fn: () => {
    const expected = FAULTS.filter((f) => !f.root || rootBlocker === undefined).length;
    console.log(
      `spec faults: ${tally.injected} injected, ${tally.failedClosed} failed closed with the ` +
        `cause named, ${tally.bundlesCompared} bundles compared byte for byte`,
    );
    equal(tally.injected, expected);
    equal(tally.failedClosed, expected);
    equal(tally.bundlesCompared, expected);
  },
});
