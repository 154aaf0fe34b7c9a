#!/bin/sh
# raid4/5/6 members removed by the kernel (delta_disks -1, data_offset
# 2048, the free space at the members' end): raid5_ls on four 4 MiB
# members (the array 12288 sectors, 4096 of each member used) written
# with PATTERN (seq 1 1000000, its first 6 MiB); the reshape table (the
# old length, four members: status, table, size (the kernel's reads wait
# for the next load), the superblocks and bitmap), the set loaded again (four members,
# the old length: the reshape runs backwards: status, table, size, the
# data, superblocks, every member's sha256), loaded with three members
# and the new length (status, a check), then the refusals.
# TestKernelReshapeShrink* compare gdmsetup's with these (the transcript:
# kernel-reshape-shrink.out; the waiting metadata: kernel-reshape-shrink-wm*).
# Run from /work/shared/oracle:
#   flock /tmp/oracle.lock ./run.sh --fresh --timeout 600 PATH/TO/kernel-reshape-shrink.sh DIR
# oracle-disk: a 4M
# oracle-disk: b 4M
# oracle-disk: c 4M
# oracle-disk: d 4M
# oracle-disk: ma 1M
# oracle-disk: mb 1M
# oracle-disk: mc 1M
# oracle-disk: md 1M
# oracle-disk: wma 1M
# oracle-disk: wmb 1M
# oracle-disk: wmc 1M
# oracle-disk: wmd 1M
. /oracle/lib.sh
O=/dev/oracle
seq 1 1000000 | head -c 6291456 > /tmp/pattern
head -c 4194304 /tmp/pattern > /tmp/pattern4
idle() {
	i=0
	while [ $i -lt 100 ] && ! dmsetup status "$1" | grep -q ' idle '; do sleep 0.3; i=$((i + 1)); done
}
sb() { for m in "$@"; do echo "$m:"; dd if=$O/$m bs=512 count=1 2>/dev/null | od -A d -t x4 | head -12; dd if=$O/$m bs=512 skip=8 count=1 2>/dev/null | od -A d -t x4 | head -6; done; }
sums() { for x in "$@"; do dd if=$O/$x bs=1M count=4 2>/dev/null | sha256sum | sed "s/-/$x/"; done; }
M3="3 $O/ma $O/a $O/mb $O/b $O/mc $O/c"
M4="4 $O/ma $O/a $O/mb $O/b $O/mc $O/c $O/md $O/d"
section raid5_ls four members, one removed
run dmsetup create t --table "0 12288 raid raid5_ls 1 64 $M4"
idle t
run dd if=/tmp/pattern of=/dev/mapper/t bs=4096 oflag=direct
run dmsetup remove t
run dmsetup create t --table "0 12288 raid raid5_ls 5 64 delta_disks -1 data_offset 2048 $M4"
run dmsetup status t
run dmsetup table t
run blockdev --getsz /dev/mapper/t
run dmsetup remove t
sb ma md
for x in a b c d; do dd if=$O/m$x of=$O/wm$x bs=4096 count=2 2>/dev/null; done
run dmsetup create t --table "0 12288 raid raid5_ls 1 64 $M4"
idle t
run dmsetup status t
run dmsetup table t
run blockdev --getsz /dev/mapper/t
dd if=/dev/mapper/t of=/tmp/got bs=4096 count=1024 iflag=direct 2>/dev/null
run cmp /tmp/got /tmp/pattern4
run dmsetup remove t
sb ma md
sums a b c d
run dmsetup create t --table "0 8192 raid raid5_ls 1 64 $M3"
run dmsetup status t
idle t
run dmsetup status t
run dmsetup table t
dd if=/dev/mapper/t of=/tmp/got bs=4096 count=1024 iflag=direct 2>/dev/null
run cmp /tmp/got /tmp/pattern4
run dmsetup message t 0 check
idle t
sleep 1
run dmsetup status t
run dmsetup remove t
sb ma
sums a b c
section refusals
for x in a b c d; do dd if=/dev/zero of=$O/m$x bs=1M count=1 2>/dev/null; done
run dmsetup create t --table "0 12288 raid raid5_ls 2 64 nosync $M4"
run dmsetup remove t
run dmsetup create t --table "0 8192 raid raid5_ls 5 64 delta_disks -1 data_offset 2048 $M4"
run dmsetup create t --table "0 9216 raid raid5_ls 5 64 delta_disks -1 data_offset 2048 $M4"
run dmsetup status t
run dmsetup remove t
sb ma
for x in a b c d; do dd if=$O/wm$x of=$O/m$x bs=4096 count=2 2>/dev/null; done
run dmsetup create t --table "0 12288 raid raid5_ls 5 64 delta_disks -1 data_offset 2048 $M4"
run dmsetup remove t
for x in a b c d; do dd if=/dev/zero of=$O/m$x bs=1M count=1 2>/dev/null; done
run dmsetup create t --table "0 12288 raid raid5_ls 2 64 nosync $M4"
run dmsetup remove t
run dmsetup create t --table "0 12288 raid raid5_ls 5 64 delta_disks -3 data_offset 2048 $M4"
run dmsetup status t
run dmsetup remove t
sb ma
run dmsetup create t --table "0 12288 raid raid5_ls 5 64 delta_disks -2 data_offset 2048 $M4"
run dmsetup status t
run dmsetup remove t
for x in a b c d; do dd if=/dev/zero of=$O/m$x bs=1M count=1 2>/dev/null; done
run dmsetup create t --table "0 12288 raid raid5_ls 2 64 nosync $M4"
run dmsetup remove t
run dmsetup create t --table "0 12288 raid raid5_ls 5 64 delta_disks -1 data_offset 2048 4 $O/ma $O/a $O/mb $O/b - - $O/md $O/d"
run dmsetup create t --table "0 12288 raid raid5_ls 3 64 delta_disks -1 $M4"
run dmsetup status t
run dmsetup remove t
run dmsetup create t --table "0 24576 raid raid5_ls 5 64 delta_disks -1 data_offset 2048 $M4"
section raid6 and raid4
for x in a b c d; do dd if=/dev/zero of=$O/m$x bs=1M count=1 2>/dev/null; done
run dmsetup create t --table "0 8192 raid raid6_zr 1 64 $M4"
idle t
run dmsetup remove t
run dmsetup create t --table "0 8192 raid raid6_zr 5 64 delta_disks -1 data_offset 2048 $M4"
run dmsetup status t
run dmsetup remove t
for x in a b c d; do dd if=/dev/zero of=$O/m$x bs=1M count=1 2>/dev/null; done
run dmsetup create t --table "0 12288 raid raid4 1 64 $M4"
idle t
run dd if=/tmp/pattern of=/dev/mapper/t bs=4096 oflag=direct
run dmsetup remove t
run dmsetup create t --table "0 12288 raid raid4 5 64 delta_disks -1 data_offset 2048 $M4"
run dmsetup status t
run dmsetup remove t
sb ma md
run dmsetup create t --table "0 12288 raid raid4 1 64 $M4"
idle t
run dmsetup status t
dd if=/dev/mapper/t of=/tmp/got bs=4096 count=1024 iflag=direct 2>/dev/null
run cmp /tmp/got /tmp/pattern4
run dmsetup remove t
sb ma md
sums a b c d
