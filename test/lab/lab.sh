#!/usr/bin/env bash
# Interactive SCTP lab: boots the host's Debian kernel under QEMU (TCG) with
# the host root shared read-only + a tmpfs overlay, sets up netns a/b with two
# links, a multi-homed association and a flapping va1, then gives a root shell
# on the serial console (see test/lab/guest/lab-setup.sh).
#
#   bash test/lab/lab.sh           interactive (npm run lab); exit the shell to power off
#   bash test/lab/lab.sh --check   non-interactive: same setup, prints netns a's
#                                  /proc/net/sctp/assocs and powers off
#   ... --suite bullseye|bookworm|trixie|forky   boot that Debian suite's kernel and
#                                  root (build-root.sh; default SCTPDIAG_LAB_SUITE or bookworm,
#                                  the host's own)
# Env: SCTPDIAG_LAB_CACHE, SCTPDIAG_LAB_KVER (see build-initramfs.sh),
#      SCTPDIAG_LAB_MEM (MiB, default 1024), SCTPDIAG_LAB_TIMEOUT (--check, s, default 180)
#      SCTPDIAG_LAB_9PCACHE=none  see host-side rebuilds (npm run build) live in the
#                                 guest; default "loose" is faster but may show stale files
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
mode=lab
suite="${SCTPDIAG_LAB_SUITE:-bookworm}"
while (($#)); do
  case "$1" in
    --check) mode=check ;;
    --suite) suite="${2:-}"; shift ;;
    --suite=*) suite="${1#--suite=}" ;;
    *) echo "usage: $0 [--check] [--suite bullseye|bookworm|trixie|forky]" >&2; exit 2 ;;
  esac
  shift
done
case "$suite" in bullseye | bookworm | trixie | forky) ;; *) echo "lab: unknown suite '$suite'" >&2; exit 2 ;; esac

command -v qemu-system-x86_64 >/dev/null || { echo "lab: qemu-system-x86_64 not installed" >&2; exit 1; }
suite_args=() suite_cmdline=""
if [[ "$suite" == bookworm ]]; then
  initrd="$(bash "$here/build-initramfs.sh")"
  kver="$(basename "$initrd" .cpio.gz)"; kver="${kver#initramfs-}"
  vmlinuz="/boot/vmlinuz-$kver"
else
  root="$(bash "$here/build-root.sh" "$suite")"
  kver="$(cat "$root/.lab-kver")"
  vmlinuz="$root/boot/vmlinuz-$kver"
  [[ -f "$vmlinuz" ]] || vmlinuz="$root/usr/lib/modules/$kver/vmlinuz"
  initrd="$(SCTPDIAG_LAB_ROOT="$root" SCTPDIAG_LAB_KVER="$kver" bash "$here/build-initramfs.sh")"
  node_real="$(readlink -f "$(command -v node)")"
  suite_args=(-virtfs "local,path=$root,mount_tag=suiteroot,security_model=none,readonly=on,multidevs=remap")
  suite_cmdline=" LAB_SUITE=$suite LAB_NODE=$node_real"
fi

out="$(mktemp -d "${TMPDIR:-/tmp}/sctpdiag-lab.XXXXXX")"
trap 'rm -rf "$out"' EXIT
[[ "$repo$out" != *[[:space:]]* ]] || { echo "lab: paths must not contain whitespace" >&2; exit 1; }

# Configuration for guest/init.sh: NUL-separated KEY=VALUE pairs.
node_bin="$(command -v node || true)"
rows=24 cols=80
if [[ -t 0 ]]; then read -r rows cols < <(stty size) || true; fi
[[ "$rows" =~ ^[1-9][0-9]*$ && "$cols" =~ ^[1-9][0-9]*$ ]] || { rows=24 cols=80; }
cache_mode="${SCTPDIAG_LAB_9PCACHE:-loose}"
[[ "$cache_mode" =~ ^(loose|none|mmap|fscache)$ ]] || { echo "lab: bad SCTPDIAG_LAB_9PCACHE" >&2; exit 2; }
{
  printf '%s\0' "LAB_MODE=$mode" "LAB_TERM=${TERM:-vt220}" "LAB_ROWS=$rows" "LAB_COLS=$cols"
  if [[ "$suite" != bookworm ]]; then printf '%s\0' "LAB_NODE_DIR=/opt/lab-node/bin"
  elif [[ -n "$node_bin" ]]; then printf '%s\0' "LAB_NODE_DIR=$(dirname "$node_bin")"; fi
} >"$out/lab.env"

qemu=(qemu-system-x86_64 -accel tcg -cpu max -smp 2 -m "${SCTPDIAG_LAB_MEM:-1024}"
  -nodefaults -no-reboot
  -kernel "$vmlinuz" -initrd "$initrd"
  -append "console=ttyS0 quiet panic=-1 LAB_REPO=$repo LAB_OUT=$out LAB_9PCACHE=$cache_mode$suite_cmdline"
  "${suite_args[@]}"
  -virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap"
  -virtfs "local,path=$out,mount_tag=labout,security_model=none,multidevs=remap")

if [[ "$mode" == check ]]; then
  # exit status: 0 only if the guest reported the association ESTABLISHED
  timeout -k 5 "${SCTPDIAG_LAB_TIMEOUT:-180}" "${qemu[@]}" -display none -monitor none -serial stdio </dev/null \
    | tee "$out/console.log" || true
  grep -q '^=== check: ok' "$out/console.log" || { echo "lab: check FAILED" >&2; exit 1; }
else
  echo "lab: booting $suite, kernel $kver (TCG, ~10-20 s). Ctrl-A X kills QEMU." >&2
  "${qemu[@]}" -display none -serial mon:stdio   # console + QEMU monitor (Ctrl-A C) on this terminal
fi
