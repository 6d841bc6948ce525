import { deepEqual, equal, throws } from "assert";
import { SpecError } from "../core/errors.ts";
import { assertOnlyGidsChanged } from "../../tests/support/json_source.ts";
import { parseSpec, readAnnotations, readUser, withAdditionalGids } from "./spec.ts";

const CONTAINERD = await Deno.readTextFile(
  new URL("../../tests/testdata/containerd-config.json", import.meta.url),
);

Deno.test("withAdditionalGids() changes only additionalGids and keeps 2^64-1 and 2^63-1 byte-exact", () => {
  const doc = parseSpec(CONTAINERD, { path: "config.json", kind: "config" });
  const text = withAdditionalGids(doc, [1000, 60000]);
  equal(text.includes('"hard":18446744073709551615,"soft":18446744073709551615'), true);
  equal(text.includes('"limit":9223372036854775807'), true);
  const expected = JSON.parse(CONTAINERD);
  expected.process.user.additionalGids = [1000, 60000];
  // Compare everything else through a lossless parse of both sides.
  equal(
    withAdditionalGids(parseSpec(text, { path: "x", kind: "config" }), [1000, 60000]),
    text,
  );
  deepEqual(Object.keys(JSON.parse(text)), Object.keys(expected));
  deepEqual(JSON.parse(text).process.user.additionalGids, [1000, 60000]);
});

Deno.test("withAdditionalGids() round-trips a real spec unchanged apart from whitespace", () => {
  const doc = parseSpec(CONTAINERD, { path: "config.json", kind: "config" });
  const same = withAdditionalGids(doc, readUser(doc).additionalGids);
  equal(same, CONTAINERD.replace(/\s+(?=(?:[^"]*"[^"]*")*[^"]*$)/g, ""));
});

Deno.test("readUser() and readAnnotations() read a containerd spec", () => {
  const doc = parseSpec(CONTAINERD, { path: "config.json", kind: "config" });
  deepEqual(readUser(doc), { uid: 1000, gid: 1000, additionalGids: [1000, 50000, 60000] });
  equal(readAnnotations(doc).get("io.kubernetes.cri.sandbox-name"), "app");
});

Deno.test("withAdditionalGids() rewrites an exec process file and keeps unknown fields", () => {
  const text = '{"user":{"uid":1,"gid":2,"additionalGids":[2,3],"umask":18},"args":["id"],' +
    '"x-unknown":{"n":123456789012345678901234567890}}';
  const doc = parseSpec(text, { path: "p.json", kind: "process" });
  equal(
    withAdditionalGids(doc, [2]),
    '{"user":{"uid":1,"gid":2,"additionalGids":[2],"umask":18},"args":["id"],' +
      '"x-unknown":{"n":123456789012345678901234567890}}',
  );
});

Deno.test("withAdditionalGids() adds the list when the CRI wrote none", () => {
  const doc = parseSpec('{"process":{"user":{"uid":0,"gid":0}}}', { path: "c", kind: "config" });
  deepEqual(readUser(doc).additionalGids, []);
  equal(
    withAdditionalGids(doc, [0]),
    '{"process":{"user":{"uid":0,"gid":0,"additionalGids":[0]}}}',
  );
});

const BAD: [string, string, "config" | "process", RegExp][] = [
  ["malformed JSON", "{", "config", /not valid JSON/],
  ["an empty file", "", "config", /not valid JSON/],
  ["an array", "[]", "config", /not a JSON object/],
  ["no process", "{}", "config", /process: missing/],
  ["no user", '{"process":{}}', "config", /process\.user: missing/],
  [
    "a negative gid",
    '{"process":{"user":{"uid":0,"gid":0,"additionalGids":[-1]}}}',
    "config",
    /additionalGids\[0\]: -1 is not an id/,
  ],
  [
    "a gid beyond uint32",
    '{"user":{"uid":0,"gid":0,"additionalGids":[4294967296]}}',
    "process",
    /4294967296 is not an id/,
  ],
  ["a fractional gid", '{"user":{"uid":0,"gid":1.5}}', "process", /gid: 1\.5 is not an id/],
  ["a gid written 1.0", '{"user":{"uid":0,"gid":1.0}}', "process", /gid: 1\.0 is not an id/],
  ["a string gid", '{"user":{"uid":0,"gid":"0"}}', "process", /gid: "0" is not an id/],
  ["a non-array list", '{"user":{"uid":0,"gid":0,"additionalGids":5}}', "process", /not an array/],
  [
    "a case variant runc would read",
    '{"user":{"uid":0,"gid":0,"AdditionalGids":[50000]}}',
    "process",
    /case variant/,
  ],
  ["a case variant of user", '{"process":{"User":{"uid":0,"gid":0}}}', "config", /case variant/],
];

for (const [name, text, kind, message] of BAD) {
  Deno.test(`readUser() refuses ${name}`, () => {
    throws(() => readUser(parseSpec(text, { path: "f.json", kind })), (error: unknown) => {
      return error instanceof SpecError && message.test(error.message);
    });
  });
}

Deno.test("readUser() may report a missing exec user as absent", () => {
  equal(
    readUser(parseSpec('{"args":["id"]}', { path: "p", kind: "process" }), { optional: true }),
    undefined,
  );
});

Deno.test("readAnnotations() refuses non-string values", () => {
  throws(
    () => readAnnotations(parseSpec('{"annotations":{"a":1}}', { path: "c", kind: "config" })),
    SpecError,
  );
});

const fixture = (name: string) =>
  Deno.readTextFile(new URL(`../../tests/testdata/${name}`, import.meta.url));

for (
  const [name, kind] of [
    ["crio-config.json", "config"],
    ["containerd-exec-process.json", "process"],
    ["crio-exec-process.json", "process"],
  ] as const
) {
  Deno.test(`withAdditionalGids() rewrites ${name} as the CRI wrote it, only its gids`, async () => {
    const original = await fixture(name);
    const doc = parseSpec(original, { path: name, kind });
    deepEqual(readUser(doc), { uid: 1000, gid: 1000, additionalGids: [1000, 50000, 60000] });
    const rewritten = withAdditionalGids(doc, [1000, 60000]);
    assertOnlyGidsChanged(original, rewritten, [1000, 60000], kind);
    const big = "18446744073709551615";
    equal(rewritten.includes(big), original.includes(big), "a 2^64-1 rlimit survives");
  });
}

Deno.test("readAnnotations() reads CRI-O's own keys after the Pod's copied annotations", async () => {
  const doc = parseSpec(await fixture("crio-config.json"), { path: "c", kind: "config" });
  const annotations = readAnnotations(doc);
  equal(annotations.get("io.kubernetes.cri-o.ContainerType"), "container");
  equal(annotations.get("io.kubernetes.pod.namespace"), "tenant-a");
  equal(annotations.get("example.com/team"), "a");
});
