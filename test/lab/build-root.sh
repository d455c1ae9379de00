#!/usr/bin/env bash
# Build (or reuse) the guest root of one Debian suite for the lab:
#   bash test/lab/build-root.sh bullseye|trixie|forky
# A debootstrap'ed minbase with the suite's own kernel, bpftrace and the tools
# the lab's guest scripts use. The guest boots that kernel with this root over
# 9p (read-only, tmpfs overlay); the checkout and the host's node are bound in.
#
# Cached in $SCTPDIAG_LAB_CACHE/roots/<suite>-<recipe hash>/ (default cache:
# <repo>/.lab-cache); SCTPDIAG_LAB_ROOTS names another directory to look in and
# build into (CI keeps roots outside the clone). A root is used only when its
# stamp (written last) matches the recipe. The mirror is the host's own (apt
# sources), or SCTPDIAG_LAB_MIRROR. Needs root and debootstrap.
# Prints the root's path on stdout; progress goes to stderr.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
suite="${1:-}"
log() { echo "build-root[$suite]: $*" >&2; }
die() { log "error: $*"; exit 1; }

case "$suite" in
  bullseye | bookworm | trixie | forky) ;;
  *) echo "usage: $0 bullseye|bookworm|trixie|forky" >&2; exit 2 ;;
esac

# What the guest scripts use (guest/*.sh, the lab tests) and the later drills (nftables).
PACKAGES=(bpftrace iproute2 lksctp-tools python3 kmod tmux nftables procps util-linux
          busybox ca-certificates libstdc++6 zstd xz-utils)
# Bump when the build steps below change what a root holds (the hash keys the cache).
RECIPE=1
# bullseye's 5.10 has no BTF for modules: its kprobe probes read sctp's structs from the
# kernel headers (the other suites' hash stays as it was)
HEADERS=no
[[ "$suite" == bullseye ]] && HEADERS=yes
recipe="$(printf '%s\n' "recipe $RECIPE" "${PACKAGES[@]}")"
[[ "$HEADERS" == no ]] || recipe+=$'\nkernel headers'

hash="$(printf '%s' "$recipe" | sha256sum | cut -c1-12)"
roots="${SCTPDIAG_LAB_ROOTS:-${SCTPDIAG_LAB_CACHE:-$repo/.lab-cache}/roots}"
root="$roots/$suite-$hash"
stamp="$root.stamp"

if [[ -f "$stamp" && -d "$root" && "$(cat "$stamp")" == "$hash" ]]; then
  log "up to date: $root"
  echo "$root"
  exit 0
fi
[[ "$(id -u)" == 0 ]] || die "building a root needs root (debootstrap)"
command -v debootstrap >/dev/null || die "debootstrap not installed (apt-get install debootstrap)"

# The host's own Debian mirror: first URI of a non-security debian entry.
mirror="${SCTPDIAG_LAB_MIRROR:-}"
if [[ -z "$mirror" ]]; then
  mirror="$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '$1 == "URIs:" && $2 ~ /\/debian\/?$/ { print $2; exit }')"
fi
if [[ -z "$mirror" ]]; then
  mirror="$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
    | awk '$1 == "deb" { u = ($2 ~ /^\[/) ? $3 : $2; if (u ~ /\/debian\/?$/) { print u; exit } }')"
fi
[[ -n "$mirror" ]] || die "no Debian mirror in /etc/apt/sources.list{,.d/} (set SCTPDIAG_LAB_MIRROR)"

# forky is testing: debootstrap of bookworm has no script named after it
script=()
[[ -f "/usr/share/debootstrap/scripts/$suite" ]] || script=(/usr/share/debootstrap/scripts/sid)

mkdir -p "$roots"
# one builder per suite at a time (CI and a developer may share the cache)
exec 9>"$roots/.lock-$suite"
flock 9
if [[ -f "$stamp" && -d "$root" && "$(cat "$stamp")" == "$hash" ]]; then
  log "built meanwhile: $root"; echo "$root"; exit 0
