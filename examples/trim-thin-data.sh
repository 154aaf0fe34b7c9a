#!/usr/bin/env bash
# Trim: a thin pool kept in image files (a backup, a CI fixture) grows as
# volumes come and go: deleting a volume or a snapshot frees its blocks in the
# pool but leaves their bytes in the data file. `thin trim` punches the blocks
# the pool holds free out of the data file, so it takes only what the volumes
# use; the volumes read as before, and the pool goes on from there.
#   GDMSETUP=path/to/gdmsetup examples/trim-thin-data.sh
set -euo pipefail
G=${GDMSETUP:-gdmsetup}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export GDMSETUP_DIR=$work/state
cd "$work"
truncate -s 4M meta.img
truncate -s 256M data.img
$G create pool --table "0 524288 thin-pool meta.img data.img 128 0"
$G message pool 0 create_thin 0
$G create vol --table "0 131072 thin /dev/mapper/pool 0"
head -c 32M /dev/urandom > first.bin
$G write vol < first.bin

# A snapshot, then the volume rewritten: the snapshot holds the old blocks.
$G suspend vol
$G message pool 0 create_snap 1 0
$G resume vol
head -c 32M /dev/urandom > second.bin
$G write vol < second.bin
allocated() { du -k data.img | cut -f1; }
echo "data file with the snapshot: $(allocated) KiB allocated"

# The snapshot is deleted: its 32 MiB are free in the pool, still in the file.
$G message pool 0 delete 1
echo "after deleting it: $(allocated) KiB allocated"

# thin trim reads the pool's metadata (it must be at rest: no running gdmsetup
# has the pool open) and discards the free blocks.
$G thin trim --metadata-dev meta.img --data-dev data.img
echo "after thin trim: $(allocated) KiB allocated"
[ "$(allocated)" -le $((33 * 1024)) ] || { echo "the trim left more than the volume's 32 MiB" >&2; exit 1; }
$G read vol --length 32M | cmp - second.bin
echo "the volume reads as before"
$G thin check meta.img
