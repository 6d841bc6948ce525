/**
 * The exec fast path is safe, as a property (docs/design.md, "Execs that
 * need nothing"): generated containers (a process user, the gids its image
 * grants, the Pod's groups, the mode, a node policy) are created through the
 * program's real decision path, which writes their create records to a real
 * state directory; generated execs into them (command lines as containerd's
 * shim, conmon and CRI-O write them, and mutations of those; process files
 * as the CRIs write them, and adversarial ones: other users, more gids,
 * another `user` in another case or escaped, a second JSON value, another
 * owner) then run through the real front end script under dash and busybox
 * sh. Whenever the front end passes an exec straight to the runtime, the
 * program, asked the very same exec, hands it off as it is: no refusal, no
 * file rewritten, the same words, a record that says unchanged.
 */

import fc from "fast-check";
import { deepStrictEqual as deepEqual, strictEqual as equal } from "assert";
import { frontEndScript } from "../src/admin/front_end.ts";
import { type Config, DEFAULT_CONFIG } from "../src/config/config.ts";
import { CREATE_RECORDS, RUNTIME_RECORD } from "../src/config/config_file.ts";
import type { Mode } from "../src/core/decision.ts";
import { RefusalError, WrapperError } from "../src/core/errors.ts";
import { OPEN_POLICY, type Policy } from "../src/core/policy.ts";
import type { Pod } from "../src/pod_source/pod_list.ts";
import { defaultStateRoot } from "../src/runtime/runtime_binary.ts";
import { createRecords } from "../src/state/create_record.ts";
import { recordText } from "../src/state/runtime_record.ts";
import { podGid, TENANT_A_ANNOTATIONS } from "./support/arbitraries.ts";
import { enforceWith, FakeNode, imageGranting, TENANT_A_POD } from "./support/fake_node.ts";

const CASES = 600;
const ROOTS = ["/run/containerd/runc/k8s.io", "/run/runc"] as const;

/** What one generated container is. */
interface Container {
  runtime: "runc" | "crun";
  root: (typeof ROOTS)[number];
  uid: number;
  gid: number;
  gids: number[];
  umask: number | undefined;
  imageGids: number[];
  pod: {
    runAsGroup?: number | undefined;
    supplementalGroups: number[];
    fsGroup?: number | undefined;
  };
  mode: Mode;
  policed: boolean;
}

const container: fc.Arbitrary<Container> = fc.record({
  runtime: fc.constantFrom("runc", "crun"),
  root: fc.constantFrom(...ROOTS),
  uid: fc.constantFrom(0, 1000, 2000),
  gid: podGid,
  gids: fc.array(podGid, { maxLength: 4 }),
  umask: fc.option(fc.constantFrom(18, 0), { nil: undefined }),
  // Most images grant nothing.
  imageGids: fc.oneof(
    { weight: 3, arbitrary: fc.constant<number[]>([]) },
    { weight: 2, arbitrary: fc.array(podGid, { maxLength: 2 }) },
  ),
  pod: fc.record({
    runAsGroup: fc.option(podGid, { nil: undefined }),
    supplementalGroups: fc.array(podGid, { maxLength: 3 }),
    fsGroup: fc.option(podGid, { nil: undefined }),
  }),
  mode: fc.constantFrom<Mode>("enforce", "enforce", "audit", "deny"),
  policed: fc.constantFrom(false, false, true),
});

/** A policy some identities break: root is refused, in enforce and deny. */
const POLICY: Policy = {
  ...OPEN_POLICY,
  defaults: { ...OPEN_POLICY.defaults, runAsUser: { rule: "MustRunAsNonRoot" } },
};

/** How an exec's process file is made, from the container's own user. */
type FileVariant =
  | "cri"
  | "terminal"
  | "more-gids"
  | "other-uid"
  | "reordered"
  | "second-user-key"
  | "escaped-user-key"
  | "spaced"
  | "second-line"
  | "no-user"
  | "umask-dropped"
  | "not-root's";

const fileVariant = fc.constantFrom<FileVariant>(
  "cri",
  "cri",
  "cri",
  "cri",
  "cri",
  "cri",
  "terminal",
  "more-gids",
  "other-uid",
  "reordered",
  "second-user-key",
  "escaped-user-key",
  "spaced",
  "second-line",
  "no-user",
  "umask-dropped",
  "not-root's",
);

/** How the exec's command line is spelled. */
type ArgvVariant =
  | "containerd"
  | "conmon"
  | "streaming"
  | "with -u"
  | "with -g"
  | "with --cwd"
  | "trailing word"
  | "other root"
  | "no root"
  | "--process="
  | "-p"
  | "second --process"
  | "second --root"
  | "other id";

