import { deepEqual, equal, throws } from "assert";
import { flagSet, flagValue, locateCommand, logTarget, parseInvocation } from "./argv.ts";
import { UsageError } from "../core/errors.ts";

/**
 * The shapes callers really send (containerd's go-runc, CRI-O and conmon), and the spellings
 * runc (urfave/cli over Go's flag) and crun (getopt_long) accept.
 */
const CASES: {
  name: string;
  flavour: "runc" | "crun";
  argv: string[];
  command: string;
  id: string;
  bundle?: string | undefined;
  root?: string | undefined;
  process?: string;
  config?: string;
}[] = [
  {
    name: "containerd shim create (go-runc)",
    flavour: "runc",
    argv: [
      "--root",
      "/run/containerd/runc/k8s.io",
      "--log",
      "/run/containerd/io.containerd.runtime.v2.task/k8s.io/abc/log.json",
      "--log-format",
      "json",
      "--systemd-cgroup",
      "create",
      "--bundle",
      "/run/containerd/io.containerd.runtime.v2.task/k8s.io/abc",
      "--pid-file",
      "/run/containerd/io.containerd.runtime.v2.task/k8s.io/abc/init.pid",
      "--console-socket",
      "/tmp/pty123/pty.sock",
      "abc",
    ],
    command: "create",
    id: "abc",
    bundle: "/run/containerd/io.containerd.runtime.v2.task/k8s.io/abc",
    root: "/run/containerd/runc/k8s.io",
  },
  {
    name: "containerd 1.6 with --criu and --no-pivot",
    flavour: "runc",
    argv: [
      "--root",
      "/r",
      "--log",
      "/l",
      "--log-format",
      "json",
      "--criu",
      "/usr/sbin/criu",
      "create",
      "--bundle",
      "/b",
      "--pid-file",
      "/b/init.pid",
      "--no-pivot",
      "--no-new-keyring",
      "id1",
    ],
    command: "create",
    id: "id1",
    bundle: "/b",
    root: "/r",
  },
  {
    name: "conmon create under CRI-O (--root=R equals form)",
    flavour: "runc",
    argv: [
      "--systemd-cgroup",
      "--root=/run/runc",
      "create",
      "--bundle",
      "/var/lib/containers/b",
      "--pid-file",
      "/var/lib/containers/b/pidfile",
      "ctr1",
    ],
    command: "create",
    id: "ctr1",
    bundle: "/var/lib/containers/b",
    root: "/run/runc",
  },
  {
    name: "single-dash long flags",
    flavour: "runc",
    argv: ["-root", "/r", "create", "-bundle", "/b", "id2"],
    command: "create",
    id: "id2",
    bundle: "/b",
    root: "/r",
  },
  {
    name: "aliases and equals forms: -b=x, --b x",
    flavour: "runc",
    argv: ["create", "-b=/b1", "--b", "/b1", "id3"],
    command: "create",
    id: "id3",
    bundle: "/b1",
  },
  {
    name: "no --bundle means the working directory",
    flavour: "runc",
    argv: ["create", "id4"],
    command: "create",
    id: "id4",
    bundle: undefined,
  },
  {
    name: "a bundle directory named create",
    flavour: "runc",
    argv: ["create", "--bundle", "create", "create"],
    command: "create",
    id: "create",
    bundle: "create",
  },
  {
    name: "flags after the id (urfave reordering)",
    flavour: "runc",
    argv: ["create", "id5", "--bundle", "/b5", "--preserve-fds", "2"],
    command: "create",
    id: "id5",
    bundle: "/b5",
  },
  {
    name: "global flags after the command (runc's next release)",
    flavour: "runc",
    argv: ["create", "--root", "/r6", "--log", "/l6", "--bundle", "/b6", "id6"],
    command: "create",
    id: "id6",
    bundle: "/b6",
    root: "/r6",
  },
  {
    name: "run with --detach and --keep",
    flavour: "runc",
    argv: ["run", "-d", "--keep", "--bundle", "/b7", "id7"],
    command: "run",
    id: "id7",
    bundle: "/b7",
  },
  {
    name: "containerd exec --process",
    flavour: "runc",
    argv: [
      "--root",
      "/r",
      "--log",
      "/l",
      "--log-format",
      "json",
      "exec",
      "--process",
      "/tmp/runc-process123",
      "--detach",
      "--pid-file",
      "/b/exec1.pid",
      "id8",
    ],
    command: "exec",
    id: "id8",
    root: "/r",
    process: "/tmp/runc-process123",
  },
  {
    name: "CRI-O streaming exec -p with space root",
    flavour: "runc",
    argv: ["--root", "/run/runc", "exec", "-p", "/tmp/exec-process-1", "id9"],
    command: "exec",
    id: "id9",
    root: "/run/runc",
    process: "/tmp/exec-process-1",
  },
  {
    name: "crun create with -f and an attached -b",
    flavour: "crun",
    argv: ["--root=/run/crun", "create", "-b/bundles/x", "-f", "other.json", "idA"],
    command: "create",
    id: "idA",
    bundle: "/bundles/x",
    root: "/run/crun",
    config: "other.json",
  },
  {
    name: "crun unique long prefixes",
    flavour: "crun",
    argv: ["--root", "/run/crun", "create", "--bund=/bb", "--conf", "c.json", "idB"],
    command: "create",
    id: "idB",
    bundle: "/bb",
    root: "/run/crun",
    config: "c.json",
  },
  {
    name: "crun exec with attached -pFILE and a short cluster",
    flavour: "crun",
    argv: ["exec", "-dp/tmp/exec-process-2", "idC"],
    command: "exec",
    id: "idC",
    process: "/tmp/exec-process-2",
  },
  {
    name: "conmon exec (--pid-file, --process, --detach)",
    flavour: "crun",
    argv: [
      "--root=/run/crun",
      "exec",
      "--pid-file",
      "/tmp/pidfile1",
      "--process",
      "/tmp/exec-process-3",
      "--detach",
      "idD",
    ],
    command: "exec",
    id: "idD",
    root: "/run/crun",
    process: "/tmp/exec-process-3",
  },
];

