/**
 * The layering rules of src/, checked on the module graph `deno info`
 * reports for the three entry points (docs/design.md "Layers"):
 *
 * - the pure core imports only the core and uses no Deno API;
 * - the request flow (request, decide, enforce, explain) uses no Deno API
 *   and builds no real I/O: only the composition roots import the modules
 *   that construct it;
 * - pass-through loads, before it runs, exactly the modules it needs;
 * - there are no import cycles, and no module of src/ is unreachable.
 */

import { deepEqual, equal } from "assert";
import { importCycles, moduleGraph, staticClosure } from "../tools/module_graph.ts";
import { REPO } from "./support/wrapper.ts";

const SRC = `file://${REPO}/src/`;
const graph = await moduleGraph([
  `${REPO}/src/main/runtime_main.ts`,
  `${REPO}/src/main/cli_main.ts`,
  `${REPO}/src/main/metrics_main.ts`,
], {
  cwd: REPO,
});
const local = [...graph.modules.values()].filter((m) => m.specifier.startsWith(SRC));
const name = (specifier: string) => specifier.slice(SRC.length);

/** Source text without comments (doc examples may show Deno APIs). */
async function code(specifier: string): Promise<string> {
  const text = await Deno.readTextFile(new URL(specifier));
  return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
}

/** The composition roots: the only modules that build real I/O. */
const ROOTS = new Set([
  "wrapper/wrapper.ts",
  "wrapper/compose.ts",
  "admin/cli.ts",
  "observe/metrics_command.ts",
]);

/** Modules whose exports construct real I/O (a seam's real implementation). */
const REAL_IO = new Set([
  "spec/spec_files.ts",
  "spec/image_files.ts",
  "runtime/runtime.ts",
  "pod_source/kubelet_source.ts",
  "pod_source/containerd_source.ts",
  "pod_source/pod_file_source.ts",
  "pod_source/pod_cache.ts",
  "pod_source/container_cache.ts",
  "pod_source/cache_entry.ts",
  "pod_source/node_sources.ts",
  "log/decision_log.ts",
  "state/runtime_record.ts",
  "state/create_record.ts",
  "state/state_dir.ts",
  "observe/log_files.ts",
  "observe/log_follower.ts",
  "observe/report_reader.ts",
  "observe/exporter.ts",
]);

/** The flow between the roots and the seams. */
const FLOW = ["wrapper/request.ts", "wrapper/decide.ts", "wrapper/enforce.ts", "admin/explain.ts"];

Deno.test("the pure core imports only the core and uses no Deno API", async () => {
  const core = local.filter((m) => name(m.specifier).startsWith("core/"));
  equal(core.length > 5, true, "the core's modules are in the graph");
  for (const module of core) {
    const outside = module.edges.map((e) => e.to).filter((to) => !to.startsWith(`${SRC}core/`));
    deepEqual(outside, [], `${name(module.specifier)} imports only the core`);
    equal(/\bDeno\./.test(await code(module.specifier)), false, `${name(module.specifier)}: Deno`);
  }
});

Deno.test("only the composition roots import the modules that build real I/O", async () => {
  for (const module of local) {
    const from = name(module.specifier);
    const io = module.edges.filter((e) => !e.typeOnly && REAL_IO.has(name(e.to))).map((e) =>
      name(e.to)
    );
    if (!ROOTS.has(from) && !REAL_IO.has(from)) deepEqual(io, [], `${from} builds real I/O`);
  }
  for (const flow of FLOW) {
    equal(/\bDeno\./.test(await code(`${SRC}${flow}`)), false, `${flow} uses a Deno API`);
  }
});

Deno.test("pass-through loads exactly the modules it needs before it runs", () => {
  const loaded = [...staticClosure(graph, `${SRC}main/runtime_main.ts`)].map((s) =>
    s.startsWith(SRC) ? name(s) : s
  ).sort();
  deepEqual(loaded, [
    "config/config_file.ts",
    "core/errors.ts",
    "main/runtime_main.ts",
    "runtime/argv.ts",
    "runtime/handoff.ts",
    "runtime/runtime_binary.ts",
    "wrapper/wrapper.ts",
  ]);
});

Deno.test("src/ has no import cycles and no module that no entry point reaches", async () => {
  deepEqual(importCycles(graph).map((cycle) => cycle.map(name)), []);
  const reached = new Set(local.map((m) => name(m.specifier)));
  const files: string[] = [];
  for await (const entry of Deno.readDir(`${REPO}/src`)) {
    if (!entry.isDirectory) continue;
    for await (const file of Deno.readDir(`${REPO}/src/${entry.name}`)) {
      if (file.name.endsWith(".ts") && !file.name.endsWith("_test.ts")) {
        files.push(`${entry.name}/${file.name}`);
      }
    }
  }
  deepEqual(files.filter((file) => !reached.has(file)).sort(), []);
});
