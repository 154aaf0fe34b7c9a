#!/usr/bin/env bash
# Incremental backup of a thin volume: a full copy of a first snapshot, then,
# for a later snapshot, only the blocks `gdmsetup thin delta` lists as changed,
# read through a metadata snapshot while the pool stays live. The backup image
# ends identical to the later snapshot. Run from anywhere:
#   GDMSETUP=path/to/gdmsetup examples/incremental-backup.sh
set -euo pipefail
G=${GDMSETUP:-gdmsetup}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
export GDMSETUP_DIR=$work/state
truncate -s 4M meta.img
truncate -s 256M data.img
bs=128                              # data block size in sectors (64 KiB)
vol_sectors=65536                   # a 32 MiB volume: 512 blocks
$G create pool --table "0 524288 thin-pool $work/meta.img $work/data.img $bs 0"
$G message pool 0 "create_thin 0"
$G create vol --table "0 $vol_sectors thin /dev/mapper/pool 0"
head -c 8M /dev/urandom | $G write vol --offset 0
head -c 1M /dev/urandom | $G write vol --offset 20M

snapshot() { # ID: snapshot the volume as thin device ID, as the kernel's cookbook does
  $G suspend vol
  $G message pool 0 "create_snap $1 0"
  $G resume vol
}

echo "== backup 1: a full copy of snapshot 1"
snapshot 1
$G create snap1 --table "0 $vol_sectors thin /dev/mapper/pool 1"
$G read snap1 > backup.img
$G remove snap1

echo "== the volume changes: writes over old data, new data, a discard"
head -c 256K /dev/urandom | $G write vol --offset 1M
head -c 64K /dev/urandom | $G write vol --offset 30M
$G discard vol --offset 20M --length 512K

echo "== backup 2: only what changed between snapshots 1 and 2"
snapshot 2
$G message pool 0 reserve_metadata_snap   # a stable view of the metadata for thin delta
$G thin delta -m --snap1 1 --snap2 2 meta.img > delta.xml
$G message pool 0 release_metadata_snap
cat delta.xml
$G create snap2 --table "0 $vol_sectors thin /dev/mapper/pool 2"
copied=0
# different / right_only: read from snapshot 2; left_only: discarded since, so zeroes.
while read -r kind begin length; do
  off=$((begin * bs * 512)) len=$((length * bs * 512))
  if [ "$kind" = left_only ]; then
    head -c "$len" /dev/zero
  else
    $G read snap2 --offset "$off" --length "$len"
  fi | dd of=backup.img bs=64K seek="$begin" iflag=fullblock conv=notrunc status=none
  copied=$((copied + length))
done < <(sed -n 's/^ *<\(different\|right_only\|left_only\) begin="\([0-9]*\)" length="\([0-9]*\)".*/\1 \2 \3/p' delta.xml)
echo "copied $copied of $((vol_sectors / bs)) blocks"

$G read snap2 > snap2.img
cmp backup.img snap2.img
echo "backup 2 is identical to snapshot 2"
$G remove_all
