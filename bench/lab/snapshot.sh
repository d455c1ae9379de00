# shellcheck shell=bash
# Lab half of the snapshot bench (issue #7). Sourced by the guest job that
# bench/snapshot.ts (benchSnapshotLab) starts; test/lab/guest/lib.sh is loaded.
#   env: BENCH_SIZES="1000 2000 …"  BENCH_ITERS=3  BENCH_LARGE_ITERS=2 (above 2,000)  BENCH_CAP=240 (seconds per command)
# Writes $LAB_OUT/results.tsv: size tool iter ms rc extra (one row per run),
# $LAB_OUT/perf-<N>.txt (kernel profile of `cat assocs`), logs in $LAB_OUT/logs.
BENCH_ITERS="${BENCH_ITERS:-3}"
BENCH_CAP="${BENCH_CAP:-240}"
TSV="$LAB_OUT/results.tsv"
BT=/tmp/bench
mkdir -p "$BT" "$LAB_LOG"
: >"$TSV"

lab_topology 2
for ns in a b; do
  # no periodic heartbeats while measuring (20k transports would keep TCG busy);
  # unconfirmed paths are still probed once and confirmed
  lab_sysctl "$ns" hb_interval=3600000
  _lab_netns_sysctl "$ns" net/core/somaxconn 65535
done

mkfifo "$BT/ctl"
python3 -u "$LAB_REPO/bench/lab/gen_assocs.py" --ctl "$BT/ctl" >"$LAB_LOG/gen.log" 2>&1 &
GEN_PID=$!
exec 7>"$BT/ctl"   # blocks until the generator opens it

now_us() { local t="$EPOCHREALTIME"; echo "${t/./}"; }
# warm the guest page cache (node and the repo come over 9p: the first start is cold)
for _ in 1 2; do
  nsenter --net=/run/netns/a node -e 0
  nsenter --net=/run/netns/a "$LAB_REPO/dist/src/cli.js" status --json >/dev/null
  nsenter --net=/run/netns/a node "$LAB_REPO/dist/bench/lab/probe.js" >/dev/null
  ss -V >/dev/null; dd --version >/dev/null
