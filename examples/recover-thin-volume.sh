#!/usr/bin/env bash
# Recovery: assemble a thin pool from metadata and data images made
# elsewhere (here, images the real kernel wrote, in testdata/kernel), read
# only, and read a thin volume's bytes out with `gdmsetup read`.
#   GDMSETUP=path/to/gdmsetup examples/recover-thin-volume.sh [META.img DATA.img]
set -euo pipefail
G=${GDMSETUP:-gdmsetup}
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export GDMSETUP_DIR=$work/state
if [ $# -ge 2 ]; then
  meta=$1 data=$2
else
  xz -dc "$here/testdata/kernel/thin_meta.img.xz" > "$work/meta.img"
  xz -dc "$here/testdata/kernel/thin_data.img.xz" > "$work/data.img"
  meta=$work/meta.img data=$work/data.img
fi
# the pool's geometry comes from the metadata itself
$G thin dump "$meta" > "$work/dump.xml"
sb=$(head -1 "$work/dump.xml")
bs=$(sed -n 's/.*data_block_size="\([0-9]*\)".*/\1/p' <<<"$sb")
nr=$(sed -n 's/.*nr_data_blocks="\([0-9]*\)".*/\1/p' <<<"$sb")
echo "pool: $nr blocks of $bs sectors; devices: $(grep -o 'dev_id="[0-9]*"' "$work/dump.xml" | tr '\n' ' ')"
# read_only: nothing is written to the images
$G create pool --table "0 $((nr * bs)) thin-pool $meta $data $bs 0 1 read_only"
$G create vol --table "0 2097152 thin /dev/mapper/pool 0"
$G status
$G read vol --offset 0 --length 1048576 > "$work/vol-first-MiB.bin"
echo "first MiB of thin device 0: $(sha256sum < "$work/vol-first-MiB.bin")"
$G read vol --offset 4090 --length 12 | od -A d -c
$G remove_all
