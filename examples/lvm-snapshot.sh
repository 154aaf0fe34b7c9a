#!/usr/bin/env bash
# Classic (LVM-style) snapshots with dm-snapshot: take a snapshot of a volume,
# change the volume, read the snapshot back as it was, recover it read-only
# from the origin and COW images alone, then roll the volume back by merging
# the snapshot into it (what `lvconvert --merge` does).
#   GDMSETUP=path/to/gdmsetup examples/lvm-snapshot.sh
set -euo pipefail
G=${GDMSETUP:-gdmsetup}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export GDMSETUP_DIR=$work/state
cd "$work"
truncate -s 64M origin.img
truncate -s 16M cow.img # a new COW device starts zeroed
sectors=131072
head -c 8M /dev/urandom > before.bin
dd if=before.bin of=origin.img conv=notrunc status=none

# LVM's layout: vol-real holds the data, vol-snap is the snapshot (chunks of
# 8 sectors, persistent), vol is what users write (it copies old chunks first).
$G create vol-real --table "0 $sectors linear $PWD/origin.img 0"
$G create vol-snap --table "0 $sectors snapshot /dev/mapper/vol-real $PWD/cow.img P 8"
$G create vol --table "0 $sectors snapshot-origin /dev/mapper/vol-real"

head -c 4M /dev/urandom | $G write vol --offset 2M
$G read vol-snap --length 8M | cmp - before.bin
echo "snapshot still holds the old data: $($G status vol-snap)"

# Recovery from the images alone, in a separate state directory, read-only.
cp origin.img origin-copy.img && cp cow.img cow-copy.img
GDMSETUP_DIR=$work/recover $G create --readonly rec \
	--table "0 $sectors snapshot $PWD/origin-copy.img $PWD/cow-copy.img P 0"
GDMSETUP_DIR=$work/recover $G read rec --length 8M | cmp - before.bin
echo "recovered from origin and COW images: $(GDMSETUP_DIR=$work/recover $G table rec | cut -d' ' -f3,6-7)"

# Roll back: merge the snapshot into the origin.
$G suspend vol
$G suspend vol-snap
$G reload vol --table "0 $sectors snapshot-merge /dev/mapper/vol-real $PWD/cow.img P 8"
$G resume vol
$G resume vol-snap
$G remove vol-snap
$G read vol --length 8M | cmp - before.bin
echo "merged back: $($G status vol)"
$G remove_all
