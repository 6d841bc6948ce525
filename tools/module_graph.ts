/**
 * The module graph of entry points, from `deno info --json`: which local
 * modules they load, statically or only through `import()`, which of those
 * imports carry code (not types only), and which bare specifiers of the
 * import map they use. `make build` copies and maps exactly that; the
 * architecture test checks its rules on it.
 *
 * @module
 */

/** One import of a module. */
export interface Edge {
  /** The imported module's specifier (`file:///…`, `node:…`, `npm:…`). */
  readonly to: string;
  /** The specifier as written (`./argv.ts`, `toml`, …). */
  readonly written: string;
  /** Loaded only through `import()`. */
  readonly dynamic: boolean;
  /** Only `import type`: nothing is loaded at run time. */
  readonly typeOnly: boolean;
}

/** A module and its imports. */
export interface GraphModule {
  /** Its specifier. */
  readonly specifier: string;
  /** Its path, for local modules. */
  readonly local?: string;
  /** What it imports. */
  readonly edges: readonly Edge[];
}

/** The graph of some entry points. */
export interface ModuleGraph {
  /** Every module reachable from the roots, by specifier. */
  readonly modules: ReadonlyMap<string, GraphModule>;
  /** The roots' specifiers. */
  readonly roots: readonly string[];
}

/**
 * Reads the graph of entry points with `deno info --json`.
 *
 * @param entries Entry point paths.
 * @param options The Deno binary and the directory whose `deno.json` resolves the imports.
 * @returns The graph.
 */
export async function moduleGraph(
  entries: readonly string[],
  options: { deno?: string; cwd: string },
): Promise<ModuleGraph> {
  const modules = new Map<string, GraphModule>();
  const roots: string[] = [];
  for (const entry of entries) {
    const out = await new Deno.Command(options.deno ?? Deno.execPath(), {
      args: ["info", "--json", entry],
      cwd: options.cwd,
      stderr: "inherit",
    }).output();
    if (!out.success) throw new Error(`deno info ${entry} failed (${out.code})`);
    const info = JSON.parse(new TextDecoder().decode(out.stdout));
    roots.push(...info.roots);
    const redirects: Record<string, string> = info.redirects ?? {};
    for (const module of info.modules) {
      const edges: Edge[] = (module.dependencies ?? []).map((dep: Record<string, unknown>) => {
        const code = (dep.code as { specifier?: string } | undefined)?.specifier;
        const type = (dep.type as { specifier?: string } | undefined)?.specifier;
        const to = code ?? type ?? String(dep.specifier);
        return {
          to: redirects[to] ?? to,
          written: String(dep.specifier),
          dynamic: dep.isDynamic === true,
          typeOnly: code === undefined,
        };
      });
      modules.set(module.specifier, {
        specifier: module.specifier,
        ...(module.local ? { local: module.local } : {}),
        edges,
      });
    }
  }
  return { modules, roots };
}

/**
 * The modules a root loads before it runs a line: its static code imports,
 * transitively (type-only imports and `import()` excluded).
 *
 * @param graph The graph.
 * @param root A root's specifier.
 * @returns Their specifiers.
 */
export function staticClosure(graph: ModuleGraph, root: string): Set<string> {
  const seen = new Set<string>();
  const visit = (specifier: string) => {
    if (seen.has(specifier)) return;
    seen.add(specifier);
    for (const edge of graph.modules.get(specifier)?.edges ?? []) {
      if (!edge.dynamic && !edge.typeOnly) visit(edge.to);
    }
  };
  visit(root);
  return seen;
}

/**
 * The import cycles among local modules (each as the list of modules on it).
 *
 * @param graph The graph.
 * @returns The cycles found, each once.
 */
export function importCycles(graph: ModuleGraph): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (specifier: string) => {
    state.set(specifier, "open");
    stack.push(specifier);
    for (const edge of graph.modules.get(specifier)?.edges ?? []) {
      if (!edge.to.startsWith("file:")) continue;
      const seen = state.get(edge.to);
      if (seen === "open") cycles.push(stack.slice(stack.indexOf(edge.to)));
      else if (seen === undefined) visit(edge.to);
    }
    stack.pop();
    state.set(specifier, "done");
  };
  for (const specifier of graph.modules.keys()) {
    if (!state.has(specifier)) visit(specifier);
  }
  return cycles;
}

if (import.meta.main) {
  // deno run -P=test tools/module_graph.ts ENTRY: the modules ENTRY loads before it runs.
  const entry = Deno.args[0];
  if (entry === undefined) {
    console.error("usage: deno run -P=test tools/module_graph.ts ENTRY");
    Deno.exit(2);
  }
  const path = await Deno.realPath(entry);
  const graph = await moduleGraph([path], { cwd: Deno.cwd() });
  const root = `file://${path}`;
  const dir = `file://${Deno.cwd()}/`;
  for (const specifier of [...staticClosure(graph, root)].sort()) {
    console.log(specifier.startsWith(dir) ? specifier.slice(dir.length) : specifier);
  }
}
