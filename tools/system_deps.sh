#!/usr/bin/env bash
# Installs the system packages the demo and the tests use: runc (the real
# low-level runtime), openssl (test CAs), busybox-static (the test rootfs),
# procps, and for the e2e containerd and umoci.
# Needs root; without it, says what is missing and leaves the rest to the
# tests, which report such prerequisites as skipped.
set -euo pipefail
missing=()
command -v runc >/dev/null || missing+=(runc)
command -v openssl >/dev/null || missing+=(openssl)
[ -x /bin/busybox ] || missing+=(busybox-static)
command -v pgrep >/dev/null || missing+=(procps)
# The containerd e2e: containerd 1.6 (its CRI plugin) and umoci to build the image.
command -v containerd >/dev/null || missing+=(containerd)
command -v umoci >/dev/null || missing+=(umoci)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "system-deps: not root; cannot install ${missing[*]} (tests that need them will be skipped)" >&2
  exit 0
fi
echo "system-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