for (const c of CASES) {
  Deno.test(`parseInvocation() reads ${c.name}`, () => {
    const inv = parseInvocation(c.argv, c.flavour);
    equal(inv.command, c.command);
    equal(inv.positionals[0], c.id);
    if ("bundle" in c) equal(flagValue(inv.flags, "bundle"), c.bundle);
    if ("root" in c) equal(flagValue(inv.globals, "root"), c.root);
    if (c.process) equal(flagValue(inv.flags, "process"), c.process);
    if (c.config) equal(flagValue(inv.flags, "config"), c.config);
    equal(locateCommand(c.argv).kind, "command");
  });
}

Deno.test("parseInvocation() keeps exec's command line after the id verbatim", () => {
  const inv = parseInvocation(
    [
      "exec",
      "--user",
      "1000:1000",
      "-g",
      "50000",
      "--additional-gids=60000",
      "id",
      "sh",
      "-c",
      "id -G",
    ],
    "runc",
  );
  deepEqual(inv.positionals, ["id", "sh", "-c", "id -G"]);
  deepEqual(
    inv.flags.filter((f) => f.name === "additional-gids").map((f) => [f.value, f.start, f.end]),
    [["50000", 3, 5], ["60000", 5, 6]],
  );
  equal(flagValue(inv.flags, "user"), "1000:1000");
});

Deno.test("parseInvocation() reads bool flags without taking the next word", () => {
  const inv = parseInvocation(["run", "--detach", "id"], "runc");
  equal(flagSet(inv.flags, "detach"), true);
  deepEqual(inv.positionals, ["id"]);
  equal(flagSet(parseInvocation(["run", "--detach=false", "id"], "runc").flags, "detach"), false);
});

const REFUSED: [string, "runc" | "crun", string[], RegExp][] = [
  ["an unknown command flag", "runc", ["create", "--frobnicate", "x", "id"], /not defined/],
  ["a value flag at the end", "runc", ["create", "id", "--bundle"], /needs an argument/],
  [
    "a value that looks like a flag",
    "runc",
    ["create", "--bundle", "--pid-file", "x", "id"],
    /not by a value/,
  ],
  ["conflicting bundles", "runc", ["create", "--bundle", "/a", "-b", "/b", "id"], /twice/],
  ["a global flag repeated after the command with another value", "runc", [
    "--root",
    "/a",
    "create",
    "--root",
    "/b",
    "id",
  ], /twice/],
  ["an ambiguous crun prefix", "crun", ["exec", "--proc", "x", "id"], /ambiguous/],
  [
    "runc's single-dash long flag under crun",
    "crun",
    ["-root", "/r", "create", "id"],
    /invalid option/,
  ],
  ["a crun bool with a value", "crun", ["create", "--no-pivot=yes", "id"], /does not take/],
  ["a bad runc bool", "runc", ["run", "--detach=maybe", "id"], /invalid boolean/],
  ["bad flag syntax", "runc", ["create", "---bundle", "/b", "id"], /bad flag syntax/],
  ["no command", "runc", ["--root", "/r"], /no command/],
  [
    "a command word named like an Object.prototype member",
    "crun",
    ["--cgroup-m", "systemd", "toString", "create"],
    /toString is not an identity command/,
  ],
];

for (const [name, flavour, argv, message] of REFUSED) {
  Deno.test(`parseInvocation() refuses ${name}`, () => {
    throws(() => parseInvocation(argv, flavour), (error: unknown) => {
      return error instanceof UsageError && message.test(error.message);
    });
  });
}

Deno.test("locateCommand() finds pass-through commands without knowing the flavour", () => {
  deepEqual(locateCommand(["--root", "/r", "--log=/l", "state", "id"]), {
    kind: "command",
    name: "state",
    index: 3,
  });
  deepEqual(locateCommand(["features"]), { kind: "command", name: "features", index: 0 });
  deepEqual(locateCommand(["--cgroup-manager", "systemd", "kill", "id", "9"]), {
    kind: "command",
    name: "kill",
    index: 2,
  });
  deepEqual(locateCommand(["--version"]), { kind: "none" });
  deepEqual(locateCommand([]), { kind: "none" });
  deepEqual(locateCommand(["--weird", "create", "id"]), { kind: "unknown-flag", flag: "--weird" });
});

Deno.test("logTarget() finds the caller's --log even in an unparsable command line", () => {
  deepEqual(
    logTarget(["--root", "/r", "--log", "/b/log.json", "--log-format=json", "create", "--bogus"]),
    {
      path: "/b/log.json",
      format: "json",
    },
  );
  deepEqual(logTarget(["-log=/x", "exec"]), { path: "/x" });
  deepEqual(logTarget(["create", "id"]), {});
});

Deno.test("logTarget() takes the runtime's --log, not one among an exec's process arguments", () => {
  deepEqual(
    logTarget(["--log", "/run/l.json", "exec", "id", "sh", "--log", "/var/log/other"]),
    { path: "/run/l.json" },
  );
  deepEqual(logTarget(["exec", "id", "sh", "--log=/var/log/other"]), {});
  deepEqual(logTarget(["--log=/run/a\nb", "create", "id"]), { path: "/run/a\nb" });
});
