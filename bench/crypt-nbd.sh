#!/bin/bash
# Side-by-side benchmark of an encrypted disk served over NBD: gdmsetup serve of a crypt table
# against qemu-nbd with qemu's own LUKS driver, on the same LUKS1 image on tmpfs (formatted by
# cryptsetup; gdmsetup gets the volume key and payload offset from `cryptsetup luksDump
# --dump-volume-key`). nbdcopy reads the whole volume to null: and writes a random file into it,
# over a unix socket; the two servers alternate within every round, ratios are per round.
#   usage: bench/crypt-nbd.sh [ROUNDS] [SIZE_MB] [CIPHER KEYBITS]   (default 5 256 aes-xts-plain64 512)
# Both servers are started here and stopped here by PID; everything lives in one temp directory.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
ROUNDS=${1:-5} SIZE_MB=${2:-256} CIPHER=${3:-aes-xts-plain64} KEYBITS=${4:-512}
for b in cryptsetup qemu-nbd nbdcopy go; do command -v $b >/dev/null || { echo "missing $b" >&2; exit 1; }; done
RUN=$(mktemp -d /dev/shm/cryptbench.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$RUN"; }
trap cleanup EXIT INT TERM
(cd "$HERE/.." && go build -o "$RUN/gdmsetup" ./cmd/gdmsetup)
IMG=$RUN/luks.img SRC=$RUN/src.raw PASS=$RUN/pass
printf 'bench pass' > "$PASS"
truncate -s $(( SIZE_MB + 4 ))M "$IMG"
cryptsetup luksFormat --type luks1 -q --pbkdf-force-iterations 1000 --key-file "$PASS" \
  --cipher "$CIPHER" --key-size "$KEYBITS" "$IMG"
DUMP=$(cryptsetup luksDump --dump-volume-key -q --key-file "$PASS" "$IMG")
OFF=$(echo "$DUMP" | awk '/Payload offset:/{print $3}')
KEY=$(echo "$DUMP" | awk '/MK dump:/{f=1; sub(/.*MK dump:/,"")} f&&/^[ \t0-9a-f]+$/{printf "%s", $0} f&&!/^[ \t0-9a-f]+$/{f=0}' | tr -d ' \t')
SECTORS=$(( $(stat -c %s "$IMG") / 512 - OFF ))
head -c $(( SECTORS * 512 )) /dev/urandom > "$SRC"
"$RUN/gdmsetup" --dir "$RUN/state" create vol --table "0 $SECTORS crypt $CIPHER $KEY 0 $IMG $OFF"
"$RUN/gdmsetup" --dir "$RUN/state" serve --socket "$RUN/gdm.sock" 2>"$RUN/gdm.log" & PIDS+=($!)
qemu-nbd -t -e 8 --object "secret,id=s0,file=$PASS" --image-opts \
  "driver=luks,key-secret=s0,file.filename=$IMG" -k "$RUN/qemu.sock" 2>"$RUN/qemu.log" & PIDS+=($!)
sleep 1
declare -A URL=([gdm]="nbd+unix:///vol?socket=$RUN/gdm.sock" [qemu]="nbd+unix:///?socket=$RUN/qemu.sock")
{ echo "round,test,server,MiB/s"
for r in $(seq "$ROUNDS"); do
  for test in read write; do
    for s in $( [ $((r % 2)) = 1 ] && echo "gdm qemu" || echo "qemu gdm" ); do
      t0=$(date +%s%N)
      if [ $test = read ]; then nbdcopy "${URL[$s]}" null:; else nbdcopy "$SRC" "${URL[$s]}"; fi
      t1=$(date +%s%N)
      awk -v r="$r" -v t="$test" -v s="$s" -v b=$(( SECTORS * 512 )) -v ns=$(( t1 - t0 )) \
        'BEGIN { printf "%s,%s,%s,%.0f\n", r, t, s, b / 1048576 / (ns / 1e9) }'
    done
  done
done; } | tee "$RUN/results.csv"
python3 - "$RUN/results.csv" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
for test in ("read", "write"):
    v = {s: {int(r["round"]): float(r["MiB/s"]) for r in rows if r["test"] == test and r["server"] == s} for s in ("gdm", "qemu")}
    ratios = [v["gdm"][k] / v["qemu"][k] for k in v["gdm"]]
    print(f"{test}: gdm {statistics.median(v['gdm'].values()):.0f} MiB/s, qemu-nbd {statistics.median(v['qemu'].values()):.0f} MiB/s,"
          f" gdm/qemu median {statistics.median(ratios):.2f} [{min(ratios):.2f}-{max(ratios):.2f}]")
PY
