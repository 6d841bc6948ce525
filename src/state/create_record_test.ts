import { deepEqual, equal } from "assert";
import { createRecords, readCreateRecord } from "./create_record.ts";

const root = Deno.uid() === 0;
if (!root) {
  console.error("\n*** SKIPPED: create record tests need root (the state is root's) ***\n");
}

const PASS = '{"uid":1000,"gid":1000,"additionalGids":[1000,60000]}';

function test(name: string, fn: (base: string) => Promise<void>) {
  Deno.test({
    name,
    ignore: !root,
    fn: async () => {
      const base = await Deno.makeTempDir({ prefix: "ssgcr-creates-" });
      try {
        await fn(base);
      } finally {
        await Deno.remove(base, { recursive: true });
      }
    },
  });
}

test("a record is dated a second before its configuration was read: a change made after the read is newer", async (base) => {
  const config = `${base}/config.toml`;
  await Deno.writeTextFile(config, 'mode = "enforce"\n');
  const readAt = new Date();
  const records = createRecords(`${base}/state/creates`, "/run/runc", {
    configPath: config,
    present: true,
    readAt,
  }, (why) => {
    throw new Error(why);
  });
  records.write("c1", undefined, { uid: 1000, imageGids: [], pass: PASS });
  // Changed right after the read: the kernel may stamp it a tick earlier than readAt.
  await Deno.writeTextFile(config, 'mode = "audit"\n');
  const changed = (await Deno.stat(config)).mtime!.getTime();
  const found = readCreateRecord(`${base}/state/creates`, "c1", (why) => {
    throw new Error(why);
  });
  equal(found?.written, readAt.getTime() - 1000);
  equal(found!.written < changed, true, "the change is newer than the record");
  deepEqual(found?.record.pass, PASS);
});

test("learn names an identity again only when the record is not in force", async (base) => {
  const config = `${base}/config.toml`;
  await Deno.writeTextFile(config, "");
  await Deno.utime(config, new Date(Date.now() - 10_000), new Date(Date.now() - 10_000));
  const dir = `${base}/state/creates`;
  const at = (readAt: Date) =>
    createRecords(dir, "/run/runc", { configPath: config, present: true, readAt }, (why) => {
      throw new Error(why);
    });
  const read = () => readCreateRecord(dir, "c1", () => {})!;
  const first = new Date();
  at(first).write("c1", undefined, { uid: 1000, imageGids: [50000], pass: "" });
  // A second exec with the same identity under the same configuration leaves the record be.
  at(first).learn("c1", undefined, PASS);
  deepEqual([read().record.pass, read().written], [PASS, first.getTime() - 1000]);
  at(new Date(first.getTime() + 5000)).learn("c1", undefined, PASS);
  equal(read().written, first.getTime() - 1000);
  // Another root's record is not this container's.
  at(new Date(first.getTime() + 6000)).learn("c1", "/run/elsewhere", "{}");
  equal(read().record.pass, PASS);
  // The configuration changed: the same identity is named again, under the new one.
  await Deno.utime(config, new Date(), new Date());
  const later = new Date(Date.now() + 3000);
  at(later).learn("c1", undefined, PASS);
  deepEqual([read().record.pass, read().written, read().record.imageGids], [
    PASS,
    later.getTime() - 1000,
    [50000],
  ]);
});
