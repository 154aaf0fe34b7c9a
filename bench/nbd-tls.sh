#!/bin/bash
# Side-by-side benchmark of NBD over TLS: nbdkit's file plugin with --tls=require against
# `gdmsetup serve --tls=require` (one linear device spanning the same file), and both again
# without TLS, all on 127.0.0.1 TCP. nbdcopy reads the whole export to null: and writes a random
# file into it with sequential 1 MiB requests (its default 4 connections when the server allows
# multi-conn, as both do). The four targets alternate within every round and the first one
# rotates; ratios are paired per round. Besides throughput, the server process's CPU time per
# GiB moved (/proc/PID/stat), which the shared cores disturb less.
#   usage: bench/nbd-tls.sh [ROUNDS] [SIZE_MB]   (default 5 512)
# Certificates come from bench/nbd-tls-certs.sh; the file is on tmpfs. Every server is started
# here and stopped here by its PID; everything lives in one temp directory.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
ROUNDS=${1:-5} SIZE_MB=${2:-512}
for b in nbdkit nbdcopy nbdinfo openssl go; do command -v $b >/dev/null || { echo "missing $b" >&2; exit 1; }; done
exec 9>/tmp/nbdbench-gdm.lock
flock -w 3600 9 || { echo "another NBD benchmark holds /tmp/nbdbench-gdm.lock" >&2; exit 1; }
RUN=$(mktemp -d /dev/shm/nbdtls.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done; rm -rf "$RUN"; }
trap cleanup EXIT INT TERM
(cd "$HERE/.." && go build -o "$RUN/gdmsetup" ./cmd/gdmsetup)
"$HERE/nbd-tls-certs.sh" "$RUN/certs"
SRC=$RUN/src.raw IMG=$RUN/disk.img
head -c ${SIZE_MB}M /dev/urandom > "$SRC"
cp "$SRC" "$IMG"
"$RUN/gdmsetup" --dir "$RUN/state" create lin --table "0 $(( SIZE_MB * 2048 )) linear $IMG 0"
declare -A PID
nbdkit -f -i 127.0.0.1 -p 20831 --tls=require --tls-certificates="$RUN/certs/server" file "$IMG" 2>"$RUN/nbdkit-tls.log" & PIDS+=($!); PID[nbdkit-tls]=$!
nbdkit -f -i 127.0.0.1 -p 20832 file "$IMG" 2>"$RUN/nbdkit.log" & PIDS+=($!); PID[nbdkit]=$!
"$RUN/gdmsetup" --dir "$RUN/state" serve --listen 127.0.0.1:20833 --tls=require --tls-certificates "$RUN/certs/server" 2>"$RUN/gdm-tls.log" & PIDS+=($!); PID[gdm-tls]=$!
# The plain gdmsetup server is a second process on a copy of the state: the first one holds
# the state directory.
cp -r "$RUN/state" "$RUN/state2"
"$RUN/gdmsetup" --dir "$RUN/state2" serve --listen 127.0.0.1:20834 2>"$RUN/gdm.log" & PIDS+=($!); PID[gdm]=$!
# cpu_ticks PID: the process's user+system CPU time so far, in clock ticks.
cpu_ticks() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)
sleep 1
CLI=$RUN/certs/client
declare -A URL=([nbdkit-tls]="nbds://127.0.0.1:20831/?tls-certificates=$CLI" [nbdkit]="nbd://127.0.0.1:20832/"
                [gdm-tls]="nbds://127.0.0.1:20833/lin?tls-certificates=$CLI" [gdm]="nbd://127.0.0.1:20834/lin")
TARGETS=(nbdkit-tls gdm-tls nbdkit gdm)
for t in "${TARGETS[@]}"; do
  timeout 5 nbdinfo --size "${URL[$t]}" >/dev/null || { echo "$t not answering" >&2; exit 1; }
done
{ echo "round,test,server,MiB/s,cpu_s_per_GiB"
for r in $(seq "$ROUNDS"); do
  for test in read write; do
    for i in 0 1 2 3; do
      s=${TARGETS[$(( (i + r - 1) % 4 ))]}
      c0=$(cpu_ticks "${PID[$s]}"); t0=$(date +%s%N)
      if [ $test = read ]; then timeout 300 nbdcopy --request-size=1048576 "${URL[$s]}" null:
      else timeout 300 nbdcopy --request-size=1048576 "$SRC" "${URL[$s]}"; fi
      t1=$(date +%s%N); c1=$(cpu_ticks "${PID[$s]}")
      awk -v r="$r" -v t="$test" -v s="$s" -v mb="$SIZE_MB" -v ns=$(( t1 - t0 )) -v ticks=$(( c1 - c0 )) -v hz="$HZ" \
        'BEGIN { printf "%s,%s,%s,%.0f,%.3f\n", r, t, s, mb / (ns / 1e9), ticks / hz / (mb / 1024) }'
    done
  done
done; } | tee "$RUN/results.csv"
python3 - "$RUN/results.csv" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
def v(test, s, col):
    return {int(r["round"]): float(r[col]) for r in rows if r["test"] == test and r["server"] == s}
def ratio(test, a, b, col):
    x, y = v(test, a, col), v(test, b, col)
    rs = [x[k] / y[k] for k in x if y[k] > 0]
    return f"{a}/{b} {statistics.median(rs):.2f} [{min(rs):.2f}-{max(rs):.2f}]" if rs else f"{a}/{b} n/a"
for col, what in (("MiB/s", "throughput"), ("cpu_s_per_GiB", "server CPU s per GiB")):
    for test in ("read", "write"):
        med = ", ".join(f"{s} {statistics.median(v(test, s, col).values()):.3g}" for s in ("nbdkit-tls", "gdm-tls", "nbdkit", "gdm"))
        print(f"{test} {what} (medians): {med}")
        print(f"  ratios (median [min-max] of rounds): {ratio(test, 'gdm-tls', 'nbdkit-tls', col)}; "
              f"{ratio(test, 'gdm-tls', 'gdm', col)} (TLS for us); {ratio(test, 'nbdkit-tls', 'nbdkit', col)} (TLS for nbdkit)")
PY
