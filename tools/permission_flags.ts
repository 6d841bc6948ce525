/**
 * Renders a permission set of `deno.json` as explicit `--allow-*` flags, so
 * that the compiled binary, the launcher and the tests all run with the one
 * set declared there (docs/security.md), and an operator can read it in the
 * launcher itself.
 *
 * @module
 */

/** Permission names in the order they are rendered. */
const KINDS = ["read", "write", "run", "net", "env", "sys"] as const;

/**
 * Reads a permission set from a `deno.json`.
 *
 * @param configPath Path of deno.json.
 * @param name The set's name.
 * @returns `--allow-*` flags, one per kind; never `--allow-all`.
 * @throws {Error} When the set is missing or malformed.
 */
export async function permissionFlags(configPath: string, name: string): Promise<string[]> {
  const config = JSON.parse(await Deno.readTextFile(configPath));
  const set = config.permissions?.[name];
  if (set === undefined) throw new Error(`${configPath}: no permission set ${name}`);
  const flags: string[] = [];
  for (const kind of KINDS) {
    const value = set[kind];
    if (value === undefined || value === false) continue;
    // A kind is `true`, a list of what is allowed, or { allow, deny, ignore }
    // (ignored reads of other env variables answer `undefined` instead of throwing).
    const parts = Array.isArray(value) || value === true ? { allow: value } : value;
    for (const mode of ["allow", "deny", "ignore"] as const) {
      const part = parts[mode];
      if (part === undefined || part === false) continue;
      if (part !== true && !Array.isArray(part)) {
        throw new Error(`${configPath}: permission set ${name}: ${kind}.${mode} is malformed`);
      }
      flags.push(part === true ? `--${mode}-${kind}` : `--${mode}-${kind}=${part.join(",")}`);
    }
  }
  return flags;
}

if (import.meta.main) {
  console.log((await permissionFlags(Deno.args[0]!, Deno.args[1]!)).join(" "));
}
