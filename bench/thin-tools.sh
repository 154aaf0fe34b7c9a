#!/bin/sh
# thin-tools.sh: gdmsetup thin restore/check/dump/repair/ls/trim/delta against
# thin-provisioning-tools' thin_restore/thin_check/thin_dump/thin_repair/thin_ls/thin_trim/thin_delta,
# side by side in one hyperfine run per step (delta compares devices 0 and 1, so it runs
# when DEVICES >= 2). dump --repair runs on the metadata as restored and with its
# superblock zeroed (the repair then searches every block for the trees).
#
#   bench/thin-tools.sh [MAPPINGS] [RUNS] [DEVICES] [single|range]
#
# Defaults: 1000000 mappings, 5 runs, 1 device, single mappings. Files go to
# $BENCH_DIR (default /dev/shm). Needs hyperfine, thin-provisioning-tools, python3,
# GNU time. Prints hyperfine's tables (with the "times faster" ratios) and max RSS.
set -eu
N=${1:-1000000}
RUNS=${2:-5}
DEVICES=${3:-1}
MODE=${4:-single}
HERE=$(cd "$(dirname "$0")" && pwd)
DIR=$(mktemp -d "${BENCH_DIR:-/dev/shm}/thin-tools.XXXXXX")
trap 'rm -rf "$DIR"' EXIT INT TERM

GDM="$DIR/gdmsetup"
(cd "$HERE/.." && go build -o "$GDM" ./cmd/gdmsetup)
XML="$DIR/pool.xml"
python3 "$HERE/thin-gen-xml.py" "$N" "$DEVICES" "$MODE" > "$XML"
META_MIB=$(( N / 4000 + 16 ))  # ~33 bytes per mapping for thin_restore, plus room
for f in peer.meta gdm.meta; do truncate -s "${META_MIB}M" "$DIR/$f"; done
echo "== $N mappings, $DEVICES device(s), $MODE, metadata ${META_MIB} MiB, $(du -m "$XML" | cut -f1) MiB XML"

hyperfine -N -w 1 -r "$RUNS" \
  -n thin_restore "thin_restore -q -i $XML -o $DIR/peer.meta" \
  -n "gdmsetup thin restore" "$GDM thin restore -i $XML -o $DIR/gdm.meta"

# Both tools check and dump the same metadata (thin_restore's), then gdmsetup's own.
hyperfine -N -w 1 -r "$RUNS" \
  -n thin_check "thin_check -q $DIR/peer.meta" \
  -n "gdmsetup thin check" "$GDM thin check -q $DIR/peer.meta" \
  -n "gdmsetup thin check (own restore)" "$GDM thin check -q $DIR/gdm.meta"

hyperfine -N -w 1 -r "$RUNS" \
  -n thin_dump "thin_dump -o $DIR/peer.xml $DIR/peer.meta" \
  -n "gdmsetup thin dump" "$GDM thin dump -o $DIR/gdm.xml $DIR/peer.meta"

cmp "$DIR/peer.xml" "$DIR/gdm.xml" && echo "dump output: identical to thin_dump"

