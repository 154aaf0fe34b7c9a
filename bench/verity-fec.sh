#!/bin/bash
# Side-by-side benchmark of reading a damaged dm-verity image with FEC in user space. The image is
# random data formatted by `veritysetup format --fec-device` (sha256, 4096-byte blocks, ROOTS parity
# bytes) on tmpfs, then every 8th data block damaged (8 bytes, at a place of its own so that each
# codeword has at most one wrong byte). Timed, alternating within every round:
#   gdm          `gdmsetup read` of a verity table with the FEC options: every block read, checked
#                against the tree, and each damaged one corrected from the parity (a fresh process)
#   before       the same with gdmsetup built from git revision $BEFORE (only when BEFORE is set)
#   veritysetup  `veritysetup verify --fec-device`: cryptsetup's check, which stops at the first bad
#                block and then decodes every codeword of the image from the parity, counting the
#                repairable errors (it corrects nothing on disk and returns no data: the only FEC
#                decoder in user space to compare with)
#   linear       `gdmsetup read` of a linear table over the data file: the floor
# Ratios are per round, medians over rounds.
#   usage: [BEFORE=<git rev>] bench/verity-fec.sh [ROUNDS] [SIZE_MB] [ROOTS]   (default 5 16 2)
# Nothing is left running; everything lives in one temp directory.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
ROUNDS=${1:-5} SIZE_MB=${2:-16} ROOTS=${3:-2}
for b in veritysetup go python3 git; do command -v $b >/dev/null || { echo "missing $b" >&2; exit 1; }; done
RUN=$(mktemp -d /dev/shm/verityfecbench.XXXXXX)
trap 'rm -rf "$RUN"' EXIT INT TERM
(cd "$HERE/.." && go build -o "$RUN/gdmsetup" ./cmd/gdmsetup)
TOOLS="gdm veritysetup linear"
if [ -n "${BEFORE:-}" ]; then
  mkdir "$RUN/src" && (cd "$HERE/.." && git archive "$BEFORE") | tar -x -C "$RUN/src"
  (cd "$RUN/src" && go build -o "$RUN/gdmsetup-before" ./cmd/gdmsetup)
  TOOLS="gdm before veritysetup linear"
fi
DATA=$RUN/data.img HASHF=$RUN/hash.img FEC=$RUN/fec.img
head -c $(( SIZE_MB << 20 )) /dev/urandom > "$DATA"
FMT=$(veritysetup format --no-superblock --fec-device "$FEC" --fec-roots "$ROOTS" "$DATA" "$HASHF")
ROOT=$(echo "$FMT" | awk '/^Root hash:/{print $3}') SALT=$(echo "$FMT" | awk '/^Salt:/{print $2}')
SECTORS=$(( SIZE_MB << 11 )) BLOCKS=$(( SIZE_MB << 8 ))
FEC_BLOCKS=$(( BLOCKS + $(stat -c %s "$HASHF") / 4096 ))
ORIG=$(sha256sum < "$DATA")
python3 - "$DATA" "$BLOCKS" <<'PY'
import sys
with open(sys.argv[1], "r+b") as f:
    for n in range(0, int(sys.argv[2]), 8):
        f.seek(n * 4096 + 8 * n % 4096)
        f.write(b"DAMAGED!")
PY
TABLE="0 $SECTORS verity 1 $DATA $HASHF 4096 4096 $BLOCKS 0 sha256 $ROOT $SALT 8 use_fec_from_device $FEC fec_roots $ROOTS fec_blocks $FEC_BLOCKS fec_start 0"
for g in gdmsetup gdmsetup-before; do
  [ -x "$RUN/$g" ] || continue
  "$RUN/$g" --dir "$RUN/state-$g" create v --readonly --table "$TABLE" 2>/dev/null
  "$RUN/$g" --dir "$RUN/state-$g" create lin --readonly --table "0 $SECTORS linear $DATA 0"
done
G="$RUN/gdmsetup --dir $RUN/state-gdmsetup"
# the corrected image must be the one formatted: check once, before timing
[ "$($G read v 2>/dev/null | sha256sum)" = "$ORIG" ] || { echo "gdmsetup did not read back the image as formatted" >&2; exit 1; }
[ "$(sha256sum < "$DATA")" != "$ORIG" ] || { echo "the damage did not take" >&2; exit 1; }
run() {
  case $1 in
    gdm) $G read v 2>/dev/null > /dev/null ;;
    before) "$RUN/gdmsetup-before" --dir "$RUN/state-gdmsetup-before" read v 2>/dev/null > /dev/null ;;
    veritysetup) veritysetup verify --no-superblock --salt "$SALT" --fec-device "$FEC" --fec-roots "$ROOTS" \
      "$DATA" "$HASHF" "$ROOT" 2>&1 | grep -q "repairable errors with FEC" ;;
    linear) $G read lin > /dev/null ;;
  esac
}
{ echo "round,tool,seconds"
for r in $(seq "$ROUNDS"); do
  order=$TOOLS; [ $((r % 2)) = 0 ] && order=$(echo $TOOLS | tr ' ' '\n' | tac | tr '\n' ' ')
  for s in $order; do
    t0=$(date +%s%N); run "$s"; t1=$(date +%s%N)
    echo "$r,$s,$(awk -v ns=$(( t1 - t0 )) 'BEGIN { printf "%.4f", ns / 1e9 }')"
  done
done; } | tee "$RUN/results.csv"
python3 - "$RUN/results.csv" "$SIZE_MB" "$ROOTS" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
tools = sorted({r["tool"] for r in rows})
t = {s: {int(r["round"]): float(r["seconds"]) for r in rows if r["tool"] == s} for s in tools}
print(f"{sys.argv[2]} MiB, {sys.argv[3]} roots, every 8th block damaged; median seconds:",
      ", ".join(f"{s} {statistics.median(t[s].values()):.3f}" for s in tools))
for other in tools:
    if other == "gdm":
        continue
    ratios = [t[other][k] / t["gdm"][k] for k in t["gdm"]]
    print(f"  {other}/gdm time ratio: median {statistics.median(ratios):.2f} [{min(ratios):.2f}-{max(ratios):.2f}]")
PY
