#!/bin/sh
# A raid5_ls set of three members gets a fourth (delta_disks 1, the data
# 1 MiB into the members: data_offset 2048), both ways between the kernel
# and gdmsetup:
#  k*: the kernel makes the set on the members from 1 MiB on (linear
#      devices), writes PATTERN (seq 1 1000000, its first 4 MiB), loads
#      the reshape table (the superblocks say reshape, position 0; the
#      reshape waits for the next load), saves the metadata as it is then
#      (wm*: testdata/kernel-reshape-wm*), loads the set again (the
#      reshape runs to its end) and keeps its final metadata
#      (testdata/kernel-reshape-m*); its final data members hash as
#      TestKernelReshape says;
#  g*: gdmsetup did the same up to the reshape table (raid5_ls 1 64 3 on
#      3 MiB files, the pattern written, removed; the files moved 1 MiB
#      into 4 MiB ones; raid5_ls 5 64 delta_disks 1 data_offset 2048 4,
#      removed): the kernel loads the set, the reshape runs, the pattern
#      reads back and a check finds no mismatch.
# Run from /work/shared/oracle with DIR holding g*.img:
#   flock /tmp/oracle.lock ./run.sh --timeout 300 PATH/TO/kernel-reshape.sh DIR
# oracle-disk: ka 4M
# oracle-disk: kb 4M
# oracle-disk: kc 4M
# oracle-disk: kd 4M
# oracle-disk: kma 1M
# oracle-disk: kmb 1M
# oracle-disk: kmc 1M
# oracle-disk: kmd 1M
# oracle-disk: wma 1M
# oracle-disk: wmb 1M
# oracle-disk: wmc 1M
# oracle-disk: wmd 1M
. /oracle/lib.sh
O=/dev/oracle
seq 1 1000000 | head -c 4194304 > /tmp/pattern
sb() { for m in "$@"; do echo "$m:"; dd if=$O/$m bs=512 count=1 2>/dev/null | od -A d -t x4 | head -10; done; }
idle() {
	i=0
	while [ $i -lt 100 ] && ! dmsetup status "$1" | grep -q ' idle '; do sleep 0.3; i=$((i + 1)); done
}
for x in a b c; do dmsetup create l$x --table "0 6144 linear $O/k$x 2048"; done
run dmsetup create k0 --table "0 8192 raid raid5_ls 1 64 3 $O/kma /dev/mapper/la $O/kmb /dev/mapper/lb $O/kmc /dev/mapper/lc"
idle k0
run dd if=/tmp/pattern of=/dev/mapper/k0 bs=4096 oflag=direct
run dmsetup remove k0
for x in a b c; do dmsetup remove l$x; done
run dmsetup create k5 --table "0 12288 raid raid5_ls 5 64 delta_disks 1 data_offset 2048 4 $O/kma $O/ka $O/kmb $O/kb $O/kmc $O/kc $O/kmd $O/kd"
run dmsetup status k5
run dmsetup remove k5
for x in a b c d; do dd if=$O/km$x of=$O/wm$x bs=4096 count=2 2>/dev/null; done
sb kma kmd
run dmsetup create k5 --table "0 12288 raid raid5_ls 1 64 4 $O/kma $O/ka $O/kmb $O/kb $O/kmc $O/kc $O/kmd $O/kd"
idle k5
run dmsetup status k5
run blockdev --getsz /dev/mapper/k5
dd if=/dev/mapper/k5 of=/tmp/got bs=4096 count=1024 iflag=direct 2>/dev/null
run cmp /tmp/got /tmp/pattern
run dmsetup remove k5
sb kma kmd
run dmsetup create g5 --table "0 12288 raid raid5_ls 1 64 4 $O/gma $O/ga $O/gmb $O/gb $O/gmc $O/gc $O/gmd $O/gd"
idle g5
run dmsetup status g5
dd if=/dev/mapper/g5 of=/tmp/got bs=4096 count=1024 iflag=direct 2>/dev/null
run cmp /tmp/got /tmp/pattern
run dmsetup message g5 0 check
idle g5
sleep 1
run dmsetup status g5
run dmsetup remove g5
sb gma gmd
