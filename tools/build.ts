/**
 * `make build` and `make install`: compile the two binaries with
 * `deno compile` when a denort base binary is available (`DENORT_BIN`), or
 * else write launchers that run the same entry points under the same
 * permission set with `deno run`. It prints which of the two it made.
 *
 * usage: deno run -P=test tools/build.ts build
 *        deno run -P=test tools/build.ts install --prefix /usr/local
 *
 * @module
 */

import { parseArgs } from "parse-args";
import { frontEndScript } from "../src/admin/front_end.ts";
import {
  DEFAULT_CONFIG_PATH,
  DEFAULT_STATE_DIR,
  RUNTIME_RECORD,
} from "../src/config/config_file.ts";
import { moduleGraph } from "./module_graph.ts";
import { permissionFlags } from "./permission_flags.ts";

const REPO = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

/** The shipped programs: name, entry point, permission set. */
const PROGRAMS = [
  {
    name: "strict-supplementalgroups-container-runtime",
    entry: "src/main/runtime_main.ts",
    set: "runtime",
  },
  { name: "strict-supplementalgroups", entry: "src/main/cli_main.ts", set: "cli" },
  { name: "strict-supplementalgroups-metrics", entry: "src/main/metrics_main.ts", set: "metrics" },
] as const;

const { positionals, values } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    prefix: { type: "string", default: "/usr/local" },
    // Compile even without DENORT_BIN: deno downloads denort (the Dockerfile's build stage).
    compile: { type: "boolean", default: false },
  },
});
const action = positionals[0] ?? "build";
const deno = Deno.execPath();

/** The shipped programs' module graph, read once. */
let _graph: ReturnType<typeof moduleGraph> | undefined;
function productGraph(): ReturnType<typeof moduleGraph> {
  _graph ??= moduleGraph(PROGRAMS.map((p) => `${REPO}/${p.entry}`), { deno, cwd: REPO });
  return _graph;
}

if (action === "build") {
  await build(() => `${REPO}/dist`, { root: REPO, denoDir: Deno.env.get("DENO_DIR")!, deno });
} else if (action === "install") {
  // The wrapper program beside its lib, the shell front end under its name (src/admin/front_end.ts).
  const lib = `${values.prefix}/lib/strict-supplementalgroups`;
  await Deno.mkdir(`${values.prefix}/bin`, { recursive: true });
  const made = await install(lib);
  await build((program) => program.set === "runtime" ? lib : `${values.prefix}/bin`, made);
  const frontEnd = `${values.prefix}/bin/${PROGRAMS[0].name}`;
  await Deno.writeTextFile(
    `${frontEnd}.new`,
    frontEndScript({
      program: `${lib}/${PROGRAMS[0].name}`,
      record: `${DEFAULT_STATE_DIR}/${RUNTIME_RECORD}`,
      configDefault: DEFAULT_CONFIG_PATH,
    }),
    { mode: 0o755 },
  );
  await Deno.chmod(`${frontEnd}.new`, 0o755);
  await Deno.rename(`${frontEnd}.new`, frontEnd);
  console.log(`built ${frontEnd}: the shell front end of ${lib}/${PROGRAMS[0].name}`);
} else {
  console.error(`build.ts: unknown action ${action}`);
  Deno.exit(2);
}

interface Layout {
  /** Where deno.json and src/ are. */
  root: string;
  denoDir: string;
  deno: string;
}

