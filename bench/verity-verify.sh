#!/bin/bash
# Side-by-side benchmark of checking a whole dm-verity image in user space: `veritysetup verify`
# (cryptsetup's own hash tree check) against `gdmsetup read` of a verity table over the same data
# and hash files (every data block read and checked against the tree, the tree walked from the
# root in a fresh process), with a linear table over the data file as the floor. The image is
# random data formatted by `veritysetup format` (sha256, 4096-byte blocks) on tmpfs; the three
# alternate within every round, ratios are per round.
#   usage: bench/verity-verify.sh [ROUNDS] [SIZE_MB] [HASH]   (default 5 256 sha256)
# Nothing is left running; everything lives in one temp directory.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
ROUNDS=${1:-5} SIZE_MB=${2:-256} HASH=${3:-sha256}
for b in veritysetup go python3; do command -v $b >/dev/null || { echo "missing $b" >&2; exit 1; }; done
RUN=$(mktemp -d /dev/shm/veritybench.XXXXXX)
trap 'rm -rf "$RUN"' EXIT INT TERM
(cd "$HERE/.." && go build -o "$RUN/gdmsetup" ./cmd/gdmsetup)
DATA=$RUN/data.img HASHF=$RUN/hash.img G="$RUN/gdmsetup --dir $RUN/state"
head -c $(( SIZE_MB << 20 )) /dev/urandom > "$DATA"
FMT=$(veritysetup format --no-superblock --hash "$HASH" "$DATA" "$HASHF")
ROOT=$(echo "$FMT" | awk '/^Root hash:/{print $3}') SALT=$(echo "$FMT" | awk '/^Salt:/{print $2}')
SECTORS=$(( SIZE_MB << 11 )) BLOCKS=$(( SIZE_MB << 8 ))
$G create v --readonly --table "0 $SECTORS verity 1 $DATA $HASHF 4096 4096 $BLOCKS 0 $HASH $ROOT $SALT" 2>/dev/null
$G create lin --readonly --table "0 $SECTORS linear $DATA 0"
run() {
  case $1 in
    veritysetup) veritysetup verify --no-superblock --hash "$HASH" --salt "$SALT" "$DATA" "$HASHF" "$ROOT" ;;
    gdm) $G read v > /dev/null ;;
    linear) $G read lin > /dev/null ;;
  esac
}
{ echo "round,tool,MiB/s"
for r in $(seq "$ROUNDS"); do
  for s in $( [ $((r % 2)) = 1 ] && echo "gdm veritysetup linear" || echo "linear veritysetup gdm" ); do
    t0=$(date +%s%N); run "$s"; t1=$(date +%s%N)
    awk -v r="$r" -v s="$s" -v mb="$SIZE_MB" -v ns=$(( t1 - t0 )) 'BEGIN { printf "%s,%s,%.0f\n", r, s, mb / (ns / 1e9) }'
  done
done; } | tee "$RUN/results.csv"
python3 - "$RUN/results.csv" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
v = {t: {int(r["round"]): float(r["MiB/s"]) for r in rows if r["tool"] == t} for t in ("gdm", "veritysetup", "linear")}
for other in ("veritysetup", "linear"):
    ratios = [v["gdm"][k] / v[other][k] for k in v["gdm"]]
    print(f"gdm {statistics.median(v['gdm'].values()):.0f} MiB/s, {other} {statistics.median(v[other].values()):.0f} MiB/s,"
          f" gdm/{other} median {statistics.median(ratios):.2f} [{min(ratios):.2f}-{max(ratios):.2f}]")
PY
