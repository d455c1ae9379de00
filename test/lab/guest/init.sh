#!/bin/bash
# PID 1 of the lab guest, run by the initramfs after switch_root into the
# overlay of the host root. Kernel command line gives LAB_REPO and LAB_OUT
# (host out dir, mounted here at the same path from the 9p share "labout").
# $LAB_OUT/lab.env holds NUL-separated KEY=VALUE pairs (LAB_MODE=job|lab|check,
# LAB_NODE_DIR, the job's env...). Always ends with a forced power-off.
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8

poweroff_now() {
  sync
  /bin/busybox poweroff -f 2>/dev/null
  echo o >/proc/sysrq-trigger
  sleep 10
}
trap poweroff_now EXIT

# --- filesystems --------------------------------------------------------------
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
# what udev would add to a devtmpfs (bpftrace 0.27 writes through /dev/fd/N)
[[ -e /dev/fd ]] || ln -s /proc/self/fd /dev/fd
for i in 0:stdin 1:stdout 2:stderr; do [[ -e /dev/${i#*:} ]] || ln -s "/proc/self/fd/${i%%:*}" "/dev/${i#*:}"; done
mount -t tmpfs tmpfs /dev/shm
# A repo that lives under /tmp or /run on the host (CI clones wherever it likes) would
# be hidden by the tmpfs mounted there: keep the host's view of it at the same path.
case "$LAB_REPO" in
  /tmp/* | /run/*) mkdir -p /.hostrepo && mount --bind "$LAB_REPO" /.hostrepo ;;
esac
mount -t tmpfs -o mode=0755 tmpfs /run
mount -t tmpfs -o mode=1777 tmpfs /tmp
if [[ -d /.hostrepo ]]; then
  mkdir -p "$LAB_REPO" && mount --bind /.hostrepo "$LAB_REPO" || {
    echo "lab-init: cannot show the repo at $LAB_REPO" >&2; exit 1; }
fi
mount -t debugfs debugfs /sys/kernel/debug
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mount -t bpf bpf /sys/fs/bpf
mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
mkdir -p /run/netns /run/lock
# same path as on the host (the tmpfs on /tmp above may hide it: recreate it)
mkdir -p "$LAB_OUT"
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 labout "$LAB_OUT" || {
  echo "lab-init: cannot mount labout at $LAB_OUT" >&2; exit 1; }

# --- configuration from the host (no eval: each entry is exported verbatim) ---
if [[ -f "$LAB_OUT/lab.env" ]]; then
  while IFS= read -r -d '' kv; do
    [[ "$kv" =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] && export "$kv"
  done <"$LAB_OUT/lab.env"
fi
[[ -n "${LAB_NODE_DIR:-}" ]] && export PATH="$LAB_NODE_DIR:$PATH"
export LAB_REPO LAB_OUT

hostname sctplab
ip link set lo up
modprobe sctp && modprobe sctp_diag && modprobe veth || echo "lab-init: modprobe failed" >&2

lib="$LAB_REPO/test/lab/guest/lib.sh"
cd "$LAB_REPO" || exit 1
echo "lab-init: ready after $(cut -d' ' -f1 /proc/uptime)s uptime, mode ${LAB_MODE:-?}" >/dev/console

case "${LAB_MODE:-job}" in
  job)
    # The host's script runs as root, cwd = repo, lib.sh already sourced.
    export LAB_LOG="$LAB_OUT/logs"
    # LAB_TIMEOUT_S: backstop in case the host never kills QEMU (0 = none)
    timeout -k 5 "${LAB_TIMEOUT_S:-0}" \
      bash -c 'source "$1" && cd "$3" && source "$2"' lab-job "$lib" "$LAB_OUT/job.sh" "$LAB_REPO" \
      >"$LAB_OUT/stdout" 2>"$LAB_OUT/stderr" </dev/null
    echo "$?" >"$LAB_OUT/exitcode"
    ;;
  check)
    bash "$LAB_REPO/test/lab/guest/lab-setup.sh" </dev/null 2>&1
    echo "=== ip netns exec a cat /proc/net/sctp/assocs"
    ip netns exec a cat /proc/net/sctp/assocs
    echo "=== ip netns exec a cat /proc/net/sctp/remaddr"
    ip netns exec a cat /proc/net/sctp/remaddr
    n="$(source "$lib" && _lab_count_st a 3)"
    if ((n >= 1)); then echo "=== check: ok ($n ESTABLISHED in netns a)"; else echo "=== check: FAILED"; fi
    ;;
  lab)
    dmesg -n 1   # keep kernel chatter off the interactive console
    bash "$LAB_REPO/test/lab/guest/lab-setup.sh" </dev/null
    [[ -n "${LAB_ROWS:-}" && -n "${LAB_COLS:-}" ]] && stty -F /dev/ttyS0 rows "$LAB_ROWS" cols "$LAB_COLS"
    export TERM="${LAB_TERM:-vt220}"
    # New session with ttyS0 as controlling terminal -> job control, Ctrl-C.
    setsid -c -w bash --rcfile "$LAB_REPO/test/lab/guest/bashrc" -i </dev/ttyS0 >/dev/ttyS0 2>&1
    ;;
  *) echo "lab-init: unknown LAB_MODE=$LAB_MODE" >&2 ;;
esac
exit 0
