#!/bin/sh
# Members added to raid6_zr (four to five, chunk 64, data_offset 1024)
# and raid4 (three to four, chunk 32, data_offset 512, the new member
# named by rebuild) by the kernel: the set is made on the members from
# the data offset on (linear devices), PATTERN written (the first 6 and
# 7 MiB of seq 1 2000000), the reshape table loaded and removed, the set
# loaded again and its reshape waited for; the sha256 of every data
# member is what TestKernelReshapeLevels compares gdmsetup's with.
# Run from /work/shared/oracle:
#   flock /tmp/oracle.lock ./run.sh --fresh --timeout 300 PATH/TO/kernel-reshape-levels.sh DIR
# oracle-disk: a 4M
# oracle-disk: b 4M
# oracle-disk: c 4M
# oracle-disk: d 4M
# oracle-disk: e 4M
# oracle-disk: ma 1M
# oracle-disk: mb 1M
# oracle-disk: mc 1M
# oracle-disk: md 1M
# oracle-disk: me 1M
. /oracle/lib.sh
O=/dev/oracle
idle() {
	i=0
	while [ $i -lt 100 ] && ! dmsetup status "$1" | grep -q ' idle '; do sleep 0.3; i=$((i + 1)); done
}
# reshape LEVEL CHUNK OFFSET OLDLEN NEWLEN EXTRA OLD... -- NEW...
reshape() {
	level=$1 chunk=$2 off=$3 oldlen=$4 newlen=$5 extra=$6
	shift 6
	old= new= lin= n=0 m=0
	for x in a b c d e; do dd if=/dev/zero of=$O/m$x bs=1M count=1 2>/dev/null; dd if=/dev/zero of=$O/$x bs=1M count=4 2>/dev/null; done
	while [ "$1" != -- ]; do
		dmsetup create l$1 --table "0 $((8192 - off)) linear $O/$1 $off"
		old="$old $O/m$1 /dev/mapper/l$1"; new="$new $O/m$1 $O/$1"; lin="$lin l$1"; n=$((n + 1)); shift
	done
	shift
	for x in "$@"; do new="$new $O/m$x $O/$x"; m=$((m + 1)); done
	seq 1 2000000 | head -c $((oldlen * 512)) > /tmp/pattern
	run dmsetup create t --table "0 $oldlen raid $level 1 $chunk $n$old"
	idle t
	run dd if=/tmp/pattern of=/dev/mapper/t bs=4096 oflag=direct
	run dmsetup remove t
	for l in $lin; do dmsetup remove $l; done
	run dmsetup create t --table "0 $newlen raid $level $extra $chunk $rebuild delta_disks $m data_offset $off $((n + m))$new"
	run dmsetup status t
	run dmsetup remove t
	run dmsetup create t --table "0 $newlen raid $level 1 $chunk $((n + m))$new"
	idle t
	run dmsetup status t
	dd if=/dev/mapper/t of=/tmp/got bs=4096 count=$((oldlen / 8)) iflag=direct 2>/dev/null
	run cmp /tmp/got /tmp/pattern
	run dmsetup remove t
	for x in a b c d e; do dd if=$O/$x bs=1M count=4 2>/dev/null | sha256sum | sed "s/-/$x/"; done
}
rebuild= reshape raid6_zr 64 1024 12288 18432 5 a b c d -- e
rebuild="rebuild 3" reshape raid4 32 512 14336 21504 7 a b c -- d
