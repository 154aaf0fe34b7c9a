#!/usr/bin/env bash
# Fault injection: test how a program copes with a disk that loses writes,
# fails them, fails reads, or is slow, with the kernel's flakey and delay
# targets over an ordinary file. Each fault is a table reload: the program
# keeps its device (here `gdmsetup write`/`read`, over NBD any client) while
# the disk under it changes its mind.
#   GDMSETUP=path/to/gdmsetup examples/fault-injection.sh
set -euo pipefail
G=${GDMSETUP:-gdmsetup}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export GDMSETUP_DIR=$work/state
cd "$work"
truncate -s 16M disk.img
sectors=32768

# flakey <dev> <offset> <up seconds> <down seconds> [features]: up for an hour.
$G create disk --table "0 $sectors flakey disk.img 0 3600 0"
head -c 1M /dev/urandom > good.bin
$G write disk < good.bin
$G read disk --length 1M | cmp - good.bin

fault() { # reload the table and make it live
	$G reload disk --table "0 $sectors $1"
	$G resume disk
}

# Lost writes: down all the time (up 0), writes are acknowledged and dropped.
fault "flakey disk.img 0 0 1 1 drop_writes"
head -c 1M /dev/urandom > lost.bin
$G write disk < lost.bin
$G read disk --length 1M | cmp - good.bin && echo "drop_writes: the write succeeded and was lost"

# Failed writes: the write returns EIO; reads still work.
fault "flakey disk.img 0 0 1 1 error_writes"
if $G write disk < lost.bin 2>err.txt; then echo "error_writes: the write succeeded" >&2; exit 1; fi
grep -m1 "Input/output error" err.txt | sed 's/^/error_writes: /' | grep .
$G read disk --length 1M | cmp - good.bin

# A dead disk: down without features, every read and write fails.
fault "flakey disk.img 0 0 1"
if $G read disk --length 4K >/dev/null 2>err.txt; then echo "down: the read succeeded" >&2; exit 1; fi
grep -m1 "Input/output error" err.txt | sed 's/^/down: /' | grep .

# Silent corruption: byte 1 of every read while down becomes 0xff... over a
# mapped device (the kernel corrupts a read when the device under flakey is a
# mapped one: see docs/flakey.md), so flakey goes over a linear device here.
$G create base --table "0 $sectors linear disk.img 0"
fault "flakey /dev/mapper/base 0 0 1 5 corrupt_bio_byte 1 r 255 0"
first=$($G read disk --length 512 | od -An -tu1 -N1 | tr -d ' ')
echo "corrupt_bio_byte: the first byte reads as $first"
[ "$first" = 255 ]

# A slow disk: reads take 200 ms more (delay <dev> <offset> <ms>), writes not.
fault "delay disk.img 0 200 disk.img 0 0"
start=$(date +%s%N)
$G read disk --length 4K >/dev/null
ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "delay: a 4 KiB read took $ms ms"
[ "$ms" -ge 200 ]

# Healthy again: the data is what was written before the faults.
fault "linear disk.img 0"
$G read disk --length 1M | cmp - good.bin && echo "healthy: the data survived every fault"
$G remove disk
$G remove base
