#!/bin/sh
# kernel-loads-gdmsetup.sh GDMSETUP: devices gdmsetup wrote, read back by
# the 6.1 kernel in the oracle (../../../../shared/oracle, ORACLE_DIR
# overrides): mode D (sha256, 4 KiB blocks, fix_padding) removed cleanly;
# mode J whose writes are committed in the journal only (the kernel
# replays it); mode B left with its bitmap dirty (the kernel recalculates).
# Each of the kernel's reads must print the data's sha256 (the first line).
set -eu
G=$(realpath "$1")
ORACLE=${ORACLE_DIR:-$(dirname "$0")/../../../../shared/oracle}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
cd "$W"
export GDMSETUP_DIR="$W/state"
head -c 131072 /dev/urandom > ref.img
for n in gd gj gb; do truncate -s 4M $n.img; done
"$G" create gd --table "0 4096 integrity $W/gd.img 0 - D 3 internal_hash:sha256 block_size:4096 fix_padding"
"$G" write gd < ref.img
"$G" remove gd
"$G" create gj --table "0 4096 integrity $W/gj.img 0 - J 3 internal_hash:crc32c journal_sectors:2048 commit_time:600000"
"$G" write gj < ref.img
"$G" create gb --table "0 4096 integrity $W/gb.img 0 - B 2 internal_hash:crc32c sectors_per_bit:64"
"$G" write gb < ref.img
rm -rf state
cat > load.sh <<'GUEST'
# oracle-disk: gd 4M
# oracle-disk: gj 4M
# oracle-disk: gb 4M
# oracle-disk: ref 128K
. /oracle/lib.sh
sha256sum < /dev/oracle/ref
for d in "gd D 3 internal_hash:sha256 block_size:4096 fix_padding" \
	"gj J 3 internal_hash:crc32c journal_sectors:2048 commit_time:600000" \
	"gb B 2 internal_hash:crc32c sectors_per_bit:64"; do
	set -- $d; n=$1; shift
	dmsetup create $n --table "0 4096 integrity /dev/oracle/$n 0 - $*"
	dd if=/dev/mapper/$n bs=64k count=2 iflag=direct 2>/dev/null | sha256sum
	dmsetup status $n; dmsetup remove $n
done
dmesg -c
GUEST
flock /tmp/oracle.lock "$ORACLE/run.sh" load.sh "$W"
