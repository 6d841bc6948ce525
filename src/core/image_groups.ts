/**
 * The groups an image grants a user: what containerd's CRI and CRI-O add to
 * a container's `additionalGids` from the image's `/etc/passwd` and
 * `/etc/group` when the Pod's `supplementalGroupsPolicy` is `Merge` (the
 * default), and what KEP-3619's `Strict` leaves out. Pure: the files' text
 * comes in.
 *
 * Both CRIs find the user's name in `/etc/passwd` and take every group of
 * `/etc/group` whose member list names it (containerd `oci/spec_opts.go`
 * WithAdditionalGIDs, cri-o `utils.GetUserInfo` with moby/sys `user`
 * GetExecUser), parsing as moby/sys `user` does: a line is split on `:`
 * with missing fields empty, a number that does not parse counts as 0,
 * `/etc/group` skips blank and `#` lines, a member list is split on `,`.
 * They differ at the edges: containerd names the user by the first entry
 * of its uid (or by `runAsUsername`) and leaves out a group named like the
 * user; CRI-O names it by name or uid and adds nothing when the image's
 * `USER` has a `:group`. The grant here is the union over every name the
 * uid has, with no group left out: a superset of what either CRI adds, so
 * that no image-granted gid is ever taken for one the kubelet sent. Ids are
 * compared as the CRIs store them, as uint32.
 *
 * @module
 */

/**
 * The gids an image's account files grant a uid, ascending.
 *
 * @param files The image's `/etc/passwd` and `/etc/group` (absent: no entries).
 * @param uid The process's uid.
 * @returns The gids of every group whose member list names one of the uid's names.
 *
 * @example alice (1000) is a member of bypassed-group (50000)
 * ```ts
 * import { deepEqual } from "assert";
 * import { grantedGids } from "./image_groups.ts";
 *
 * const files = {
 *   passwd: "root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n",
 *   group: "root:x:0:\nalice:x:1000:\nbypassed-group:x:50000:alice\n# staff:x:50:alice\n",
 * };
 * deepEqual(grantedGids(files, 1000), [50000]);
 * deepEqual(grantedGids(files, 2000), []);
 * ```
 */
export function grantedGids(
  files: { readonly passwd?: string | undefined; readonly group?: string | undefined },
  uid: number,
): number[] {
  const names = new Set<string>();
  for (const fields of _lines(files.passwd, { comments: false })) {
    if (_asUint32(fields[2]) === uid) names.add(fields[0] ?? "");
  }
  if (names.size === 0) return [];
  const gids = new Set<number>();
  for (const fields of _lines(files.group, { comments: true })) {
    const members = (fields[3] ?? "") === "" ? [] : fields[3]!.split(",");
    if (members.some((member) => names.has(member))) gids.add(_asUint32(fields[2]));
  }
  return [...gids].sort((a, b) => a - b);
}

/**
 * Go's `bytes.TrimSpace` (unicode.IsSpace), which differs from JavaScript's
 * `trim()`: it trims U+0085 and keeps U+FEFF.
 */
const GO_SPACE =
  /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/g;

/**
 * The lines of an account file as moby/sys `user` reads them: each line
 * trimmed of surrounding white space, blank lines skipped (and in
 * `/etc/group`, lines starting with `#`), split on `:`.
 */
function* _lines(text: string | undefined, options: { comments: boolean }): Iterable<string[]> {
  for (const raw of (text ?? "").split("\n")) {
    const line = raw.replace(GO_SPACE, "");
    if (line === "" || (options.comments && line.startsWith("#"))) continue;
    yield line.split(":");
  }
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * An id field as the CRIs turn it into an OCI id: Go's `strconv.Atoi` with
 * its error ignored (what does not parse is 0, what overflows is clamped to
 * int64), then `uint32(…)`, which keeps the low 32 bits. So `4295017296`
 * in an image's `/etc/group` is gid 50000 in the spec, and is matched as such.
 */
function _asUint32(field: string | undefined): number {
  if (field === undefined || !/^[+-]?\d+$/.test(field)) return 0;
  let value = BigInt(field);
  if (value < INT64_MIN) value = INT64_MIN;
  if (value > INT64_MAX) value = INT64_MAX;
  return Number(BigInt.asUintN(32, value));
}
