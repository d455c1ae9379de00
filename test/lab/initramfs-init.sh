#!/bin/sh
# /init of the lab initramfs (busybox sh). Mounts the host root read-only over
# virtio-9p, puts a tmpfs-backed overlayfs on top and switch_roots into the
# repo's test/lab/guest/init.sh. LAB_REPO comes from the kernel command line.
# With LAB_SUITE=<suite> (another Debian suite, test/lab/build-root.sh) the
# overlay's lower layer is that suite's root (9p tag "suiteroot") instead, and
# the host's checkout (LAB_REPO) and node binary (LAB_NODE, bound at
# /opt/lab-node/bin/node) are bound into it from the host root.
export PATH=/bin
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

fail() {
  echo "lab-initramfs: FATAL: $*" >/dev/console
  echo o >/proc/sysrq-trigger   # power off (QEMU runs with -no-reboot)
  sleep 5; poweroff -f
}

for m in $(cat /mod/order); do
  insmod "/mod/$m" || fail "insmod $m"
done
# cache=loose is much faster, but host-side edits made while the VM runs may
# not be seen; LAB_9PCACHE=none (kernel command line) trades speed for that.
mount -t 9p -o "trans=virtio,version=9p2000.L,ro,msize=512000,cache=${LAB_9PCACHE:-loose}" hostroot /host \
  || fail "mount 9p hostroot"
mount -t tmpfs -o mode=0755 tmpfs /rw || fail "mount tmpfs"
mkdir -p /rw/upper /rw/work
lower=/host
if [ -n "$LAB_SUITE" ]; then
  mkdir -p /suite
  mount -t 9p -o "trans=virtio,version=9p2000.L,ro,msize=512000,cache=${LAB_9PCACHE:-loose}" suiteroot /suite \
    || fail "mount 9p suiteroot ($LAB_SUITE)"
  lower=/suite
fi
mount -t overlay overlay -o lowerdir=$lower,upperdir=/rw/upper,workdir=/rw/work /newroot \
  || fail "mount overlay"
if [ -n "$LAB_SUITE" ]; then
  mkdir -p "/newroot$LAB_REPO" /newroot/opt/lab-node/bin
  mount --bind "/host$LAB_REPO" "/newroot$LAB_REPO" || fail "bind the checkout $LAB_REPO"
  if [ -n "$LAB_NODE" ]; then
    : >/newroot/opt/lab-node/bin/node
    mount --bind "/host$LAB_NODE" /newroot/opt/lab-node/bin/node || fail "bind node $LAB_NODE"
  fi
fi

guest_init="$LAB_REPO/test/lab/guest/init.sh"
[ -n "$LAB_REPO" ] && [ -f "/newroot$guest_init" ] || fail "no $guest_init (LAB_REPO=$LAB_REPO)"
[ -x /newroot/bin/bash ] || fail "host has no /bin/bash"
mount --move /dev /newroot/dev
umount /proc /sys
exec switch_root /newroot /bin/bash "$guest_init"
