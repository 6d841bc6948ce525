/**
 * Fetches the container runtimes of the e2e matrix (tools/runtimes.json)
 * from Debian's archive, each suite's into `.tools/runtimes/<suite>/`: its
 * containerd (with its own runc shim), runc and crun at the pinned
 * versions, through a private apt configuration under `.tools/apt/` (the
 * machine's sources are never changed).
 *
 * containerd's Debian builds need glibc 2.34 and run on Debian 12 as they
 * are. runc and crun of trixie and sid need glibc 2.38: they are run with
 * their own suite's glibc and libraries, unmodified but for the loader path
 * and library search path written into their ELF headers (patchelf), so
 * that their re-executions of themselves (`/proc/self/exe`, runc's
 * `runc init`) load the same. Nothing is installed on the machine.
 *
 * A suite ready with the same pins is left as it is. What cannot be fetched
 * is written to `.tools/runtimes/<suite>.failed`, which the tests report as
 * their reason to skip that node, loudly.
 *
 * usage: deno run -P=test tools/fetch_runtimes.ts
 *
 * @module
 */

const REPO = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const TOOLS = `${REPO}/.tools`;
const APT = `${TOOLS}/apt`;
const KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg";
const LIB = "usr/lib/x86_64-linux-gnu";

/** One node of the matrix, as tools/runtimes.json pins it. */
export interface NodePins {
  readonly name: string;
  readonly suite: string;
  readonly system?: boolean;
  readonly containerd: string;
  readonly runc: string;
  readonly crun: string;
}

/** The matrix. */
export interface Matrix {
  readonly archive: string;
  readonly nodes: readonly NodePins[];
}

/**
 * The matrix's pins.
 *
 * @returns tools/runtimes.json.
 */
export async function readMatrix(): Promise<Matrix> {
  return JSON.parse(await Deno.readTextFile(`${REPO}/tools/runtimes.json`));
}

/**
 * Where a fetched suite lives.
 *
 * @param suite The Debian suite.
 * @returns Its tree, and the files that say it is ready or why it failed.
 */
export function suiteTree(suite: string): { dir: string; stamp: string; failed: string } {
  const dir = `${TOOLS}/runtimes/${suite}`;
  return { dir, stamp: `${dir}/.pins`, failed: `${TOOLS}/runtimes/${suite}.failed` };
}

/** What a ready tree's stamp holds: the pins it was made from. */
export function stampText(node: NodePins): string {
  return `${JSON.stringify({ containerd: node.containerd, runc: node.runc, crun: node.crun })}\n`;
}

async function main(): Promise<void> {
  const matrix = await readMatrix();
  const fetched = matrix.nodes.filter((node) => !node.system);
  let updated = false;
  for (const node of fetched) {
    const tree = suiteTree(node.suite);
    if (await Deno.readTextFile(tree.stamp).catch(() => "") === stampText(node)) {
      console.log(`runtimes: ${node.name} (${node.suite}) ready in ${tree.dir}`);
      continue;
    }
    try {
      if (Deno.uid() !== 0) throw new Error("not root: apt-get cannot download here");
      if (!updated) {
        await _aptUpdate(matrix);
        updated = true;
      }
      await _fetch(node, tree.dir);
      await Deno.writeTextFile(tree.stamp, stampText(node));
      await Deno.remove(tree.failed).catch(() => {});
      console.log(
        `runtimes: ${node.name} (${node.suite}): containerd ${node.containerd}, runc ` +
          `${node.runc}, crun ${node.crun} fetched into ${tree.dir}`,
      );
    } catch (error) {
      const reason = (error as Error).message;
      await Deno.mkdir(`${TOOLS}/runtimes`, { recursive: true });
      await Deno.writeTextFile(tree.failed, `${reason}\n`);
      console.error(`\n*** runtimes: ${node.name} (${node.suite}) not fetched: ${reason} ***\n`);
    }
  }
}

/** The private apt configuration: the matrix's suites only, lists and cache under .tools/apt. */
function _aptOptions(): string[] {
  return [
    "-o",
    `Dir::Etc::SourceList=${APT}/sources.list`,
    "-o",
    "Dir::Etc::SourceParts=/dev/null",
    "-o",
    `Dir::State::Lists=${APT}/lists`,
    "-o",
    `Dir::Cache=${APT}/cache`,
    "-o",
    "Dir::State::status=/var/lib/dpkg/status",
    "-o",
    "Debug::NoLocking=1",
    "-qq",
  ];
}