const argvVariant = fc.constantFrom<ArgvVariant>(
  "containerd",
  "containerd",
  "containerd",
  "conmon",
  "conmon",
  "conmon",
  "streaming",
  "with -u",
  "with -g",
  "with --cwd",
  "trailing word",
  "other root",
  "no root",
  "--process=",
  "-p",
  "second --process",
  "second --root",
  "other id",
);

/** Strings a tenant puts in an exec's args and env: some start with u, some hold quotes. */
const word = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom("id", "cat", "/healthz", "PATH=/bin", "é") },
  fc.constantFrom("uname", "USER=x", 'say "user":{}', "a\\b"),
  fc.string({ maxLength: 6 }),
);

/** The user object as the CRIs' Go encoder writes it. */
function goUser(c: { uid: number; gid: number; umask?: number | undefined; gids: number[] }) {
  return `{"uid":${c.uid},"gid":${c.gid}${c.umask === undefined ? "" : `,"umask":${c.umask}`}${
    c.gids.length === 0 ? "" : `,"additionalGids":[${c.gids.join(",")}]`
  }}`;
}

function processFile(c: Container, variant: FileVariant, args: string[], env: string[]): string {
  const tail = `"args":${JSON.stringify(args)},"env":${JSON.stringify(env)},"cwd":"/"}`;
  const user = (u: Parameters<typeof goUser>[0]) => `{"user":${goUser(u)},${tail}`;
  switch (variant) {
    case "cri":
    case "not-root's":
      return `${user(c)}\n`;
    case "terminal":
      return `{"terminal":true,"user":${goUser(c)},${tail}`;
    case "more-gids":
      return user({ ...c, gids: [...c.gids, ...c.imageGids, 50000] });
    case "other-uid":
      return user({ ...c, uid: c.uid === 0 ? 1000 : 0 });
    case "reordered":
      return user({ ...c, gids: [...c.gids].reverse() });
    case "second-user-key":
      return `{"user":${goUser(c)},${tail.slice(0, -1)},"User":{"uid":0,"gid":0}}`;
    case "escaped-user-key":
      return `{"user":${goUser(c)},${tail.slice(0, -1)},"\\u0075ser":{"uid":0,"gid":0}}`;
    case "spaced":
      return `{ "user": ${goUser(c)}, ${tail}`;
    case "second-line":
      return `${user(c)}\n{"user":{"uid":0,"gid":0}}\n`;
    case "no-user":
      return `{${tail}`;
    case "umask-dropped":
      return user({ ...c, umask: undefined });
  }
}

function execArgv(
  c: Container,
  variant: ArgvVariant,
  id: string,
  file: string,
  otherId: string,
): string[] {
  const containerd = [
    ...["--root", c.root, "--log", "/tmp/log.json", "--log-format", "json", "exec"],
    ...["--process", file, "--detach", "--pid-file", "/tmp/exec.pid", id],
  ];
  switch (variant) {
    case "containerd":
      return containerd;
    case "conmon":
      return [
        `--root=${c.root}`,
        "exec",
        "--pid-file",
        "/tmp/p",
        "--process",
        file,
        "--detach",
        id,
      ];
    case "streaming":
      return ["--root", c.root, "exec", "--process", file, id];
    case "with -u":
      return ["--root", c.root, "exec", "-u", "0", "--process", file, id];
    case "with -g":
      return ["--root", c.root, "exec", "-g", "50000", "--process", file, id];
    case "with --cwd":
      return ["--root", c.root, "exec", "--cwd", "/", "--process", file, id];
    case "trailing word":
      return [...containerd, "sh"];
    case "other root":
      return ["--root", "/run/elsewhere", "exec", "--process", file, id];
    case "no root":
      return ["exec", "--process", file, id];
    case "--process=":
      return ["--root", c.root, "exec", `--process=${file}`, id];
    case "-p":
      return ["--root", c.root, "exec", "-p", file, id];
    case "second --process":
      return ["--root", c.root, "exec", "--process", "/dev/null", "--process", file, id];
    case "second --root":
      return ["--root", "/run/elsewhere", `--root=${c.root}`, "exec", "--process", file, id];
    case "other id":
      return ["--root", c.root, "exec", "--process", file, otherId];
  }
}

function podOf(c: Container): Pod {
  return {
    metadata: TENANT_A_POD.metadata!,
    spec: {
      securityContext: Object.fromEntries(
        Object.entries(c.pod).filter(([, value]) => value !== undefined),
      ),
      containers: [{ name: "main" }],
    },
  };
}

function configFor(c: Container): Config {
  return {
    ...DEFAULT_CONFIG,
    runtime: c.runtime,
    mode: c.mode,
    policy: c.policed ? POLICY : OPEN_POLICY,
  };
}