fi
# a stale, half-built root of this recipe from an interrupted run
rm -rf "$root" "$stamp"
tmp="$(mktemp -d "$roots/.build-$suite.XXXXXX")"
[[ -n "${SCTPDIAG_LAB_KEEP_FAILED:-}" ]] || trap 'rm -rf "$tmp"' EXIT
started=$SECONDS
log "debootstrap $suite from the host's mirror into $tmp"
include="$(IFS=,; echo "${PACKAGES[*]}")"
debootstrap --variant=minbase --components=main --include="$include" "$suite" "$tmp" "$mirror" "${script[@]}" \
  >"$tmp.log" 2>&1 || { tail -30 "$tmp.log" >&2; die "debootstrap failed (log: $tmp.log)"; }
rm -f "$tmp.log"

# The suite's kernel, unpacked (no postinst: the guest needs no initramfs of its
# own, and no bootloader). tar keeps /lib -> usr/lib of a merged-/usr root.
# a testing suite's Release may be past its Valid-Until on a snapshot mirror
apt=(apt-get -q -o Acquire::Check-Valid-Until=false -o APT::Sandbox::User=root)
chroot "$tmp" "${apt[@]}" update >&2 || die "apt-get update in the new root"
kpkg="$(chroot "$tmp" apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')"
[[ -n "$kpkg" ]] || die "linux-image-amd64 of $suite names no kernel package"
kver="${kpkg#linux-image-}"
# forky splits the kernel: linux-image-<ver> depends on linux-{binary,modules,base}-<ver>
kdebs=("$kpkg")
kdebs+=($(chroot "$tmp" apt-cache depends "$kpkg" 2>/dev/null \
  | awk -v v="$kver" '$1 == "Depends:" && $2 ~ /^linux-[a-z]+-/ && substr($2, length($2) - length(v) + 1) == v { print $2 }' | sort -u))
if [[ "$HEADERS" == yes ]]; then
  # linux-headers-<ver> and the -common package it depends on (files only: bpftrace's clang reads them)
  kdebs+=("linux-headers-$kver")
  kdebs+=($(chroot "$tmp" apt-cache depends "linux-headers-$kver" 2>/dev/null \
    | awk '$1 == "Depends:" && $2 ~ /^linux-headers-.*-common$/ { print $2 }' | sort -u))
fi
chroot "$tmp" sh -c 'cd /tmp && exec "$@"' sh "${apt[@]}" download "${kdebs[@]}" >&2 || die "apt-get download ${kdebs[*]}"
merged=no; [[ -L "$tmp/lib" ]] && merged=yes
for deb in "$tmp"/tmp/linux-*.deb; do
  dpkg-deb --fsys-tarfile "$deb" | tar -x --keep-directory-symlink -C "$tmp"
  rm -f "$deb"
done
[[ "$merged" == no || -L "$tmp/lib" ]] || die "unpacking the kernel replaced the /lib symlink"
chroot "$tmp" depmod "$kver"
# vmlinuz and config: /boot (bullseye..trixie) or /usr/lib/modules/<ver>/ (forky)
for d in "$tmp/boot" "$tmp/usr/lib/modules/$kver"; do
  [[ -f "$d/vmlinuz-$kver" || -f "$d/vmlinuz" ]] && vmlinuz="$d"
done
[[ -n "${vmlinuz:-}" ]] || die "no vmlinuz for $kver in /boot or /usr/lib/modules/$kver"
[[ -d "$tmp/usr/lib/modules/$kver/kernel/net/sctp" ]] || die "$kver has no sctp module"
# (the source link is absolute: resolved inside the new root)
[[ "$HEADERS" == no || -f "$tmp$(readlink "$tmp/usr/lib/modules/$kver/source")/include/net/sctp/structs.h" ]] || die "no kernel headers for $kver"
chroot "$tmp" apt-get clean
rm -rf "$tmp"/var/lib/apt/lists/*
echo "$kver" >"$tmp/.lab-kver"
mv "$tmp" "$root"
trap - EXIT
echo "$hash" >"$stamp"
log "built $root (kernel $kver, bpftrace $(chroot "$root" bpftrace --version 2>/dev/null | tr -d '\n')) in $((SECONDS - started)) s"
echo "$root"