done
rec() { printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$TSV"; }
inA() { nsenter --net=/run/netns/a "$@"; }

# timed SIZE TOOL ITER OUTFILE CMD...   (wall ms, exit code; 124 = capped)
timed() {
  local size="$1" tool="$2" it="$3" out="$4" t0 t1 rc; shift 4
  t0=$(now_us)
  timeout "$BENCH_CAP" nsenter --net=/run/netns/a "$@" >"$out" 2>"$BT/err"
  rc=$?
  t1=$(now_us)
  rec "$size" "$tool" "$it" "$(( (t1 - t0) / 1000 ))" "$rc" "${EXTRA:-}"
  EXTRA=""
  return $rc
}

# dd prints "a+b records in": a full + b partial reads returned data
dd_reads() { awk '/records in/ { split($1, r, "+"); print r[1] + r[2]; exit }' "$BT/err"; }

measure() {
  local n="$1" it iters="$BENCH_ITERS" bs
  ((n > 2000)) && iters="${BENCH_LARGE_ITERS:-2}"
  for ((it = 1; it <= iters; it++)); do
    timed "$n" catAssocs "$it" "$BT/assocs" cat /proc/net/sctp/assocs
    timed "$n" catRemaddr "$it" "$BT/remaddr" cat /proc/net/sctp/remaddr
    timed "$n" floor "$it" /dev/null cat /proc/net/sctp/assocs /proc/net/sctp/remaddr
    timed "$n" nodeE0 "$it" /dev/null node -e 0
    # start-up + loading sctpdiag's whole module graph, no SCTP work
    timed "$n" cliVersion "$it" /dev/null "$LAB_REPO/dist/src/cli.js" --version
    timed "$n" status "$it" /dev/null /usr/bin/time -f %M -o "$BT/rss" "$LAB_REPO/dist/src/cli.js" status --json
    rec "$n" statusRss "$it" "$(tail -n 1 "$BT/rss")" 0 ""
    # optional: other builds of sctpdiag (e.g. the previous one, or this one without the
    # shebang's V8 flags) measured the same way, run as `node $BENCH_ALT_FLAGS CLI`
    # (default flags: this build's shebang's, passed by bench/snapshot.ts)
    if [[ -n "${BENCH_ALT_CLI:-}" && -f "$BENCH_ALT_CLI" ]]; then
      # shellcheck disable=SC2086  # flags are words
      timed "$n" statusAlt "$it" /dev/null /usr/bin/time -f %M -o "$BT/rss" node ${BENCH_ALT_FLAGS-} "$BENCH_ALT_CLI" status --json
      rec "$n" statusAltRss "$it" "$(tail -n 1 "$BT/rss")" 0 ""
    fi
    if [[ -n "${BENCH_ALT2_CLI:-}" && -f "$BENCH_ALT2_CLI" ]]; then
      # shellcheck disable=SC2086
      timed "$n" statusAlt2 "$it" /dev/null /usr/bin/time -f %M -o "$BT/rss" node ${BENCH_ALT2_FLAGS-} "$BENCH_ALT2_CLI" status --json
      rec "$n" statusAlt2Rss "$it" "$(tail -n 1 "$BT/rss")" 0 ""
    fi
  done
  rec "$n" assocsRows 1 "$(awk 'NR > 1' "$BT/assocs" | wc -l)" 0 ""
  # the CLI's own timeline (SCTPDIAG_TIMING): ms since process start at each step
  if inA env SCTPDIAG_TIMING=1 "$LAB_REPO/dist/src/cli.js" status --json >/dev/null 2>"$BT/timing"; then
    sed -n 's/^sctpdiag: timing //p' "$BT/timing" | node -e '
      const r = JSON.parse(require("fs").readFileSync(0, "utf8"));
      for (const [k, v] of Object.entries(r)) console.log([process.argv[1], "cli_" + k, 1, v, 0, ""].join("\t"));
    ' "$n" >>"$TSV"
  fi
  # BENCH_QUICK=1: sctpdiag's figures only (no dd, perf, ss)
  if [[ -n "${BENCH_QUICK:-}" ]]; then
    timed "$n" probe 1 "$BT/probe.json" env PROBE_CONTENTION=1 node "$LAB_REPO/dist/bench/lab/probe.js" &&
      node -e '
        const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
        for (const [k, v] of Object.entries(r)) console.log([process.argv[2], "probe_" + k, 1, v, 0, ""].join("\t"));
      ' "$BT/probe.json" "$n" >>"$TSV"
    return 0
  fi
  rec "$n" remaddrRows 1 "$(awk 'NR > 1' "$BT/remaddr" | wc -l)" 0 ""
  # read() size: the seq_file hands out at most one PAGE_SIZE buffer per read()
  for bs in 1k 4k 64k 1M; do
    timed "$n" "ddAssocs$bs" 1 /dev/null dd if=/proc/net/sctp/assocs of=/dev/null bs="$bs"
    sed -i "\$s/\$/reads=$(dd_reads)/" "$TSV"
  done
  timed "$n" ddRemaddr64k 1 /dev/null dd if=/proc/net/sctp/remaddr of=/dev/null bs=64k
  sed -i "\$s/\$/reads=$(dd_reads)/" "$TSV"
  # sctpdiag's own breakdown (read each file, both in parallel, parse+join, owners, JSON)
  if timed "$n" probe 1 "$BT/probe.json" node "$LAB_REPO/dist/bench/lab/probe.js"; then
    node -e '
      const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
      for (const [k, v] of Object.entries(r)) console.log([process.argv[2], "probe_" + k, 1, v, 0, ""].join("\t"));
    ' "$BT/probe.json" "$n" >>"$TSV"
  fi
  if [[ "${BENCH_PERF_AT:-}" == "$n" ]]; then
    # where status spends its time in the guest (analyse on the host: bench/lab/cpuprof.mjs)
    mkdir -p "$LAB_OUT/cpuprof"
    timeout "$BENCH_CAP" nsenter --net=/run/netns/a node --cpu-prof --cpu-prof-dir="$LAB_OUT/cpuprof" \
      "$LAB_REPO/dist/src/cli.js" status --json >/dev/null 2>&1
  fi
  if [[ "${BENCH_PERF_AT:-}" == "$n" ]] && command -v perf >/dev/null; then
    timeout "$BENCH_CAP" nsenter --net=/run/netns/a perf record -q -e cpu-clock -g -o "$BT/perf.data" \
      cat /proc/net/sctp/assocs >/dev/null 2>"$LAB_LOG/perf-$n.err"
    perf report -i "$BT/perf.data" --stdio --no-children --sort sym 2>/dev/null | grep -v '^$' | head -n 80 >"$LAB_OUT/perf-$n.txt"
    perf report -i "$BT/perf.data" --stdio --no-children --sort sym -g none 2>/dev/null | grep '%' | head -n 25 >"$LAB_OUT/perf-flat-$n.txt"
  fi
  # ss last: it is the slowest (quadratic netlink dump restarts), capped
  timed "$n" ss 1 /dev/null ss -S -a -n -i
}

for n in $BENCH_SIZES; do
  t0=$(now_us)
  echo "$n" >&7
  deadline=$(( $(now_us) + 1800 * 1000000 ))
  until grep -q "^ready $n " "$LAB_LOG/gen.log"; do
    if ! kill -0 "$GEN_PID" 2>/dev/null || (( $(now_us) > deadline )); then
      lab_log "generator failed at $n"; tail -n 20 "$LAB_LOG/gen.log" >&2; exit 1
    fi
    sleep 1
  done
  rec "$n" genSeconds 1 "$(( ($(now_us) - t0) / 1000000 ))" 0 ""
  lab_log "measuring at $n associations"
  measure "$n"
done
exec 7>&-
kill "$GEN_PID" 2>/dev/null
exit 0
