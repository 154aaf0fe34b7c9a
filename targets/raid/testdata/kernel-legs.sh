#!/bin/sh
# raid1 legs added and removed (lvconvert -m N) both ways between the
# kernel and gdmsetup, over 1 MiB legs holding PATTERN (seq 1 400000, its
# first 1 MiB). The kernel makes a raid1 set of two legs and writes
# PATTERN; adds a third leg named by rebuild (its recovery waited for);
# adds a fourth with delta_disks 1 (waiting for the next load); loads the
# four legs (the fourth recovered); then drops the second leg (a c d).
# The first 8 KiB of each metadata device (superblock and bitmap) after
# the third leg, the fourth and the drop are saved into disk "saved", 8 KiB
# apiece in this order: ma mb mc, ma mb mc md, ma mc md
# (testdata/kernel-legs-saved.img.gz, read by TestKernelLegs, which does
# the same steps in gdmsetup and loads the kernel's sets).
# The other way is testdata/kernel-legs-gdm.sh.
# Run from /work/shared/oracle (DIR: a new directory):
#   flock /tmp/oracle.lock ./run.sh --timeout 300 PATH/TO/kernel-legs.sh DIR
# oracle-disk: ka 1M
# oracle-disk: kb 1M
# oracle-disk: kc 1M
# oracle-disk: kd 1M
# oracle-disk: kma 1M
# oracle-disk: kmb 1M
# oracle-disk: kmc 1M
# oracle-disk: kmd 1M
# oracle-disk: saved 1M
. /oracle/lib.sh
O=/dev/oracle
seq 1 400000 | head -c 1048576 > /tmp/pattern
sb() { for m in "$@"; do echo "$m:"; dd if=$O/$m bs=512 count=1 2>/dev/null | od -A d -t x4 | head -10; done; }
# insync NAME HEALTH: waits for the set to be idle with every leg in sync
insync() {
	i=0
	while [ $i -lt 100 ] && ! dmsetup status "$1" | grep -q " $2 [0-9/]* idle "; do sleep 0.3; i=$((i + 1)); done
}
slot=0
save() { for m in "$@"; do dd if=$O/k$m of=$O/saved bs=8192 count=1 seek=$slot conv=notrunc 2>/dev/null; slot=$((slot + 1)); done; }
section kernel: two legs, PATTERN written
run dmsetup create k --table "0 2048 raid raid1 3 0 region_size 1024 2 $O/kma $O/ka $O/kmb $O/kb"
insync k AA
run dd if=/tmp/pattern of=/dev/mapper/k bs=4096 oflag=direct
run dmsetup remove k
section kernel: a third leg named by rebuild
run dmsetup create k --table "0 2048 raid raid1 5 0 region_size 1024 rebuild 2 3 $O/kma $O/ka $O/kmb $O/kb $O/kmc $O/kc"
insync k AAA
run dmsetup status k
run dmsetup remove k
save ma mb mc
sb kma kmb kmc
section kernel: a fourth leg with delta_disks 1, waiting
run dmsetup create k --table "0 2048 raid raid1 5 0 region_size 1024 delta_disks 1 4 $O/kma $O/ka $O/kmb $O/kb $O/kmc $O/kc $O/kmd $O/kd"
run dmsetup status k
run dmsetup remove k
save ma mb mc md
sb kma kmb kmc kmd
section kernel: the next load recovers it
run dmsetup create k --table "0 2048 raid raid1 3 0 region_size 1024 4 $O/kma $O/ka $O/kmb $O/kb $O/kmc $O/kc $O/kmd $O/kd"
insync k AAAA
run dmsetup status k
run dmsetup remove k
section kernel: the second leg dropped
run dmsetup create k --table "0 2048 raid raid1 3 0 region_size 1024 3 $O/kma $O/ka $O/kmc $O/kc $O/kmd $O/kd"
run dmsetup status k
run dmsetup remove k
save ma mc md
sb kma kmc kmd
for x in a b c d; do cmp $O/k$x /tmp/pattern && echo "k$x holds PATTERN"; done
