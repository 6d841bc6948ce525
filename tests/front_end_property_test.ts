/**
 * The shell front end sends every command line where the Deno program
 * would: generated argvs (pass-through ones, identity-setting ones, junk,
 * identity words in any place) run through the real front end script under
 * dash and busybox sh, with recording scripts as the runtime and as the Deno
 * program. Whatever the front end execs the runtime with directly is a call
 * the Deno program hands off (it sets no identity) with the very same bytes;
 * whatever it sends to the Deno program arrives byte for byte, and those
 * that set no identity then reach the runtime through the real Deno program
 * byte for byte as well. A record that is stale, foreign or for another
 * config sends everything to the Deno program.
 */

import fc from "fast-check";
import { deepStrictEqual as deepEqual, strictEqual as equal } from "assert";
import { frontEndScript } from "../src/admin/front_end.ts";
import { isIdentitySetting } from "../src/runtime/argv.ts";
import { recordText } from "../src/state/runtime_record.ts";
import { identityArgv, junkArgv, passThroughArgv } from "./support/arbitraries.ts";
import { recordedArgvs, runInProcess, writeRecordingRuntime } from "./support/in_process.ts";

const IDENTITY_WORDS = ["create", "run", "exec", "restore"];

/** Command lines of every kind, identity words placed anywhere among others. */
const anyArgv: fc.Arbitrary<string[]> = fc.oneof(
  passThroughArgv,
  identityArgv.map((c) => [...c.argv]),
  junkArgv,
  fc.tuple(passThroughArgv, fc.nat(), fc.constantFrom(...IDENTITY_WORDS, "init", "Create", "exe"))
    .map(([argv, at, word]) => argv.toSpliced(at % (argv.length + 1), 0, word)),
);

interface World {
  dir: string;
  frontEnd: string;
  record: string;
  config: string;
  runtime: string;
  program: string;
  runtimeLog: string;
  programLog: string;
}

