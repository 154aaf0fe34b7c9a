#!/usr/bin/env bash
# The cookbook of the kernel's thin-provisioning.rst, with gdmsetup for
# dmsetup and sparse files for the block devices. Run from anywhere:
#   GDMSETUP=path/to/gdmsetup examples/thin-cookbook.sh
set -euo pipefail
G=${GDMSETUP:-gdmsetup}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
export GDMSETUP_DIR=$work/state
truncate -s 16M metadata.img
truncate -s 1G data.img
truncate -s 64M image.img
printf 'an external origin: a read-only image shared by many thin volumes\n' | dd of=image.img conv=notrunc status=none
metadata_dev=$work/metadata.img data_dev=$work/data.img
data_block_size=128 low_water_mark=32768

echo "== setting up a fresh pool device"
$G create pool --table "0 2097152 thin-pool $metadata_dev $data_dev $data_block_size $low_water_mark"

echo "== using an existing pool device: reload with the same table"
$G suspend pool
$G reload pool --table "0 2097152 thin-pool $metadata_dev $data_dev $data_block_size $low_water_mark"
$G resume pool

echo "== creating a new thinly-provisioned volume"
$G message /dev/mapper/pool 0 "create_thin 0"
$G create thin --table "0 2097152 thin /dev/mapper/pool 0"
printf 'hello from the origin\n' | $G write thin --offset 0

echo "== internal snapshot"
$G suspend /dev/mapper/thin
$G message /dev/mapper/pool 0 "create_snap 1 0"
$G resume /dev/mapper/thin
$G create snap --table "0 2097152 thin /dev/mapper/pool 1"
printf 'the origin moved on\n' | $G write thin --offset 0
$G read snap --length 22
$G read thin --length 20

echo "== snapshot of a snapshot"
$G message /dev/mapper/pool 0 "create_snap 2 1"

echo "== external snapshot"
$G message /dev/mapper/pool 0 "create_thin 3"
$G create extsnap --table "0 2097152 thin /dev/mapper/pool 3 $work/image.img"
$G read extsnap --length 67

echo "== status"
$G status
$G table

echo "== metadata snapshot and the real thin_dump"
$G message /dev/mapper/pool 0 reserve_metadata_snap
$G status pool
if command -v thin_dump >/dev/null; then thin_dump -m "$metadata_dev" | sed -n 1,3p; fi
$G message /dev/mapper/pool 0 release_metadata_snap

echo "== transaction id"
$G message /dev/mapper/pool 0 "set_transaction_id 0 1"

echo "== deactivation and deletion"
$G remove extsnap
$G remove snap
$G remove thin
$G message /dev/mapper/pool 0 "delete 1"
$G message /dev/mapper/pool 0 "delete 2"
$G status pool
$G remove pool
if command -v thin_check >/dev/null; then thin_check "$metadata_dev"; fi
echo "cookbook done"
