#!/usr/bin/env bash
# Build the tiny initramfs that boots the sctpdiag lab VM.
#
# The initramfs only holds busybox-static, the virtio/9p/overlay modules and
# test/lab/initramfs-init.sh (as /init). That init mounts the host root (9p,
# read-only), puts a tmpfs overlay on top and switch_roots into
# test/lab/guest/init.sh, so everything else in the guest is the host's own
# userland (node, ip, sctp_darn, bpftrace, modprobe...).
#
# Idempotent: output is cached in $SCTPDIAG_LAB_CACHE (default <repo>/.lab-cache)
# and only rebuilt when the kernel, this script or the init script change.
#
# Env: SCTPDIAG_LAB_CACHE  cache dir
#      SCTPDIAG_LAB_KVER   kernel version to use (default: newest Debian amd64
#                          kernel in /boot that has the sctp module)
#      SCTPDIAG_LAB_ROOT   a suite's guest root (build-root.sh): its kernel's
#                          modules (SCTPDIAG_LAB_KVER required) instead of the host's
# Prints the path of the initramfs on stdout; progress goes to stderr.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cache="${SCTPDIAG_LAB_CACHE:-$repo/.lab-cache}"

log() { echo "build-initramfs: $*" >&2; }
die() { log "error: $*"; exit 1; }

# --- pick the kernel -------------------------------------------------------
kver="${SCTPDIAG_LAB_KVER:-}"
sroot="${SCTPDIAG_LAB_ROOT:-}"
if [[ -n "$sroot" ]]; then
  [[ -n "$kver" ]] || die "SCTPDIAG_LAB_ROOT needs SCTPDIAG_LAB_KVER"
elif [[ -z "$kver" ]]; then
  for f in $(ls /boot/vmlinuz-*-amd64 2>/dev/null | sort -V); do
    v="${f#/boot/vmlinuz-}"
    [[ -d "/lib/modules/$v/kernel/net/sctp" ]] && kver="$v"
  done
fi
[[ -n "$kver" ]] || die "no /boot/vmlinuz-*-amd64 with /lib/modules/<ver>/kernel/net/sctp (apt-get install linux-image-amd64)"
moddir="$sroot/usr/lib/modules/$kver"
[[ -d "$moddir" ]] || moddir="$sroot/lib/modules/$kver"
[[ -n "$sroot" || -r "/boot/vmlinuz-$kver" ]] || die "/boot/vmlinuz-$kver not readable"
[[ -f "$moddir/modules.dep" ]] || die "$moddir/modules.dep missing"

busybox="$(command -v busybox || true)"
[[ -n "$busybox" ]] || die "busybox not found (apt-get install busybox-static)"
if ldd "$busybox" >/dev/null 2>&1; then die "$busybox is dynamic; install busybox-static"; fi

out="$cache/initramfs-$kver.cpio.gz"
stamp="$cache/initramfs-$kver.stamp"
want="$(cat "$0" "$here/initramfs-init.sh" | sha256sum | cut -d' ' -f1) $kver $sroot"
if [[ -f "$out" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  log "up to date: $out"
  echo "$out"
  exit 0
fi

# --- resolve module load order from modules.dep -----------------------------
# modules.dep lines: "kernel/a/b.ko[.xz]: dep1.ko dep2.ko ..." (deps are the
# full closure). We load every dependency (recursively) before the module.
declare -A seen=()
order=()
relpath() { # module name -> path relative to $moddir
  awk -F: -v m="$1" '{ n=$1; sub(/.*\//, "", n); sub(/\.ko(\.(xz|zst|gz))?$/, "", n);
    gsub(/-/, "_", n); if (n == m) { print $1; exit } }' "$moddir/modules.dep"
}
add_mod() {
  local name="${1//-/_}" rel deps d
  [[ -n "${seen[$name]:-}" ]] && return 0
  seen[$name]=1
  rel="$(relpath "$name")"
  if [[ -z "$rel" ]]; then
    # built into the kernel (modules.builtin) is fine, anything else is not
    grep -q "/$name.ko\$" "$moddir/modules.builtin" 2>/dev/null && return 0
    die "module $name not found for $kver"
  fi
  deps="$(grep -m1 "^$rel:" "$moddir/modules.dep" | cut -d: -f2)"
  for d in $deps; do
    d="${d##*/}"; d="${d%%.ko*}"
    add_mod "$d"
  done
  order+=("$rel")
}
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci \
         9pnet 9pnet_virtio 9p overlay; do
  # the split-out virtio_pci_*_dev modules only exist from 5.14 on
  case "$m" in virtio_pci_*_dev) [[ -n "$(relpath "$m")" ]] || continue ;; esac
  add_mod "$m"
done

# --- assemble ---------------------------------------------------------------
mkdir -p "$cache"
tmp="$(mktemp -d "$cache/.build.XXXXXX")"
trap 'rm -rf "$tmp" "$tmp.cpio.gz"' EXIT
mkdir -p "$tmp"/{bin,dev,proc,sys,mod,host,rw,newroot}
cp "$busybox" "$tmp/bin/busybox"
ln -s busybox "$tmp/bin/sh"
install -m 0755 "$here/initramfs-init.sh" "$tmp/init"
: >"$tmp/mod/order"
for rel in "${order[@]}"; do
  base="${rel##*/}"
  case "$base" in
    *.ko.xz)  xz -dc "$moddir/$rel" >"$tmp/mod/${base%.xz}";   base="${base%.xz}" ;;
    *.ko.zst) zstd -qdc "$moddir/$rel" >"$tmp/mod/${base%.zst}"; base="${base%.zst}" ;;
    *.ko.gz)  gzip -dc "$moddir/$rel" >"$tmp/mod/${base%.gz}";  base="${base%.gz}" ;;
    *)        cp "$moddir/$rel" "$tmp/mod/$base" ;;
  esac
  echo "$base" >>"$tmp/mod/order"
done
log "kernel $kver, modules: $(tr '\n' ' ' <"$tmp/mod/order")"
(cd "$tmp" && find . -mindepth 1 | sort | cpio -o -H newc --quiet -R 0:0) \
  | gzip -1 >"$tmp.cpio.gz"
mv "$tmp.cpio.gz" "$out"
echo "$want" >"$stamp"
log "wrote $out"
echo "$out"
