#!/bin/sh
# A raid10 near set (two copies, chunk 64) on four members gets two more
# (delta_disks 2, the data 1 MiB into the old members: data_offset 2048),
# by the kernel: the set made on the members from 1 MiB on (linear
# devices), PATTERN written (the first 4 MiB of seq 1 1000000), the
# reshape table loaded (status, superblocks) and removed, the set loaded
# again and its reshape waited for (status, the data read back,
# superblocks, every member's sha256: TestKernelReshapeRaid10).
# Run from /work/shared/oracle:
#   flock /tmp/oracle.lock ./run.sh --fresh --timeout 200 PATH/TO/kernel-reshape-raid10.sh DIR
# oracle-disk: a 4M
# oracle-disk: b 4M
# oracle-disk: c 4M
# oracle-disk: d 4M
# oracle-disk: e 4M
# oracle-disk: f 4M
# oracle-disk: ma 1M
# oracle-disk: mb 1M
# oracle-disk: mc 1M
# oracle-disk: md 1M
# oracle-disk: me 1M
# oracle-disk: mf 1M
. /oracle/lib.sh
O=/dev/oracle
idle() {
	i=0
	while [ $i -lt 100 ] && ! dmsetup status "$1" | grep -q ' idle '; do sleep 0.3; i=$((i + 1)); done
}
sb() { for m in "$@"; do echo $m; dd if=$O/$m bs=512 count=1 2>/dev/null | od -A d -t x4 | head -8; done; }
seq 1 1000000 | head -c 4194304 > /tmp/pattern
M6="6 $O/ma $O/a $O/mb $O/b $O/mc $O/c $O/md $O/d $O/me $O/e $O/mf $O/f"
for x in a b c d; do dmsetup create l$x --table "0 6144 linear $O/$x 2048"; done
run dmsetup create t --table "0 8192 raid raid10 3 64 raid10_copies 2 4 $O/ma /dev/mapper/la $O/mb /dev/mapper/lb $O/mc /dev/mapper/lc $O/md /dev/mapper/ld"
idle t
run dd if=/tmp/pattern of=/dev/mapper/t bs=4096 oflag=direct
run dmsetup remove t
for x in a b c d; do dmsetup remove l$x; done
run dmsetup create t --table "0 12288 raid raid10 7 64 raid10_copies 2 delta_disks 2 data_offset 2048 $M6"
run dmsetup status t
run dmsetup table t
run dmsetup remove t
sb ma me
run dmsetup create t --table "0 12288 raid raid10 3 64 raid10_copies 2 $M6"
idle t
run dmsetup status t
run blockdev --getsz /dev/mapper/t
dd if=/dev/mapper/t of=/tmp/got bs=4096 count=1024 iflag=direct 2>/dev/null
run cmp /tmp/got /tmp/pattern
run dmsetup remove t
sb ma me
for x in a b c d e f; do dd if=$O/$x bs=1M count=4 2>/dev/null | sha256sum | sed "s/-/$x/"; done
