#!/usr/bin/env bash
# Installs the system packages the demo and the tests use: runc and crun (the
# real low-level runtimes), openssl (test CAs), busybox-static (the test rootfs),
# procps, GNU time (make bench), Prometheus (the metrics test scrapes the
# exporter with it), for the e2e containerd and umoci, and conmon (the CRI-O
# tests drive the wrapper through it). Also unpacks Debian's kubernetes-client
# (kubectl 1.20 with its old built-in kustomize) into .tools/, where the
# deploy/ tests render the overlays with it; it is not installed system-wide,
# so it never shadows a newer kubectl.
# Needs root; without it, says what is missing and leaves the rest to the
# tests, which report such prerequisites as skipped.
set -euo pipefail
tools="$(cd "$(dirname "$0")/.." && pwd)/.tools"
missing=()
command -v runc >/dev/null || missing+=(runc)
command -v crun >/dev/null || missing+=(crun)
command -v openssl >/dev/null || missing+=(openssl)
[ -x /bin/busybox ] || missing+=(busybox-static)
command -v pgrep >/dev/null || missing+=(procps)
# make bench: GNU time for peak memory.
[ -x /usr/bin/time ] || missing+=(time)
# The metrics test: a real Prometheus (started by the test; the package's service is not used).
command -v prometheus >/dev/null || missing+=(prometheus)
# The containerd e2e: containerd 1.6 (its CRI plugin) and umoci to build the image.
command -v containerd >/dev/null || missing+=(containerd)
command -v umoci >/dev/null || missing+=(umoci)
# The CRI-O tests: conmon, which starts the runtime as CRI-O has it do.
command -v conmon >/dev/null || missing+=(conmon)
# The runtime matrix (tools/fetch_runtimes.ts): newer suites' runc and crun run with their own glibc.
command -v patchelf >/dev/null || missing+=(patchelf)
need_kubectl=0
[ -x "$tools/kubernetes-client/usr/bin/kubectl" ] || need_kubectl=1
[ ${#missing[@]} -eq 0 ] && [ $need_kubectl -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "system-deps: not root; cannot install ${missing[*]} (tests that need them will be skipped)" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
if [ ${#missing[@]} -gt 0 ]; then
  echo "system-deps: installing ${missing[*]}"
  # Without apt-utils, debconf says so on every install: noise about nothing the user did.
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    2> >(grep -v '^debconf: delaying package configuration' >&2)
fi
if [ $need_kubectl -eq 1 ]; then
  echo "system-deps: unpacking Debian's kubernetes-client into $tools/kubernetes-client"
  scratch=$(mktemp -d)
  (cd "$scratch" && apt-get download -qq kubernetes-client 2>/dev/null)
  mkdir -p "$tools/kubernetes-client"
  dpkg-deb -x "$scratch"/kubernetes-client_*.deb "$tools/kubernetes-client"
  rm -rf "$scratch"
fi
