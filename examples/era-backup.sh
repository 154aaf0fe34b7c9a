#!/usr/bin/env bash
# Incremental backup with dm-era: a full copy once, then only the blocks
# written since the era the last backup noted, listed by `gdmsetup era
# invalidate` from a metadata snapshot (as era_invalidate would).
#   GDMSETUP=path/to/gdmsetup examples/era-backup.sh
set -euo pipefail
G=${GDMSETUP:-gdmsetup}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export GDMSETUP_DIR=$work/state
cd "$work"
truncate -s 4M meta.img
truncate -s 64M origin.img
# era <metadata> <origin> <block size in sectors>: 128 sectors = 64 KiB blocks
$G create e --table "0 131072 era $PWD/meta.img $PWD/origin.img 128"
head -c 1M /dev/urandom | $G write e --offset 0

# Full backup: freeze the metadata, copy everything, note the era, release.
$G message e 0 take_metadata_snap
cp origin.img backup.img
era=$($G status e | cut -d' ' -f6)
$G message e 0 drop_metadata_snap

for round in 1 2 3; do
	# the device is used...
	for off in $((RANDOM % 64))M $((RANDOM % 64))M 63M; do
		head -c 4096 /dev/urandom | $G write e --offset "$off"
	done
	# incremental backup: every block written in era $era or later
	$G message e 0 take_metadata_snap
	next=$($G status e | cut -d' ' -f6)
	$G era invalidate --written-since "$era" --metadata-snapshot -o changed.xml meta.img
	n=0
	for b in $(grep -o 'block block="[0-9]*"' changed.xml | grep -o '[0-9]*'); do
		dd if=origin.img of=backup.img bs=64K skip="$b" seek="$b" count=1 conv=notrunc status=none
		n=$((n + 1))
	done
	$G message e 0 drop_metadata_snap
	cmp origin.img backup.img
	echo "round $round: era $era, $n blocks copied, backup up to date"
	era=$next
done
$G remove e
$G era check -q meta.img
