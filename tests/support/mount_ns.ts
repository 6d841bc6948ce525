/**
 * A private mount namespace kept across commands (`unshare --mount=FILE`,
 * then `nsenter --mount=FILE` for each command), so that a test can put
 * files at a node's own paths (the wrapper's default configuration, CRI-O's
 * drop-in directory, `/usr/local`) on tmpfs mounts that only the commands
 * run inside it see: the machine's own paths stay untouched.
 *
 * @module
 */

/** A private mount namespace. */
export class MountNamespace {
  private constructor(
    /** The private mount that holds the namespace file. */
    readonly dir: string,
    /** Mount points made on the host for its mounts, removed on close. */
    private readonly made: string[],
  ) {}

  /** The namespace file (`nsenter --mount=FILE`). */
  get file(): string {
    return `${this.dir}/mnt`;
  }

  /**
   * Makes a namespace whose file lives in `dir` (made, and bind-mounted on
   * itself as a private mount, as `unshare --mount=FILE` needs).
   *
   * @param dir An empty directory of the test's.
   * @returns The namespace.
   */
  static async open(dir: string): Promise<MountNamespace> {
    await _sh(
      'mkdir -p "$1" && mount --bind "$1" "$1" && mount --make-private "$1" && ' +
        'touch "$1/mnt" && unshare --mount="$1/mnt" --propagation private true',
      dir,
    );
    return new MountNamespace(dir, []);
  }

  /**
   * Mounts an empty tmpfs at a path inside the namespace; the mount point
   * is made on the host when it is missing (and removed again on close).
   *
   * @param path An absolute directory path.
   */
  async tmpfs(path: string): Promise<void> {
    if (!await Deno.lstat(path).then(() => true, () => false)) {
      const parts = path.split("/").filter(Boolean);
      for (let i = 1; i <= parts.length; i++) {
        const dir = `/${parts.slice(0, i).join("/")}`;
        if (await Deno.lstat(dir).then(() => false, () => true)) {
          await Deno.mkdir(dir);
          this.made.push(dir);
        }
      }
    }
    await this.run(["mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", path]);
  }

  /**
   * The argv that runs a command inside the namespace.
   *
   * @param argv The command.
   * @returns `nsenter --mount=FILE -- argv`.
   */
  command(argv: readonly string[]): string[] {
    return ["nsenter", `--mount=${this.file}`, "--", ...argv];
  }

  /**
   * Runs a command inside the namespace and fails on a non-zero status.
   *
   * @param argv The command.
   * @param options Its environment and working directory.
   * @returns Its stdout.
   */
  async run(
    argv: readonly string[],
    options: { env?: Record<string, string>; cwd?: string } = {},
  ): Promise<string> {
    const [command, ...args] = this.command(argv);
    const out = await new Deno.Command(command!, { args, ...options, stdin: "null" }).output();
    const text = new TextDecoder();
    if (!out.success) {
      throw new Error(`${argv.join(" ")} (in ${this.file}): ${text.decode(out.stderr).trim()}`);
    }
    return text.decode(out.stdout);
  }

  /** Lets the namespace go (it ends with its last process) and removes what it made on the host. */
  async close(): Promise<void> {
    await _sh('umount "$1/mnt"; umount "$1"; rm -f "$1/mnt"', this.dir).catch(() => {});
    for (const dir of this.made.reverse()) await Deno.remove(dir).catch(() => {});
  }
}

async function _sh(script: string, ...args: string[]): Promise<void> {
  const out = await new Deno.Command("sh", { args: ["-c", script, "sh", ...args] }).output();
  if (!out.success) {
    throw new Error(`${script}: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
}
