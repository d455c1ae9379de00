# shellcheck shell=bash
# Helpers for lab guest jobs (sourced; runs as root inside the lab VM).
#
# Topology: netns "a" and "b" joined by veth pairs vaK/vbK, K = 1..N:
#   10.K.0.1/24 on vaK (a), 10.K.0.2/24 on vbK (b); with v6 also fd00:K::1/64, ::2.
# Background processes started here are logged to $LAB_LOG/<name>.log (in job
# mode LAB_LOG=$LAB_OUT/logs, so the host sees them) and tracked by name.
#
#   lab_topology N [v6]            create a, b and N links
#   lab_add_link K [v6]            add one more link vaK/vbK (e.g. for ASCONF tests)
#   lab_sysctl NS key=value...     /proc/sys/net/sctp/<key> in NS (key or net.sctp.key)
#   lab_fast NS...                 hb_interval=1000 rto_min=200 rto_max=1000 rto_initial=300
#                                  path_max_retrans=2 pf_retrans=1 (as in the fixtures)
#   lab_assocs NS / lab_remaddr NS / lab_eps NS   cat the procfs file in NS
#   lab_expand_addr ADDR           IPv6 in the expanded form procfs prints
#   lab_wait_assoc NS COUNT [TIMEOUT_S]   wait for >= COUNT ESTABLISHED (ST 3) assocs
#   lab_wait_listen NS PORT [TIMEOUT_S]  wait until an SCTP endpoint in NS is bound to PORT
#                                  (a python listener needs seconds to start under TCG)
#   lab_wait_path NS ADDR STATE [TIMEOUT_S]  wait until remaddr ADDR has STATE (any assoc;
#                                  STATE 0 INACTIVE, 1 PF, 2 ACTIVE, 3 UNCONFIRMED)
#   lab_wait_path_every NS ADDR STATE [TIMEOUT_S]  the same for every association's path to ADDR
#   lab_darn_server NAME NS PORT ADDR...  sctp_darn one-to-many listener bound to ADDRs
#   lab_darn_client NAME NS LPORT RADDR RPORT LADDR... [-- INTERVAL]
#                                  sctp_darn sender bound to LADDRs, a line every 0.2 s
#   lab_multihomed [LPORT RPORT]   server b 10.1.0.2+10.2.0.2:RPORT (5001), client a
#                                  10.1.0.1+10.2.0.1:LPORT (6001); waits ESTABLISHED
#   lab_py_server NAME NS PORT ADDR...      one-to-one (SOCK_STREAM) listener (python3)
#   lab_py_client NAME NS RADDR RPORT [opts] one-to-one client(s); opts passed to
#                                  sctp_peer.py: --bind ADDR (repeatable), --count N,
#                                  --interval S, --lport P
#   lab_bg NAME NS CMD...          run CMD in NS in the background, logged
#   lab_stop NAME / lab_stop_all   SIGTERM a background process / all of them
#   lab_cut NS DEV / lab_restore NS DEV   ip link set DEV down / up in NS
#   lab_flap NS DEV DOWN_S EVERY_S  background loop: DEV down DOWN_S seconds every EVERY_S

LAB_LOG="${LAB_LOG:-/tmp/lab}"
LAB_RUN="${LAB_RUN:-/run/lab}"
LAB_GUEST_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LAB_PY="${LAB_PY:-/usr/bin/python3}"
mkdir -p "$LAB_LOG" "$LAB_RUN"

lab_log() { echo "[lab $(cut -d' ' -f1 /proc/uptime)] $*" >&2; }

_lab_netns_sysctl() { # NS path value   (write a /proc/sys file inside NS)
  printf '%s\n' "$3" | ip netns exec "$1" tee "/proc/sys/$2" >/dev/null
}

lab_add_link() {
  local k="$1" v6="${2:-}"
  ip link add "va$k" netns a type veth peer name "vb$k" netns b || return 1
  ip -n a addr add "10.$k.0.1/24" dev "va$k"
  ip -n b addr add "10.$k.0.2/24" dev "vb$k"
  if [[ "$v6" == v6 ]]; then
    ip -n a addr add "fd00:$k::1/64" dev "va$k" nodad
    ip -n b addr add "fd00:$k::2/64" dev "vb$k" nodad
  fi
  ip -n a link set "va$k" up
  ip -n b link set "vb$k" up
}

