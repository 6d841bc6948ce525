/**
 * Pass-through is byte-for-byte and touches nothing (docs/design.md):
 * thousands of generated command lines that are not create/run/exec/restore
 * go through the wrapper's composition root under the shipped permission
 * set, with a recording script as the runtime and Deno's permission audit
 * on. Each reaches the runtime with exactly its argv, each exit status is
 * mirrored, and the only file the wrapper ever looks at is its config.
 */

import fc from "fast-check";
// Strict comparisons: Deno 2.9's named equal/deepEqual of node:assert/strict are loose.
import { deepStrictEqual as deepEqual, strictEqual as equal } from "assert";
import { permissionFlags } from "../tools/permission_flags.ts";
import { passThroughArgv } from "./support/arbitraries.ts";
import { readAudit, REPO } from "./support/wrapper.ts";

const CASES = 10_000;

/** Splits the recording script's output: `argc`, then argc arguments, each NUL-terminated. */
function recorded(bytes: Uint8Array): string[][] {
  const words = new TextDecoder().decode(bytes).split("\0").slice(0, -1);
  const argvs: string[][] = [];
  for (let i = 0; i < words.length;) {
    const argc = Number(words[i]);
    argvs.push(words.slice(i + 1, i + 1 + argc));
    i += 1 + argc;
  }
  return argvs;
}

Deno.test({
  name: "generated pass-through command lines reach the runtime byte for byte and touch no file",
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "ssgcr-passthrough-" });
    try {
      const record = `${dir}/record`;
      const runtime = `${dir}/runtime`;
      await Deno.writeTextFile(
        runtime,
        `#!/bin/sh\nprintf '%s\\0' "$#" "$@" >> '${record}'\nexit $(( $# % 7 ))\n`,
      );
      await Deno.chmod(runtime, 0o755);
      const config = `${dir}/config.toml`;
      await Deno.writeTextFile(config, `runtime = "${runtime}"\n`);
      const audit = `${dir}/audit.jsonl`;
      const argvs = fc.sample(passThroughArgv, CASES);

      // The shipped set, with the recording script as the one runtime it may start.
      const flags = (await permissionFlags(`${REPO}/deno.json`, "runtime")).map((flag) =>
        flag.startsWith("--allow-run=") ? `--allow-run=${runtime}` : flag
      );
      const child = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--quiet",
          "--no-prompt",
          "--cached-only",
          "--no-config",
          "--no-lock",
          `--import-map=${REPO}/dist/import_map.json`,
          ...flags,
          `${REPO}/tests/support/passthrough_harness.ts`,
        ],
        env: { STRICT_SUPPLEMENTALGROUPS_CONFIG: config, DENO_AUDIT_PERMISSIONS: audit },
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const writer = child.stdin.getWriter();
      await writer.write(new TextEncoder().encode(JSON.stringify(argvs)));
      await writer.close();
      const out = await child.output();
      equal(new TextDecoder().decode(out.stderr), "");
      equal(out.code, 0);

      const codes: number[] = JSON.parse(new TextDecoder().decode(out.stdout));
      deepEqual(codes, argvs.map((argv) => argv.length % 7), "each exit status is mirrored");
      const seen = recorded(await Deno.readFile(record));
      equal(seen.length, CASES);
      for (const [i, argv] of argvs.entries()) deepEqual(seen[i], argv, JSON.stringify(argv));

      const accesses = await readAudit(audit);
      const kinds = new Set(accesses.map((r) => `${r.permission} ${r.value}`));
      deepEqual(
        [...kinds].sort(),
        [
          "env LD_LIBRARY_PATH",
          "env LD_PRELOAD",
          "env STRICT_SUPPLEMENTALGROUPS_CONFIG",
          `read ${config}`,
        ],
        "no write, no network, no file but the config",
      );
      const reads = accesses.filter((r) => r.permission === "read").length;
      console.log(
        `pass-through property: ${CASES} cases, ${seen.length} argvs compared byte for byte, ` +
          `${reads} config reads, 0 other file or network accesses`,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
