/**
 * Pass-through is byte-for-byte and touches nothing (docs/design.md):
 * thousands of generated command lines that are not create/run/exec/restore
 * go through the wrapper's composition root under the shipped permission
 * set, with a recording script as the runtime and Deno's permission audit
 * on. Each reaches the runtime with exactly its argv, each exit status is
 * mirrored, and the only files the wrapper looks at are its config and the
 * pass-through record in its state directory (for the shell front end),
 * which ends up naming the runtime.
 */

import fc from "fast-check";
// Strict comparisons: Deno 2.9's named equal/deepEqual of node:assert/strict are loose.
import { deepStrictEqual as deepEqual, strictEqual as equal } from "assert";
import { passThroughArgv } from "./support/arbitraries.ts";
import { readAudit } from "./support/wrapper.ts";
import { recordedArgvs, runInProcess, writeRecordingRuntime } from "./support/in_process.ts";
import { TEMP_TAG } from "../src/spec/atomic_write.ts";
import { recordText } from "../src/state/runtime_record.ts";
import { RUNTIME_RECORD } from "../src/config/config_file.ts";

const CASES = 10_000;

Deno.test({
  name:
    "generated pass-through command lines reach the runtime byte for byte and touch no file but the record",
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "ssgcr-passthrough-" });
    try {
      const record = `${dir}/record`;
      const runtime = `${dir}/runtime`;
      await writeRecordingRuntime(runtime, record);
      const config = `${dir}/config.toml`;
      const state = `${dir}/state`;
      await Deno.writeTextFile(config, `runtime = "${runtime}"\nstate-dir = "${state}"\n`);
      const audit = `${dir}/audit.jsonl`;
      const argvs = fc.sample(passThroughArgv, CASES);

      // The shipped set, with the recording script as the one runtime it may start.
      const out = await runInProcess(argvs, {
        runtime,
        config,
        env: { DENO_AUDIT_PERMISSIONS: audit },
      });
      equal(out.stderr, "");
      equal(out.code, 0);

      deepEqual(out.codes, argvs.map((argv) => argv.length % 7), "each exit status is mirrored");
      const seen = recordedArgvs(await Deno.readFile(record));
      equal(seen.length, CASES);
      for (const [i, argv] of argvs.entries()) deepEqual(seen[i], argv, JSON.stringify(argv));

      const accesses = await readAudit(audit);
      const kinds = new Set(
        accesses.map((r) =>
          `${r.permission} ${r.value?.replace(new RegExp(`${TEMP_TAG}-\\d+$`), `${TEMP_TAG}-N`)}`
        ),
      );
      const runtimeRecord = `${state}/${RUNTIME_RECORD}`;
      const temp = `${state}/.${RUNTIME_RECORD}.${TEMP_TAG}-N`;
      const allowed = new Set([
        "env LD_LIBRARY_PATH",
        "env LD_PRELOAD",
        "env STRICT_SUPPLEMENTALGROUPS_CONFIG",
        `read ${config}`,
        // The state directory's trust check, up from below /, and its creation.
        ...["/tmp", dir, state].map((path) => `read ${path}`),
        `write ${state}`,
        ...[runtimeRecord, temp].flatMap((path) => [`read ${path}`, `write ${path}`]),
      ]);
      deepEqual([...kinds].filter((k) => !allowed.has(k)), [], "no network, no other file");
      equal(kinds.has(`read ${config}`), true);
      equal(
        await Deno.readTextFile(runtimeRecord),
        recordText(config, runtime, true),
        "the record names it",
      );
      const reads = accesses.filter((r) => r.value === config).length;
      console.log(
        `pass-through property: ${CASES} cases, ${seen.length} argvs compared byte for byte, ` +
          `${reads} config reads, 0 file or network accesses but the config and the record`,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
