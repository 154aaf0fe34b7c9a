#!/bin/sh
# Layout and chunk size reshapes by the kernel (the same members,
# data_offset 2048): raid5_ls to raid5_ra with the data at offset 0 (the
# free space at the members' end: backwards, the data to 2048), then
# raid5_ra to raid5_ls with chunk 128 (the data at 2048: forwards, back
# to 0), and raid6_zr to raid6_nc with chunk 32 (backwards). Each time:
# the reshape table (status, table, superblock), the set loaded again and
# its reshape waited for (status, table, the data read back, the
# superblock, every member's sha256), loaded once more (status, a check).
# PATTERN: the first 4 MiB of seq 1 1000000. TestKernelReshapeLayout
# compares gdmsetup's with these.
# Run from /work/shared/oracle:
#   flock /tmp/oracle.lock ./run.sh --fresh --timeout 300 PATH/TO/kernel-reshape-layout.sh DIR
# oracle-disk: a 4M
# oracle-disk: b 4M
# oracle-disk: c 4M
# oracle-disk: d 4M
# oracle-disk: ma 1M
# oracle-disk: mb 1M
# oracle-disk: mc 1M
# oracle-disk: md 1M
. /oracle/lib.sh
O=/dev/oracle
seq 1 1000000 | head -c 4194304 > /tmp/pattern
idle() {
	i=0
	while [ $i -lt 100 ] && ! dmsetup status "$1" | grep -q ' idle '; do sleep 0.3; i=$((i + 1)); done
}
sb() { dd if=$O/ma bs=512 count=1 2>/dev/null | od -A d -t x4 | head -8; }
sums() { for x in "$@"; do dd if=$O/$x bs=1M count=4 2>/dev/null | sha256sum | sed "s/-/$x/"; done; }
# step LEN "RESHAPE TABLE" "PLAIN TABLE" MEMBERS...
step() {
	len=$1 grow=$2 plain=$3
	shift 3
	run dmsetup create t --table "0 $len raid $grow"
	run dmsetup status t
	run dmsetup table t
	run dmsetup remove t
	sb
	run dmsetup create t --table "0 $len raid $plain"
	idle t
	run dmsetup status t
	run dmsetup table t
	dd if=/dev/mapper/t of=/tmp/got bs=4096 count=1024 iflag=direct 2>/dev/null
	run cmp /tmp/got /tmp/pattern
	run dmsetup remove t
	sb
	sums "$@"
	run dmsetup create t --table "0 $len raid $plain"
	run dmsetup status t
	run dmsetup message t 0 check
	idle t
	sleep 1
	run dmsetup status t
	run dmsetup remove t
	sb
}
M3="3 $O/ma $O/a $O/mb $O/b $O/mc $O/c"
M4="4 $O/ma $O/a $O/mb $O/b $O/mc $O/c $O/md $O/d"
section raid5_ls to raid5_ra, backwards
run dmsetup create t --table "0 8192 raid raid5_ls 1 64 $M3"
idle t
run dd if=/tmp/pattern of=/dev/mapper/t bs=4096 oflag=direct
run dmsetup remove t
step 8192 "raid5_ra 3 64 data_offset 2048 $M3" "raid5_ra 1 64 $M3" a b c
section raid5_ra to raid5_ls chunk 128, forwards
step 8192 "raid5_ls 3 128 data_offset 2048 $M3" "raid5_ls 1 128 $M3" a b c
section raid6_zr to raid6_nc chunk 32, backwards
for x in a b c d; do dd if=/dev/zero of=$O/m$x bs=1M count=1 2>/dev/null; dd if=/dev/zero of=$O/$x bs=1M count=4 2>/dev/null; done
run dmsetup create t --table "0 8192 raid raid6_zr 1 64 $M4"
idle t
run dd if=/tmp/pattern of=/dev/mapper/t bs=4096 oflag=direct
run dmsetup remove t
step 8192 "raid6_nc 3 32 data_offset 2048 $M4" "raid6_nc 1 32 $M4" a b c d
