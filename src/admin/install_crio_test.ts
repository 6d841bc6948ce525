import { deepEqual, ok, throws } from "assert";
import { parsePlainToml as parse } from "../../tests/support/plain_toml.ts";
import { assertNoOtherHandler, crioDropIn, crioEnvWarnings, isOurDropIn } from "./install_crio.ts";

const OPTIONS = { handler: "strict-supplementalgroups", binary: "/usr/local/bin/ssgcr" };

for (
  const [runtime, root] of [
    ["runc", "/run/runc"],
    ["crun", "/run/crun"],
    ["/usr/local/bin/crun", "/run/crun"],
  ] as const
) {
  Deno.test(`crioDropIn() with runtime ${runtime} sets runtime_root ${root} and conmon's PATH`, () => {
    const text = crioDropIn(OPTIONS, runtime);
    ok(isOurDropIn(text));
    deepEqual(parse(text), {
      crio: {
        runtime: {
          runtimes: {
            "strict-supplementalgroups": {
              runtime_path: OPTIONS.binary,
              runtime_type: "oci",
              runtime_root: root,
              // conmon's whole environment (CRI-O's default handler's PATH).
              monitor_env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            },
          },
        },
      },
    });
  });
}

Deno.test("assertNoOtherHandler() refuses a handler defined in another file", () => {
  const files = [
    { path: "/etc/crio/crio.conf", text: '[crio.runtime]\ndefault_runtime = "crun"\n' },
    {
      path: "/etc/crio/crio.conf.d/10-mine.conf",
      text: '[crio.runtime.runtimes.strict-supplementalgroups]\nruntime_path = "/bin/x"\n',
    },
  ];
  throws(
    () => assertNoOtherHandler(files, OPTIONS.handler),
    /10-mine.conf: runtime handler "strict-supplementalgroups" is already defined there/,
  );
  assertNoOtherHandler(files.slice(0, 1), OPTIONS.handler);
});

Deno.test("assertNoOtherHandler() refuses a CRI-O file it cannot read", () => {
  throws(
    () => assertNoOtherHandler([{ path: "crio.conf", text: "[crio\n" }], OPTIONS.handler),
    /cannot read a CRI-O config file: crio.conf:1:/,
  );
});

Deno.test("isOurDropIn() does not claim an operator's file", () => {
  ok(!isOurDropIn('[crio.runtime.runtimes.strict-supplementalgroups]\nruntime_path = "/x"\n'));
});

Deno.test("crioEnvWarnings() names a conmon_env that would replace the handler's monitor_env", () => {
  deepEqual(
    crioEnvWarnings([
      { path: "/etc/crio/crio.conf", text: '[crio.runtime]\nconmon_env = ["PATH=/x"]\n' },
      { path: "/etc/crio/crio.conf.d/10-empty.conf", text: "[crio.runtime]\nconmon_env = []\n" },
    ]).map((warning) => warning.slice(0, warning.indexOf(":"))),
    ["/etc/crio/crio.conf"],
  );
});