lab_topology() {
  local n="${1:-2}" v6="${2:-}" k ns
  for ns in a b; do
    ip netns add "$ns" || return 1
    ip -n "$ns" link set lo up
    # keep static IPv6 addresses when a link is cut (default would flush them)
    _lab_netns_sysctl "$ns" net/ipv6/conf/all/keep_addr_on_down 1
    _lab_netns_sysctl "$ns" net/ipv6/conf/default/keep_addr_on_down 1
  done
  for ((k = 1; k <= n; k++)); do lab_add_link "$k" "$v6" || return 1; done
}

lab_sysctl() {
  local ns="$1" kv key val; shift
  for kv in "$@"; do
    key="${kv%%=*}"; val="${kv#*=}"; key="${key#net.sctp.}"
    [[ "$kv" == *=* && "$key" =~ ^[a-z0-9_]+$ ]] || { lab_log "lab_sysctl: bad '$kv'"; return 1; }
    _lab_netns_sysctl "$ns" "net/sctp/$key" "$val" || return 1
  done
}

# The fast-failover settings used for the fixtures in /work/shared/fixtures:
# 1 s heartbeats (secondary paths get confirmed quickly: STATE 3 -> 2), RTO 200..1000 ms.
lab_fast() {
  local ns
  for ns in "$@"; do
    lab_sysctl "$ns" hb_interval=1000 rto_min=200 rto_max=1000 rto_initial=300 \
      path_max_retrans=2 pf_retrans=1 || return 1
  done
}

# nsenter --net is much cheaper than `ip netns exec` (no mount namespace) under TCG
lab_assocs()  { nsenter --net="/run/netns/$1" cat /proc/net/sctp/assocs; }
lab_remaddr() { nsenter --net="/run/netns/$1" cat /proc/net/sctp/remaddr; }
lab_eps()     { nsenter --net="/run/netns/$1" cat /proc/net/sctp/eps; }

# Microseconds since the epoch (bash 5 EPOCHREALTIME), for wall-clock deadlines.
_lab_now_us() { local t="$EPOCHREALTIME"; echo "${t/./}"; }

# remaddr/assocs print IPv6 fully expanded (fd00:0001:0000:...); expand ADDR likewise.
lab_expand_addr() {
  if [[ "$1" == *:* ]]; then
    "$LAB_PY" -c 'import ipaddress, sys; print(ipaddress.ip_address(sys.argv[1]).exploded)' "$1"
  else
    echo "$1"
  fi
}

# Count associations in state ST (column found by header) in NS.
_lab_count_st() {
  lab_assocs "$1" 2>/dev/null | awk -v want="$2" '
    NR == 1 { for (i = 1; i <= NF; i++) if ($i == "ST") c = i; next }
    c && $c == want { n++ } END { print n + 0 }'
}

# _lab_until SECONDS CMD...: run CMD every 0.2 s until it succeeds (0) or SECONDS pass (1)
_lab_until() {
  local end=$(($(_lab_now_us) + $1 * 1000000)); shift
  while :; do
    "$@" && return 0
    (($(_lab_now_us) < end)) || return 1
    sleep 0.2
  done
}

_lab_has_assocs() { (($(_lab_count_st "$1" 3) >= $2)); }

lab_wait_assoc() {
  local ns="$1" count="$2" timeout="${3:-10}"
  _lab_until "$timeout" _lab_has_assocs "$ns" "$count" && return 0
  lab_log "lab_wait_assoc: $ns has $(_lab_count_st "$ns" 3) ESTABLISHED, wanted $count after ${timeout}s"
  lab_assocs "$ns" >&2
  return 1
}

_lab_listens() {
  lab_eps "$1" 2>/dev/null | awk -v p="$2" '
    NR == 1 { for (i = 1; i <= NF; i++) if ($i == "LPORT") c = i; next }
    c && $c == p { f = 1 } END { exit !f }'
}

lab_wait_listen() {
  local ns="$1" port="$2" timeout="${3:-15}"
  _lab_until "$timeout" _lab_listens "$ns" "$port" && return 0
  lab_log "lab_wait_listen: nothing listens on port $port in $ns after ${timeout}s"
  return 1
}

# _lab_paths NS ADDR STATE any|every: does any (or every) path to ADDR have STATE?
_lab_paths() {
  lab_remaddr "$1" | awk -v a="$2" -v s="$3" -v m="$4" '
    NR > 1 && $1 == a { n++; if ($NF == s) k++ }
    END { exit !(m == "any" ? k > 0 : n > 0 && k == n) }'
}

