#!/bin/sh
# Takeovers both ways between the kernel and gdmsetup (raid0 on two
# members to raid5_n on three, the parity member rebuilt):
#  k*: the kernel makes a raid0 set with metadata, writes PATTERN (seq 1
#      400000, its first 2 MiB), takes it over to raid5_n and recovers the
#      parity member; its metadata images are testdata/kernel-takeover-m*
#      (its data members were byte for byte gdmsetup's: TestKernelTakeover
#      rebuilds them from the pattern);
#  g*: gdmsetup did the same on 1 MiB files (raid0 1 64 2, the pattern
#      written, removed; raid5_n 3 64 rebuild 2 3, removed); the kernel
#      loads its raid5_n set, reads the pattern back and checks the parity
#      (idle 0 0: no mismatch).
# Run from /work/shared/oracle with DIR holding g*.img:
#   flock /tmp/oracle.lock ./run.sh --timeout 200 PATH/TO/kernel-takeover.sh DIR
# oracle-disk: ka 1M
# oracle-disk: kb 1M
# oracle-disk: kc 1M
# oracle-disk: kma 1M
# oracle-disk: kmb 1M
# oracle-disk: kmc 1M
. /oracle/lib.sh
O=/dev/oracle
seq 1 400000 | head -c 2097152 > /tmp/pattern
sb() { for m in "$@"; do echo "$m:"; dd if=$O/$m bs=512 count=1 2>/dev/null | od -A d -t x4 | head -10; done; }
idle() {
	i=0
	while [ $i -lt 60 ] && ! dmsetup status "$1" | grep -q ' idle '; do sleep 1; i=$((i + 1)); done
}
run dmsetup create k0 --table "0 4096 raid raid0 1 64 2 $O/kma $O/ka $O/kmb $O/kb"
run dd if=/tmp/pattern of=/dev/mapper/k0 bs=4096 oflag=direct
run dmsetup remove k0
sb kma kmb
run dmsetup create k5 --table "0 4096 raid raid5_n 3 64 rebuild 2 3 $O/kma $O/ka $O/kmb $O/kb $O/kmc $O/kc"
idle k5
run dmsetup status k5
run dmsetup remove k5
sb kma kmb kmc
run dmsetup create g5 --table "0 4096 raid raid5_n 1 64 3 $O/gma $O/ga $O/gmb $O/gb $O/gmc $O/gc"
run dmsetup status g5
dd if=/dev/mapper/g5 of=/tmp/got bs=4096 iflag=direct 2>/dev/null
run cmp /tmp/got /tmp/pattern
run dmsetup message g5 0 check
idle g5
sleep 1
run dmsetup status g5
sb gma gmb gmc