cp "$DIR/peer.meta" "$DIR/lost.meta"
dd if=/dev/zero of="$DIR/lost.meta" bs=4096 count=1 conv=notrunc status=none
SB=$(head -1 "$DIR/peer.xml")
field() { echo "$SB" | sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p"; }
OVR="--transaction-id $(field transaction) --data-block-size $(field data_block_size) --nr-data-blocks $(field nr_data_blocks)"
hyperfine -N -w 1 -r "$RUNS" \
  -n "thin_dump --repair" "thin_dump --repair -o $DIR/peer-r.xml $DIR/peer.meta" \
  -n "gdmsetup thin dump --repair" "$GDM thin dump --repair -o $DIR/gdm-r.xml $DIR/peer.meta" \
  -n "thin_dump --repair, superblock lost" "thin_dump --repair $OVR -o $DIR/peer-l.xml $DIR/lost.meta" \
  -n "gdmsetup thin dump --repair, superblock lost" "$GDM thin dump --repair $OVR -o $DIR/gdm-l.xml $DIR/lost.meta"
cmp "$DIR/peer-r.xml" "$DIR/gdm-r.xml" && cmp "$DIR/peer-l.xml" "$DIR/gdm-l.xml" && echo "dump --repair output: identical to thin_dump --repair"
truncate -s "${META_MIB}M" "$DIR/peer-r.meta" "$DIR/gdm-r.meta"
hyperfine -N -w 1 -r "$RUNS" \
  -n "thin_repair" "thin_repair -i $DIR/peer.meta -o $DIR/peer-r.meta" \
  -n "gdmsetup thin repair" "$GDM thin repair -i $DIR/peer.meta -o $DIR/gdm-r.meta"
[ "$(thin_dump "$DIR/peer-r.meta")" = "$(thin_dump "$DIR/gdm-r.meta")" ] && echo "repair output: thin_dump prints the same for both"

LS="-o DEV,MAPPED_BLOCKS,EXCLUSIVE_BLOCKS,SHARED_BLOCKS,MAPPED"
hyperfine -N -w 1 -r "$RUNS" \
  -n "thin_ls $LS" "thin_ls $LS $DIR/peer.meta" \
  -n "gdmsetup thin ls $LS" "$GDM thin ls $LS $DIR/peer.meta"
[ "$(thin_ls $LS "$DIR/peer.meta")" = "$("$GDM" thin ls $LS "$DIR/peer.meta")" ] && echo "ls output: identical to thin_ls"
# trim: both discard the free data blocks of a sparse data file of the pool's size;
# thin_trim 0.9.0 takes block devices only, so its copy is attached to a loop device
# (root; the row is left out where that fails). Trimming twice changes nothing more.
truncate -s $(( $(field nr_data_blocks) * $(field data_block_size) * 512 )) "$DIR/peer.data" "$DIR/gdm.data"
if LOOP=$(losetup -f --show "$DIR/peer.data" 2>/dev/null); then
  hyperfine -N -w 1 -r "$RUNS" \
    -n "thin_trim (loop device)" "thin_trim --metadata-dev $DIR/peer.meta --data-dev $LOOP" \
    -n "gdmsetup thin trim" "$GDM thin trim --metadata-dev $DIR/peer.meta --data-dev $DIR/gdm.data"
  losetup -d "$LOOP"
else
  echo "trim: no loop device here, thin_trim not run"
fi
if [ "$DEVICES" -ge 2 ]; then
  hyperfine -N -w 1 -r "$RUNS" \
    -n "thin_delta --verbose" "thin_delta --verbose --snap1 0 --snap2 1 $DIR/peer.meta" \
    -n "gdmsetup thin delta --verbose" "$GDM thin delta --verbose --snap1 0 --snap2 1 $DIR/peer.meta"
  thin_delta --verbose --snap1 0 --snap2 1 "$DIR/peer.meta" > "$DIR/peer.delta"
  "$GDM" thin delta --verbose --snap1 0 --snap2 1 "$DIR/peer.meta" > "$DIR/gdm.delta"
  cmp "$DIR/peer.delta" "$DIR/gdm.delta" && echo "delta output: identical to thin_delta ($(wc -l < "$DIR/gdm.delta") lines)"
fi
cmp "$XML" "$DIR/gdm.xml" && echo "dump output: identical to the input XML"
thin_check -q "$DIR/gdm.meta" && echo "thin_check accepts gdmsetup's restore"

rss() { /usr/bin/time -f "%M" "$@" 2>&1 >/dev/null | tail -1; }
echo "max RSS KiB (restore / check / dump):"
echo "  thin-provisioning-tools: $(rss thin_restore -q -i "$XML" -o "$DIR/peer.meta") / $(rss thin_check -q "$DIR/peer.meta") / $(rss thin_dump -o "$DIR/peer.xml" "$DIR/peer.meta")"
echo "  gdmsetup:                $(rss "$GDM" thin restore -i "$XML" -o "$DIR/gdm.meta") / $(rss "$GDM" thin check -q "$DIR/peer.meta") / $(rss "$GDM" thin dump -o "$DIR/gdm.xml" "$DIR/peer.meta")"