lab_wait_path() {
  local ns="$1" addr="$2" state="$3" timeout="${4:-10}"
  addr="$(lab_expand_addr "$addr")"
  _lab_until "$timeout" _lab_paths "$ns" "$addr" "$state" any && return 0
  lab_log "lab_wait_path: $addr in $ns never reached state $state"; lab_remaddr "$ns" >&2
  return 1
}

# like lab_wait_path, but EVERY association's path to ADDR must have STATE (the
# associations do not all notice a cut at the same moment)
lab_wait_path_every() {
  local ns="$1" addr="$2" state="$3" timeout="${4:-10}"
  addr="$(lab_expand_addr "$addr")"
  _lab_until "$timeout" _lab_paths "$ns" "$addr" "$state" every && return 0
  lab_log "lab_wait_path_every: not every path to $addr in $ns reached state $state"; lab_remaddr "$ns" >&2
  return 1
}

lab_bg() {
  local name="$1" ns="$2"; shift 2
  # stdbuf: line-buffered logs even if the process is killed at power-off
  ip netns exec "$ns" stdbuf -oL -eL "$@" >"$LAB_LOG/$name.log" 2>&1 </dev/null &
  echo $! >"$LAB_RUN/$name.pid"
}

lab_stop() {
  local f="$LAB_RUN/$1.pid"
  [[ -f "$f" ]] || return 0
  kill "$(cat "$f")" 2>/dev/null
  rm -f "$f"
}

lab_stop_all() {
  local f
  for f in "$LAB_RUN"/*.pid; do [[ -f "$f" ]] && lab_stop "$(basename "$f" .pid)"; done
}

lab_darn_server() {
  local name="$1" ns="$2" port="$3" first="$4" a args=(); shift 4
  for a in "$@"; do args+=(-B "$a"); done
  lab_bg "$name" "$ns" sctp_darn -H "$first" "${args[@]}" -P "$port" -l
}

# Lines "msg N" every INTERVAL seconds on stdout, forever (feeds sctp_darn -s).
_lab_ticker() {
  local i=0
  while :; do i=$((i + 1)); echo "msg $i" || return 0; sleep "$1"; done
}

lab_darn_client() {
  local name="$1" ns="$2" lport="$3" raddr="$4" rport="$5" interval=0.2 first a args=()
  shift 5
  first="$1"; shift
  while (($#)); do
    if [[ "$1" == -- ]]; then interval="${2:-0.2}"; break; fi
    args+=(-B "$1"); shift
  done
  # sctp_darn -s reads lines from stdin and sends each as one message; a client
  # bound with -B must also give -P (its local port).
  _lab_ticker "$interval" \
    | ip netns exec "$ns" stdbuf -oL sctp_darn -H "$first" "${args[@]}" -P "$lport" -h "$raddr" -p "$rport" -s \
      >"$LAB_LOG/$name.log" 2>&1 &
  echo $! >"$LAB_RUN/$name.pid"
}

lab_multihomed() {
  local lport="${1:-6001}" rport="${2:-5001}"
  lab_darn_server "srv$rport" b "$rport" 10.1.0.2 10.2.0.2
  lab_wait_listen b "$rport"   # the listener must be bound before the INIT arrives
  lab_darn_client "cli$lport" a "$lport" 10.1.0.2 "$rport" 10.1.0.1 10.2.0.1
  lab_wait_assoc a 1 15
}

lab_py_server() {
  local name="$1" ns="$2" port="$3" a args=(); shift 3
  for a in "$@"; do args+=(--bind "$a"); done
  lab_bg "$name" "$ns" "$LAB_PY" -u "$LAB_GUEST_DIR/sctp_peer.py" server --port "$port" "${args[@]}"
}

lab_py_client() {
  local name="$1" ns="$2" raddr="$3" rport="$4"; shift 4
  lab_bg "$name" "$ns" "$LAB_PY" -u "$LAB_GUEST_DIR/sctp_peer.py" client \
    --connect "$raddr" --port "$rport" "$@"
}

lab_cut()     { ip -n "$1" link set "$2" down; }
lab_restore() { ip -n "$1" link set "$2" up; }

lab_flap() {
  local ns="$1" dev="$2" down="$3" every="$4"
  (
    while :; do
      sleep "$((every - down))"
      lab_log "flap: $dev down in $ns"; lab_cut "$ns" "$dev"
      sleep "$down"
      lab_log "flap: $dev up in $ns"; lab_restore "$ns" "$dev"
    done
  ) >>"$LAB_LOG/flap-$dev.log" 2>&1 </dev/null &
  echo $! >"$LAB_RUN/flap-$dev.pid"
}
