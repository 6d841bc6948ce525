import { deepEqual } from "assert";
import { grantedGids } from "./image_groups.ts";

const PASSWD = "root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n";

/** One row: the image's files, the uid, what both CRIs would add at most. */
const ROWS: [
  name: string,
  passwd: string | undefined,
  group: string | undefined,
  uid: number,
  gids: number[],
][] = [
  ["a member of one group", PASSWD, "staff:x:50000:alice\n", 1000, [50000]],
  [
    "every group that lists the user, ascending, once",
    PASSWD,
    "b:x:60001:bob,alice\na:x:50000:alice\nc:x:50000:alice\n",
    1000,
    [50000, 60001],
  ],
  [
    "no passwd entry for the uid: nothing (containerd, CRI-O alike)",
    PASSWD,
    "staff:x:50000:alice\n",
    2000,
    [],
  ],
  ["no /etc/passwd: nothing", undefined, "staff:x:50000:alice\n", 1000, []],
  ["no /etc/group: nothing", PASSWD, undefined, 1000, []],
  ["members are names, never uids", PASSWD, "staff:x:50000:1000\n", 1000, []],
  [
    "a group named like the user counts (CRI-O adds it; containerd leaves it out)",
    PASSWD,
    "alice:x:1000:alice\n",
    1000,
    [1000],
  ],
  [
    "every name of the uid counts",
    `${PASSWD}al:x:1000:1000::/:/bin/sh\n`,
    "x:x:50000:al\ny:x:50001:alice\n",
    1000,
    [50000, 50001],
  ],
  [
    "# lines are skipped in /etc/group",
    PASSWD,
    "#staff:x:50000:alice\n  # x:x:50001:alice\n",
    1000,
    [],
  ],
  [
    "# lines are entries in /etc/passwd (moby/sys user)",
    "#alice:x:1000:1000::/:/bin/sh\n",
    "g:x:50000:#alice\n",
    1000,
    [50000],
  ],
  [
    "lines are trimmed as Go's TrimSpace trims them, U+0085 included",
    "\u0085alice:x:1000:1000::/:/bin/sh\r\n",
    "\tg:x:50000:alice \n",
    1000,
    [50000],
  ],
  [
    "U+FEFF is no space to Go: that name is not alice",
    "\ufeffalice:x:1000:1000::/:/bin/sh\n",
    "g:x:50000:alice\n",
    1000,
    [],
  ],
  ["fields are not trimmed", PASSWD, "g:x:50000: alice\n", 1000, []],
  [
    "an id that does not parse is 0, as Go's Atoi with its error ignored",
    "alice:x:1e3:1000::/:/bin/sh\n",
    "g:x:five:alice\n",
    0,
    [0],
  ],
  [
    "ids are kept as the CRIs keep them: uint32 of the int64",
    "alice:x:4294968296:1::/:/bin/sh\n",
    "g:x:4295017296:alice\nh:x:-1:alice\n",
    1000,
    [50000, 4294967295],
  ],
  [
    "an overflowing id is clamped to int64 first",
    "alice:x:99999999999999999999:1::/:/bin/sh\n",
    "g:x:99999999999999999999:alice\n",
    4294967295,
    [4294967295],
  ],
  ["short lines have empty fields", "alice:x:1000\n", "g:x:50000\nh:x:50001:alice\n", 1000, [
    50001,
  ]],
  [
    "an empty member list entry matches an empty name",
    ":x:1000:1000::/:/bin/sh\n",
    "g:x:50000:a,,b\n",
    1000,
    [50000],
  ],
];

for (const [name, passwd, group, uid, gids] of ROWS) {
  Deno.test(`grantedGids(): ${name}`, () => {
    deepEqual(grantedGids({ passwd, group }, uid), gids);
  });
}
