#!/usr/bin/env bash
# Installs what sctpdiag's tests and lab need on a Debian 12 machine, then the
# npm dependencies. Idempotent: packages already present are not touched.
# Used by .ci/run and by the README's two commands. Needs root (apt-get).
set -euo pipefail
cd "$(dirname "$0")/../.."

export DEBIAN_FRONTEND=noninteractive
# the lab: a Debian kernel with SCTP as a module (and BTF), booted under QEMU,
# plus the tools run inside it; mandoc lints the man page, tmux drives `top`;
# debootstrap builds the other suites' guest roots (test/lab/build-root.sh),
# xz/zstd unpack their kernels' modules into the initramfs
APT_PACKAGES=(linux-image-amd64 qemu-system-x86 busybox-static kmod cpio
              bpftrace lksctp-tools iproute2 python3 tmux mandoc man-db prometheus curl openssl
              debootstrap xz-utils zstd binutils dpkg-dev lintian rpm umoci skopeo nftables
              ipvsadm)  # ipvsadm: test/lab/field.test.ts
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

npm ci --no-audit --no-fund
