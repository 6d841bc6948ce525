import { deepEqual, equal, ok, throws } from "assert";
import { parsePlainToml as parse } from "../../tests/support/plain_toml.ts";
import { addContainerdHandler, removeContainerdHandler, RUNC_SHIM } from "./install_containerd.ts";

const OPTIONS = { handler: "strict-supplementalgroups", binary: "/usr/local/bin/ssgcr" };
const V2 = `# operator: tuned for the GPU nodes
version = 2

[plugins]
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = true
`;
const V3 = await Deno.readTextFile(
  new URL("../../tests/testdata/containerd-v3.toml", import.meta.url),
);
const V1 = await Deno.readTextFile(
  new URL("../../tests/testdata/containerd-v1.toml", import.meta.url),
);

function handlerOf(text: string, plugin: string, name = OPTIONS.handler) {
  // deno-lint-ignore no-explicit-any
  return (parse(text) as any).plugins[plugin].containerd.runtimes[name];
}

Deno.test("addContainerdHandler() appends one block and keeps every byte before it", () => {
  const edit = addContainerdHandler(V2, "config.toml", OPTIONS);
  equal(edit.change, "added");
  equal(edit.version, 2);
  ok(edit.text.startsWith(V2 + "\n# >>> strict-supplementalgroups"));
  ok(edit.text.endsWith(`# <<< strict-supplementalgroups: runtime handler "${OPTIONS.handler}"\n`));
});

Deno.test("addContainerdHandler() copies the default runtime's settings (SystemdCgroup)", () => {
  const handler = handlerOf(
    addContainerdHandler(V2, "config.toml", OPTIONS).text,
    "io.containerd.grpc.v1.cri",
  );
  deepEqual(handler, {
    runtime_type: RUNC_SHIM,
    options: { SystemdCgroup: true, BinaryName: OPTIONS.binary },
  });
});

Deno.test("addContainerdHandler() uses the version 3 plugin name on containerd 2.x files", () => {
  const edit = addContainerdHandler(V3, "config.toml", OPTIONS);
  equal(edit.version, 3);
  const handler = handlerOf(edit.text, "io.containerd.cri.v1.runtime");
  equal(handler.runtime_type, RUNC_SHIM);
  equal(handler.sandboxer, "podsandbox");
  deepEqual(handler.options, { Root: "", SystemdCgroup: true, BinaryName: OPTIONS.binary });
  deepEqual(edit.warnings, [], "containerd 2.x merges imported plugin sections");
});

Deno.test("addContainerdHandler() a second time changes nothing", () => {
  const once = addContainerdHandler(V3, "config.toml", OPTIONS).text;
  const twice = addContainerdHandler(once, "config.toml", OPTIONS);
  equal(twice.change, "unchanged");
  equal(twice.text, once);
});

Deno.test("addContainerdHandler() updates its own block in place when the binary moves", () => {
  const once = addContainerdHandler(V2 + "\n# after\n", "config.toml", OPTIONS).text;
  const moved = addContainerdHandler(once, "config.toml", { ...OPTIONS, binary: "/opt/ssgcr" });
  equal(moved.change, "updated");
  equal(moved.text, once.replace(`"${OPTIONS.binary}"`, '"/opt/ssgcr"'));
});

Deno.test("addContainerdHandler() refuses a version 1 file", () => {
  throws(() => addContainerdHandler(V1, "config.toml", OPTIONS), /version 1 containerd config/);
  throws(
    () => addContainerdHandler("version = 1\n", "config.toml", OPTIONS),
    /version 1 containerd config \(version = 1\)/,
  );
});

Deno.test("addContainerdHandler() refuses a different definition of the handler", () => {
  const other =
    `${V2}    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.strict-supplementalgroups]
      runtime_type = "io.containerd.kata.v2"
`;
  throws(
    () => addContainerdHandler(other, "config.toml", OPTIONS),
    /config.toml: runtime handler "strict-supplementalgroups" is already defined \(runtime_type "io.containerd.kata.v2", BinaryName unset\)/,
  );
});

Deno.test("addContainerdHandler() accepts an identical definition the operator wrote", () => {
  const same =
    `${V2}[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.strict-supplementalgroups]
  runtime_type = "io.containerd.runc.v2"
  options = { BinaryName = "${OPTIONS.binary}" }
`;
  equal(addContainerdHandler(same, "config.toml", OPTIONS).change, "unchanged");
});

Deno.test("addContainerdHandler() refuses when the CRI plugin is disabled", () => {
  throws(
    () => addContainerdHandler('version = 2\ndisabled_plugins = ["cri"]\n', "c.toml", OPTIONS),
    /the CRI plugin is disabled \(disabled_plugins contains "cri"\)/,
  );
});

Deno.test("addContainerdHandler() refuses an edit that would not parse, and says nothing was written", () => {
  const inline = 'version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd]\n' +
    'runtimes = { runc = { runtime_type = "io.containerd.runc.v2" } }\n';
  throws(() => addContainerdHandler(inline, "c.toml", OPTIONS), /nothing was written/);
});

Deno.test("addContainerdHandler() refuses a file that is not TOML, naming line and column", () => {
  throws(
    () => addContainerdHandler("version = 2\n[plugins\n", "c.toml", OPTIONS),
    /cannot read the containerd config: c.toml:2:/,
  );
});

Deno.test("addContainerdHandler() warns that containerd 1.x imports replace the CRI section", () => {
  const edit = addContainerdHandler(
    'version = 2\nimports = ["/etc/containerd/conf.d/*.toml"]\n',
    "c.toml",
    OPTIONS,
  );
  equal(edit.warnings.length, 1);
  ok(edit.warnings[0]!.includes("replaces this file's whole CRI section"));
});

Deno.test("removeContainerdHandler() gives back the text before the block", () => {
  for (const original of [V2, V3, V2 + "\n\n# trailing blank lines kept\n\n"]) {
    const added = addContainerdHandler(original, "c.toml", OPTIONS).text;
    equal(removeContainerdHandler(added, "c.toml", OPTIONS.handler), original);
  }
  equal(removeContainerdHandler(V2, "c.toml", OPTIONS.handler), undefined);
});

Deno.test("removeContainerdHandler() refuses a block whose end marker is gone", () => {
  const added = addContainerdHandler(V2, "c.toml", OPTIONS).text;
  const cut = added.slice(0, added.indexOf("# <<<"));
  throws(() => removeContainerdHandler(cut, "c.toml", OPTIONS.handler), /has no end marker/);
});
