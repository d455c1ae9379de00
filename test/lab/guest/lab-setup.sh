#!/bin/bash
# Interactive-lab scenario (npm run lab / lab.sh --check): two links (+IPv6),
# a multi-homed sctp_darn association a:6001 <-> b:5001, va1 cut for 8 s every
# 30 s, an `sctpdiag` wrapper in PATH and a banner.
source "$LAB_REPO/test/lab/guest/lib.sh"

lab_topology 2 v6
lab_fast a b   # 1 s heartbeats, RTO 200..1000 ms: failover within a few seconds
if lab_multihomed 6001 5001 && lab_wait_path a 10.2.0.2 2 10; then status="up"; else status="NOT established (see $LAB_LOG)"; fi
lab_flap a va1 8 30

cat >/usr/local/bin/sctpdiag <<WRAP
#!/bin/sh
exec node "$LAB_REPO/dist/src/cli.js" "\$@"
WRAP
chmod 0755 /usr/local/bin/sctpdiag

cat <<BANNER

==================== sctpdiag lab (kernel $(uname -r)) ====================
 netns a: va1 10.1.0.1  va2 10.2.0.1  (IPv6 fd00:1::1, fd00:2::1)
 netns b: vb1 10.1.0.2  vb2 10.2.0.2  (IPv6 fd00:1::2, fd00:2::2)
 association a:6001 (10.1.0.1+10.2.0.1) <-> b:5001 (10.1.0.2+10.2.0.2): $status
 va1 is cut for 8 s every 30 s (log: $LAB_LOG/flap-va1.log)

   ip netns exec a sctpdiag status        # = node $LAB_REPO/dist/src/cli.js status
   ip netns exec a cat /proc/net/sctp/assocs /proc/net/sctp/remaddr
   lab_cut a va2 / lab_restore a va2      # helpers from test/lab/guest/lib.sh
 The repo is at $LAB_REPO (host root, read-only under a tmpfs overlay: guest
 writes are lost at power-off). After 'npm run build' on the host, restart the
 lab (or start it with SCTPDIAG_LAB_9PCACHE=none to see rebuilds live).
 Exit the shell (Ctrl-D) to power off; Ctrl-A X kills QEMU.
==========================================================================
BANNER
