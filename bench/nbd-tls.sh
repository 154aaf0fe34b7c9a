#!/bin/bash
# Side-by-side benchmark of NBD over TLS: nbdkit's file plugin with --tls=require against
# `gdmsetup serve --tls=require` (one linear device spanning the same file), and both again
# without TLS, all on 127.0.0.1 TCP. nbdcopy reads the whole export to null: and writes a random
# file into it with sequential 1 MiB requests (its default 4 connections when the server allows
# multi-conn, as both do). The four targets alternate within every round and the first one
# rotates; ratios are paired per round.
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
nbdkit -f -i 127.0.0.1 -p 20831 --tls=require --tls-certificates="$RUN/certs/server" file "$IMG" 2>"$RUN/nbdkit-tls.log" & PIDS+=($!)
nbdkit -f -i 127.0.0.1 -p 20832 file "$IMG" 2>"$RUN/nbdkit.log" & PIDS+=($!)
"$RUN/gdmsetup" --dir "$RUN/state" serve --listen 127.0.0.1:20833 --tls=require --tls-certificates "$RUN/certs/server" 2>"$RUN/gdm-tls.log" & PIDS+=($!)
# The plain gdmsetup server is a second process on the same state: the first one holds the
# state directory, so this one gets its own copy of the registry.
cp -r "$RUN/state" "$RUN/state2"
"$RUN/gdmsetup" --dir "$RUN/state2" serve --listen 127.0.0.1:20834 2>"$RUN/gdm.log" & PIDS+=($!)
sleep 1
CLI=$RUN/certs/client
declare -A URL=([nbdkit-tls]="nbds://127.0.0.1:20831/?tls-certificates=$CLI" [nbdkit]="nbd://127.0.0.1:20832/"
                [gdm-tls]="nbds://127.0.0.1:20833/lin?tls-certificates=$CLI" [gdm]="nbd://127.0.0.1:20834/lin")
TARGETS=(nbdkit-tls gdm-tls nbdkit gdm)
for t in "${TARGETS[@]}"; do
  timeout 5 nbdinfo --size "${URL[$t]}" >/dev/null || { echo "$t not answering" >&2; exit 1; }
done
{ echo "round,test,server,MiB/s"
for r in $(seq "$ROUNDS"); do
  for test in read write; do
    for i in 0 1 2 3; do
      s=${TARGETS[$(( (i + r - 1) % 4 ))]}
      t0=$(date +%s%N)
      if [ $test = read ]; then timeout 300 nbdcopy --request-size=1048576 "${URL[$s]}" null:
      else timeout 300 nbdcopy --request-size=1048576 "$SRC" "${URL[$s]}"; fi
      t1=$(date +%s%N)
      awk -v r="$r" -v t="$test" -v s="$s" -v b=$(( SIZE_MB << 20 )) -v ns=$(( t1 - t0 )) \
        'BEGIN { printf "%s,%s,%s,%.0f\n", r, t, s, b / 1048576 / (ns / 1e9) }'
    done
  done
done; } | tee "$RUN/results.csv"
python3 - "$RUN/results.csv" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
def v(test, s):
    return {int(r["round"]): float(r["MiB/s"]) for r in rows if r["test"] == test and r["server"] == s}
def ratio(test, a, b):
    x, y = v(test, a), v(test, b)
    rs = [x[k] / y[k] for k in x]
    return f"{a}/{b} median {statistics.median(rs):.2f} [{min(rs):.2f}-{max(rs):.2f}]"
for test in ("read", "write"):
    med = ", ".join(f"{s} {statistics.median(v(test, s).values()):.0f}" for s in ("nbdkit-tls", "gdm-tls", "nbdkit", "gdm"))
    print(f"{test} MiB/s: {med}")
    print(f"  {ratio(test, 'gdm-tls', 'nbdkit-tls')}; {ratio(test, 'gdm-tls', 'gdm')} (TLS cost for us); {ratio(test, 'nbdkit-tls', 'nbdkit')} (for nbdkit)")
PY
