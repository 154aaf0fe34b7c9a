#!/bin/sh
# raid1 legs: the kernel loads the sets gdmsetup left (see
# testdata/kernel-legs.sh for the other way), 1 MiB legs holding PATTERN
# (seq 1 400000, its first 1 MiB): gw* with a fourth leg added by
# delta_disks 1 and waiting (the kernel recovers it), gr* after the
# second of four legs was dropped: status, PATTERN read back, a check
# finding no mismatch.
# Make the images (from /work/main; DIR a new directory):
#   go test ./targets/raid -run TestKernelLegs -legs-images DIR
# Run from /work/shared/oracle:
#   flock /tmp/oracle.lock ./run.sh --timeout 300 PATH/TO/kernel-legs-gdm.sh DIR
. /oracle/lib.sh
O=/dev/oracle
seq 1 400000 | head -c 1048576 > /tmp/pattern
sb() { for m in "$@"; do echo "$m:"; dd if=$O/$m bs=512 count=1 2>/dev/null | od -A d -t x4 | head -10; done; }
# insync NAME HEALTH: waits for the set to be idle with every leg in sync
insync() {
	i=0
	while [ $i -lt 100 ] && ! dmsetup status "$1" | grep -q " $2 [0-9/]* idle "; do sleep 0.3; i=$((i + 1)); done
}
section gdmsetup: its set with the fourth leg waiting
run dmsetup create g --table "0 2048 raid raid1 3 0 region_size 1024 4 $O/gwma $O/gwa $O/gwmb $O/gwb $O/gwmc $O/gwc $O/gwmd $O/gwd"
insync g AAAA
run dmsetup status g
dd if=/dev/mapper/g of=/tmp/got bs=4096 iflag=direct 2>/dev/null
run cmp /tmp/got /tmp/pattern
run dmsetup message g 0 check
insync g AAAA
sleep 1
run dmsetup status g
run dmsetup remove g
run cmp $O/gwd /tmp/pattern
section gdmsetup: its set after the second leg was dropped
run dmsetup create g --table "0 2048 raid raid1 3 0 region_size 1024 3 $O/grma $O/gra $O/grmc $O/grc $O/grmd $O/grd"
run dmsetup status g
dd if=/dev/mapper/g of=/tmp/got bs=4096 iflag=direct 2>/dev/null
run cmp /tmp/got /tmp/pattern
run dmsetup message g 0 check
insync g AAA
sleep 1
run dmsetup status g
run dmsetup remove g
