import { deepEqual } from "assert";
import { RUNTIME_DIRS } from "./runtime_binary.ts";

Deno.test("the wrapper's permission set may look at and run runc and crun wherever a bare name is looked up without PATH", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("../../deno.json", import.meta.url)));
  const { read, run } = config.permissions.runtime as { read: string[]; run: string[] };
  const wanted = ["runc", "crun"].flatMap((name) => RUNTIME_DIRS.map((dir) => `${dir}/${name}`));
  deepEqual(wanted.filter((path) => !run.includes(path)), []);
  deepEqual(wanted.filter((path) => !read.includes(path)), []);
  deepEqual(config.permissions.runtime.env.allow.includes("PATH"), true);
});
