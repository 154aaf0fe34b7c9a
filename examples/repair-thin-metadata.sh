#!/usr/bin/env bash
# Repair: thin-pool metadata whose superblock was overwritten (as when a pool is
# activated on two hosts at once). `thin check` finds the damage; `thin repair`,
# given the superblock fields that were lost, finds the pool's trees among the
# metadata blocks and writes fresh metadata; the pool assembles on the repaired
# metadata and the old data, and the volume reads as before the damage.
# The images are the ones the real kernel wrote (testdata/kernel).
#   GDMSETUP=path/to/gdmsetup examples/repair-thin-metadata.sh
set -euo pipefail
G=${GDMSETUP:-gdmsetup}
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export GDMSETUP_DIR=$work/state
cd "$work"
xz -dc "$here/testdata/kernel/thin_meta.img.xz" > meta.img
xz -dc "$here/testdata/kernel/thin_data.img.xz" > data.img

# Before the damage: the superblock's fields (keep them, e.g. from `thin dump`),
# and what thin device 0 holds.
$G thin dump meta.img > before.xml
field() { sed -n "1s/.* $1=\"\([0-9]*\)\".*/\1/p" before.xml; }
tid=$(field transaction) bs=$(field data_block_size) nr=$(field nr_data_blocks)
read_volume() { # META -> sha256 of the first MiB of thin device 0, read only
  $G create pool --table "0 $((nr * bs)) thin-pool $1 data.img $bs 0 1 read_only"
  $G create vol --table "0 2097152 thin /dev/mapper/pool 0"
  $G read vol --offset 0 --length 1048576 | sha256sum
  $G remove_all
}
want=$(read_volume meta.img)

# The damage: the superblock is zeroed.
dd if=/dev/zero of=meta.img bs=4096 count=1 conv=notrunc status=none
if $G thin check -q meta.img; then echo "thin check missed the damage" >&2; exit 1; fi
echo "thin check: damaged"
$G thin dump --repair meta.img 2>&1 >/dev/null | sed 's/^/without the fields: /' || true

# The repair writes into another file of the metadata's size.
truncate -s "$(stat -c %s meta.img)" repaired.img
$G thin repair -i meta.img -o repaired.img --transaction-id "$tid" --data-block-size "$bs" --nr-data-blocks "$nr"
$G thin check repaired.img
$G thin dump repaired.img | cmp - before.xml
echo "the repaired metadata dumps as before the damage"
got=$(read_volume repaired.img)
[ "$got" = "$want" ] || { echo "thin device 0 reads differently: $got, want $want" >&2; exit 1; }
echo "thin device 0 reads as before: $got"