Deno.test({
  name: "the front end passes an exec straight through only when the program would hand it off " +
    "as it is",
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "ssgcr-fast-exec-" });
    const state = `${dir}/state`;
    const creates = `${state}/${CREATE_RECORDS}`;
    const config = `${dir}/config.toml`;
    const frontEnd = `${dir}/front-end`;
    try {
      await Deno.mkdir(creates, { recursive: true, mode: 0o700 });
      await Deno.chmod(state, 0o700);
      await Deno.writeTextFile(config, "# the program's configuration\n");
      await Deno.utime(config, new Date(2020, 0, 1), new Date(2020, 0, 1));
      for (const [name, says] of [["runtime", "RUNTIME"], ["program", "PROGRAM"]]) {
        await Deno.writeTextFile(`${dir}/${name}`, `#!/bin/sh\necho ${says}\n`, { mode: 0o755 });
      }
      await Deno.writeTextFile(
        `${state}/${RUNTIME_RECORD}`,
        recordText(config, `${dir}/runtime`, true),
      );
      await Deno.writeTextFile(
        frontEnd,
        frontEndScript({
          program: `${dir}/program`,
          record: `${state}/${RUNTIME_RECORD}`,
          configDefault: config,
        }),
      );
      const counts = { cases: 0, fast: 0, created: 0 };
      let serial = 0;
      await fc.assert(
        fc.asyncProperty(
          container,
          argvVariant,
          fileVariant,
          fc.array(word, { minLength: 1, maxLength: 3 }),
          fc.array(word, { maxLength: 2 }),
          async (c, argvKind, fileKind, args, env) => {
            counts.cases++;
            const id = `c${++serial}`;
            const node = new FakeNode();
            node.pods = [podOf(c)];
            node.root = c.root;
            node.realRecords = createRecords(creates, defaultStateRoot(c.runtime), {
              configPath: config,
              present: true,
              readAt: new Date(),
            }, (why) => {
              throw new Error(why);
            });
            // The container, created through the program's own decision path.
            const bundle = `/bundles/${id}`;
            node.files.set(
              `${bundle}/config.json`,
              JSON.stringify({
                process: {
                  user: {
                    uid: c.uid,
                    gid: c.gid,
                    ...c.umask === undefined ? {} : { umask: c.umask },
                    additionalGids: c.gids,
                  },
                  args: ["sleep", "60"],
                },
                root: { path: "rootfs" },
                annotations: TENANT_A_ANNOTATIONS,
              }),
            );
            node.images.set(`${bundle}/rootfs`, imageGranting(c.uid, c.imageGids));
            const created = await enforceWith(
              configFor(c),
              ["--root", c.root, "create", "--bundle", bundle, id],
              node,
            ).then(() => true, (error) => {
              if (!(error instanceof RefusalError)) throw error;
              return false;
            });
            if (created) counts.created++;

            // The exec, through the real front end under two shells.
            const file = `${dir}/exec-process-${id}`;
            await Deno.writeTextFile(file, processFile(c, fileKind, args, env));
            if (fileKind === "not-root's") await Deno.chown(file, 65534, 65534);
            // "other id": a container the wrapper never created has no record.
            const argv = execArgv(c, argvKind, id, file, `${id}-not-created`);
            const routes = [];
            for (const shell of [["dash"], ["busybox", "sh"]]) {
              const out = await new Deno.Command(shell[0]!, {
                args: [...shell.slice(1), frontEnd, ...argv],
                env: { STRICT_SUPPLEMENTALGROUPS_CONFIG: config },
                clearEnv: true,
              }).output();
              routes.push(new TextDecoder().decode(out.stdout).trim());
            }
            equal(routes[0], routes[1], "dash and busybox sh route the exec alike");
            if (routes[0] !== "RUNTIME") {
              equal(routes[0], "PROGRAM");
              return;
            }

            // Passed straight through: the program must hand it off as it is.
            counts.fast++;
            node.files.set(file, await Deno.readTextFile(file));
            const handed = node.handed.length;
            const written = node.written.length;
            try {
              equal(await enforceWith(configFor(c), argv, node), 0);
            } catch (error) {
              throw new Error(
                `the front end passed an exec the program ${
                  error instanceof WrapperError ? "refuses" : "fails"
                }: ${(error as Error).message}`,
              );
            }
            deepEqual(node.handed.slice(handed), [{ runtime: c.runtime, args: argv }]);
            deepEqual(node.written.slice(written), [], "the program rewrites nothing");
            const record = node.logs.findLast((r) => r.msg === "decision" && r.command === "exec");
            equal(record?.verdict, "unchanged");
          },
        ),
        { numRuns: CASES },
      );
      console.log(
        `front end exec property: ${counts.cases} execs into ${counts.created} created ` +
          `containers, ${counts.fast} passed straight through, each one the program hands off as it is`,
      );
      equal(
        counts.fast > CASES / 20,
        true,
        "the fast path was taken often enough to mean something",
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