async function build(
  outDirOf: (program: (typeof PROGRAMS)[number]) => string,
  layout: Layout,
): Promise<void> {
  const importMap = `${layout.root === REPO ? `${REPO}/dist` : layout.root}/import_map.json`;
  await Deno.mkdir(importMap.slice(0, importMap.lastIndexOf("/")), { recursive: true });
  await Deno.writeTextFile(importMap, JSON.stringify({ imports: await productImports() }, null, 2));
  // One way of resolving modules for caching, compiling and running: a
  // launcher resolving differently from the cache would miss it.
  const resolution = ["--no-config", "--no-lock", `--import-map=${importMap}`];
  await _run(deno, [
    "cache",
    "--quiet",
    ...resolution,
    ...PROGRAMS.map((p) => `${layout.root}/${p.entry}`),
  ], {
    DENO_DIR: layout.denoDir,
  });
  const denort = Deno.env.get("DENORT_BIN");
  for (const program of PROGRAMS) {
    const flags = await permissionFlags(`${layout.root}/deno.json`, program.set);
    await Deno.mkdir(outDirOf(program), { recursive: true });
    const out = `${outDirOf(program)}/${program.name}`;
    if (denort || values.compile) {
      await _run(deno, [
        "compile",
        "--quiet",
        "--no-prompt",
        ...resolution,
        ...flags,
        `--output=${out}`,
        `${layout.root}/${program.entry}`,
      ], { ...(denort ? { DENORT_BIN: denort } : {}), DENO_DIR: layout.denoDir });
      console.log(`built ${out}: compiled with deno compile (denort ${denort ?? "downloaded"})`);
      continue;
    }
    // The launcher runs a bundle of the entry point (deno bundle, one file per
    // import() boundary), not the sources: `deno run` reads and hashes every
    // module of the graph at start-up, dynamic imports included, which cost
    // the wrapper about 10 ms on every call; `deno compile` embeds its graph.
    const bundle = `${outDirOf(program)}/bundle/${program.name}`;
    await Deno.remove(bundle, { recursive: true }).catch(() => {});
    await _run(deno, [
      "bundle",
      "--quiet",
      "--platform=deno",
      "--code-splitting",
      ...resolution,
      `--outdir=${bundle}`,
      `${layout.root}/${program.entry}`,
    ], { DENO_DIR: layout.denoDir });
    const main = program.entry.slice(program.entry.lastIndexOf("/") + 1).replace(/\.ts$/, ".js");
    await _writeLauncher(out, layout, [...resolution, ...flags], {
      entry: `${bundle}/${main}`,
      set: program.set,
    });
    console.log(
      `built ${out}: launcher (deno run of a bundle, with permission set "${program.set}"); ` +
        `set DENORT_BIN to a denort binary to compile instead`,
    );
  }
}

/**
 * The import map of the shipped programs: the entries of deno.json's map
 * that their module graph uses (test-only packages such as the gRPC client
 * stay out, so the wrapper never resolves them on a container's start path).
 */
async function productImports(): Promise<Record<string, string>> {
  const all: Record<string, string> =
    JSON.parse(await Deno.readTextFile(`${REPO}/deno.json`)).imports;
  const used = new Set<string>();
  for (const module of (await productGraph()).modules.values()) {
    for (const edge of module.edges) used.add(edge.written);
  }
  return Object.fromEntries(Object.entries(all).filter(([name]) => used.has(name)));
}

/** Copies what the launchers need into a self-contained tree under `lib`. */
async function install(lib: string): Promise<Layout> {
  for (const module of (await productGraph()).modules.values()) {
    if (module.local === undefined || !module.local.startsWith(`${REPO}/src/`)) continue;
    const target = `${lib}/${module.local.slice(REPO.length + 1)}`;
    await Deno.mkdir(target.slice(0, target.lastIndexOf("/")), { recursive: true });
    await Deno.copyFile(module.local, target);
  }
  // deno.json declares the permission set the launchers carry, for audit.
  await Deno.copyFile(`${REPO}/deno.json`, `${lib}/deno.json`);
  const denoCopy = `${lib}/deno`;
  if (deno !== denoCopy) {
    await Deno.copyFile(deno, `${denoCopy}.new`);
    await Deno.chmod(`${denoCopy}.new`, 0o755);
    await Deno.rename(`${denoCopy}.new`, denoCopy);
  }
  return { root: lib, denoDir: `${lib}/deno_dir`, deno: denoCopy };
}

async function _writeLauncher(
  out: string,
  layout: Layout,
  flags: string[],
  { entry, set }: { entry: string; set: string },
): Promise<void> {
  const q = (text: string) => `'${text.replaceAll("'", `'\\''`)}'`;
  const script = [
    "#!/bin/sh",
    "# Made by tools/build.ts: no denort base binary was available for `deno compile`, so this",
    `# runs the same program (a bundle of its entry point) with \`deno run\` under permission set`,
    `# "${set}" of deno.json.`,
    `DENO_DIR=${q(layout.denoDir)} DENO_NO_UPDATE_CHECK=1 exec ${q(layout.deno)} run --quiet \\`,
    "  --no-prompt --cached-only \\",
    ...flags.map((flag) => `  ${q(flag)} \\`),
    `  ${q(entry)} "$@"`,
    "",
  ].join("\n");
  const temp = `${out}.new`;
  await Deno.writeTextFile(temp, script, { mode: 0o755 });
  await Deno.chmod(temp, 0o755);
  await Deno.rename(temp, out);
}

async function _run(command: string, args: string[], env: Record<string, string>): Promise<void> {
  const status = await new Deno.Command(command, { args, env }).spawn().status;
  if (!status.success) {
    console.error(`build.ts: ${command} ${args.join(" ")} failed (${status.code})`);
    Deno.exit(1);
  }
}
