/**
 * The README and docs/ render as written: checked on the HTML a Markdown
 * renderer makes of them, not on their source (a wrapped `>= 2.0` at the
 * start of a line once turned the README's pitch into a blockquote), and
 * every relative link points at a file of the repository.
 */

import { deepEqual, equal } from "assert";
import { marked } from "marked";
import { REPO } from "./support/wrapper.ts";

const DOCS = [
  "README.md",
  ...(await Array.fromAsync(Deno.readDir(`${REPO}/docs`))).map((e) => `docs/${e.name}`).sort(),
];

/** The HTML of a Markdown file. */
async function html(path: string): Promise<string> {
  return await marked.parse(await Deno.readTextFile(`${REPO}/${path}`), { gfm: true });
}

Deno.test("the README's first screen renders as paragraphs, with no stray quote or list", async () => {
  const page = await html("README.md");
  const first = page.slice(0, page.indexOf("<h2>Try it</h2>"));
  equal(first.includes("<blockquote>"), false, first);
  equal(/<[ou]l>/.test(first), false, "no list made by a wrapped line");
  equal(first.includes("containerd 2.0 or CRI-O 1.31"), true);
});

Deno.test("no page has a blockquote, and every relative link resolves", async () => {
  for (const path of DOCS) {
    const page = await html(path);
    equal(page.includes("<blockquote>"), false, `${path} has a blockquote`);
    const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : ".";
    const broken: string[] = [];
    for (const [, href] of page.matchAll(/href="([^"#:]+)(?:#[^"]*)?"/g)) {
      const target = `${REPO}/${dir}/${href}`;
      if (!await Deno.stat(target).then(() => true, () => false)) broken.push(href!);
    }
    deepEqual(broken, [], `${path}: links to missing files`);
  }
});

Deno.test("the README stays a short front door", async () => {
  const lines = (await Deno.readTextFile(`${REPO}/README.md`)).split("\n").length;
  equal(lines <= 150, true, `README.md has ${lines} lines`);
});