async function _aptUpdate(matrix: Matrix): Promise<void> {
  for (const dir of [`${APT}/lists/partial`, `${APT}/cache/archives/partial`]) {
    await Deno.mkdir(dir, { recursive: true });
  }
  const suites = [...new Set(matrix.nodes.filter((n) => !n.system).map((n) => n.suite))];
  await Deno.writeTextFile(
    `${APT}/sources.list`,
    suites.map((suite) => `deb [signed-by=${KEYRING}] ${matrix.archive} ${suite} main\n`).join(""),
  );
  await _run("apt-get", [..._aptOptions(), "update"]);
}

/** Downloads, unpacks and, where its glibc is too new for this machine, relinks one suite. */
async function _fetch(node: NodePins, dir: string): Promise<void> {
  const debs = `${TOOLS}/runtimes/debs-${node.suite}`;
  await Deno.remove(debs, { recursive: true }).catch(() => {});
  await Deno.mkdir(debs, { recursive: true });
  const pinned = [
    `containerd=${node.containerd}`,
    `runc=${node.runc}`,
    `crun=${node.crun}`,
  ];
  // The libraries runc and crun link, from the same suite: their glibc first.
  const libraries = new Set(["libc6"]);
  for (const pin of pinned.slice(1)) {
    for (const dep of await _depends(pin)) if (dep.startsWith("lib")) libraries.add(dep);
  }
  for (const pkg of [...pinned, ...[...libraries].map((lib) => `${lib}/${node.suite}`)]) {
    // apt-get download writes to the working directory.
    await _run("apt-get", [..._aptOptions(), "download", pkg], { cwd: debs });
  }
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  await Deno.mkdir(dir, { recursive: true });
  for await (const entry of Deno.readDir(debs)) {
    await _run("dpkg-deb", ["-x", `${debs}/${entry.name}`, dir]);
  }
  await Deno.remove(debs, { recursive: true });
  for (const binary of [`${dir}/usr/sbin/runc`, `${dir}/usr/bin/crun`]) {
    if (await _runs(binary)) continue;
    await _run("patchelf", [
      "--set-interpreter",
      `${dir}/${LIB}/ld-linux-x86-64.so.2`,
      // RPATH, not RUNPATH: it also serves the libraries' own dependencies.
      "--force-rpath",
      "--set-rpath",
      `${dir}/${LIB}`,
      binary,
    ]);
  }
  const versions = {
    containerd: [`${dir}/usr/bin/containerd`, node.containerd],
    runc: [`${dir}/usr/sbin/runc`, node.runc],
    crun: [`${dir}/usr/bin/crun`, node.crun],
  };
  for (const [name, [binary, pin]] of Object.entries(versions)) {
    const out = await _output(binary!, ["--version"]);
    const upstream = pin!.replace(/^\d+:/, "").split(/[~+-]/)[0]!;
    if (out === undefined || !out.includes(upstream)) {
      throw new Error(`${name} ${pin} does not run here: ${binary} --version: ${out ?? "failed"}`);
    }
  }
}

/** A package's Depends, names only (an alternative's first). */
async function _depends(pin: string): Promise<string[]> {
  const show = await _output("apt-cache", [..._aptOptions(), "show", pin]);
  if (show === undefined) throw new Error(`${pin} is not in Debian's archive (any more)`);
  const line = show.split("\n").find((l) => l.startsWith("Depends: ")) ?? "Depends: ";
  return line.slice("Depends: ".length).split(",").map((dep) =>
    dep.split("|")[0]!.trim().split(/[\s(:]/)[0]!
  ).filter(Boolean);
}

async function _runs(binary: string): Promise<boolean> {
  return await _output(binary, ["--version"]) !== undefined;
}

async function _output(command: string, args: string[]): Promise<string | undefined> {
  try {
    const out = await new Deno.Command(command, { args, stdin: "null", stderr: "null" }).output();
    return out.success ? new TextDecoder().decode(out.stdout) : undefined;
  } catch {
    return undefined;
  }
}

async function _run(command: string, args: string[], options: { cwd?: string } = {}) {
  const out = await new Deno.Command(command, { args, ...options, stdin: "null" }).output();
  if (!out.success) {
    const stderr = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-3).join(" ");
    throw new Error(`${command} … ${args.at(-1)}: ${stderr}`);
  }
}

if (import.meta.main) await main();