async function world(): Promise<World> {
  const dir = await Deno.makeTempDir({ prefix: "ssgcr-front-end-" });
  const w = {
    dir,
    frontEnd: `${dir}/strict-supplementalgroups-container-runtime`,
    record: `${dir}/state/runtime`,
    config: `${dir}/config.toml`,
    runtime: `${dir}/runtime`,
    program: `${dir}/program`,
    runtimeLog: `${dir}/runtime.log`,
    programLog: `${dir}/program.log`,
  };
  await writeRecordingRuntime(w.runtime, w.runtimeLog);
  await writeRecordingRuntime(w.program, w.programLog);
  // The runtime also says whether a loader variable reached it.
  await Deno.writeTextFile(
    w.runtime,
    (await Deno.readTextFile(w.runtime)).replace(
      "#!/bin/sh\n",
      `#!/bin/sh\n[ -z "$LD_PRELOAD$LD_LIBRARY_PATH" ] || echo loader >> '${dir}/loader'\n`,
    ),
  );
  await Deno.writeTextFile(w.config, `runtime = "${w.runtime}"\nstate-dir = "${dir}/state"\n`);
  await Deno.utime(w.config, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
  await Deno.mkdir(`${dir}/state`, { mode: 0o700 });
  await Deno.writeTextFile(w.record, recordText(w.config, w.runtime, true), { mode: 0o600 });
  await Deno.writeTextFile(
    w.frontEnd,
    frontEndScript({ program: w.program, record: w.record, configDefault: "/nonexistent" }),
    { mode: 0o755 },
  );
  return w;
}

/** Runs the front end once (busybox's shell as `busybox sh`); returns its exit status. */
async function run(w: World, shell: string, argv: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(shell, {
    args: [...(shell === "/bin/busybox" ? ["sh"] : []), w.frontEnd, ...argv],
    env: {
      STRICT_SUPPLEMENTALGROUPS_CONFIG: w.config,
      LD_PRELOAD: "",
      LD_LIBRARY_PATH: "/opt/containerd/lib",
      ...env,
    },
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).output();
  return out.code;
}

for (const [shell, cases] of [["/bin/sh", 2_000], ["/bin/busybox", 300]] as const) {
  const have = await Deno.stat(shell).then(() => true, () => false);
  Deno.test({
    name:
      `the front end under ${shell} sends every argv where the Deno program would, byte for byte`,
    ignore: !have,
    sanitizeResources: false,
    fn: async () => {
      const w = await world();
      try {
        const argvs = fc.sample(anyArgv, cases);
        const places: ("runtime" | "program")[] = [];
        const size = async (path: string) => (await Deno.stat(path).catch(() => undefined))?.size;
        for (const argv of argvs) {
          const before = await size(w.runtimeLog);
          equal(await run(w, shell, argv), argv.length % 7, "the exit status is the callee's");
          places.push(await size(w.runtimeLog) !== before ? "runtime" : "program");
        }
        const read = (path: string) => Deno.readFile(path).catch(() => new Uint8Array());
        const direct = recordedArgvs(await read(w.runtimeLog));
        const deferred = recordedArgvs(await read(w.programLog));
        deepEqual(direct, argvs.filter((_, i) => places[i] === "runtime"), "runtime bytes");
        deepEqual(deferred, argvs.filter((_, i) => places[i] === "program"), "program bytes");
        for (const [i, argv] of argvs.entries()) {
          const words = argv.some((arg) => IDENTITY_WORDS.includes(arg));
          equal(places[i], words ? "program" : "runtime", JSON.stringify(argv));
          // Never past the Deno program with an invocation that sets an identity.
          if (places[i] === "runtime") equal(isIdentitySetting(argv), false, JSON.stringify(argv));
        }
        equal(await Deno.stat(`${w.dir}/loader`).then(() => true, () => false), false);

        // What went to the program without setting an identity: the real Deno program hands it
        // to the runtime with the same bytes.
        const handed = deferred.filter((argv) => !isIdentitySetting(argv));
        await Deno.remove(w.runtimeLog).catch(() => {});
        const out = await runInProcess(handed, { runtime: w.runtime, config: w.config });
        equal(out.stderr, "");
        deepEqual(recordedArgvs(await Deno.readFile(w.runtimeLog)), handed);
        console.log(
          `front end (${shell}): ${cases} argvs, ${direct.length} to the runtime directly, ` +
            `${deferred.length} to the Deno program (${handed.length} of them handed off by it ` +
            `byte for byte)`,
        );
      } finally {
        await Deno.remove(w.dir, { recursive: true });
      }
    },
  });
}

Deno.test({
  name: "the front end defers to the Deno program when the record is stale, foreign or missing",
  sanitizeResources: false,
  fn: async () => {
    const w = await world();
    try {
      const via = async (env: Record<string, string> = {}) => {
        await Deno.remove(w.runtimeLog).catch(() => {});
        await run(w, "/bin/sh", ["--root", "/r", "state", "c1"], env);
        return await Deno.stat(w.runtimeLog).then(() => "runtime", () => "program");
      };
      equal(await via(), "runtime", "a fresh record");
      await Deno.utime(w.config, new Date(), new Date(Date.now() + 5_000));
      equal(await via(), "program", "a config newer than the record");
      await Deno.utime(w.config, new Date(), new Date(Date.now() - 60_000));
      equal(await via({ STRICT_SUPPLEMENTALGROUPS_CONFIG: `${w.dir}/other.toml` }), "program");
      await Deno.chown(w.record, 65534, 65534);
      equal(await via(), "program", "a record root does not own");
      await Deno.chown(w.record, 0, 0);
      await Deno.writeTextFile(w.record, recordText(w.config, w.runtime, false));
      equal(await via(), "program", "a record written when the config was absent");
      await Deno.remove(w.record);
      equal(await via(), "program", "no record");
    } finally {
      await Deno.remove(w.dir, { recursive: true });
    }
  },
});
