#!/bin/sh
# The kernel loads a journaled raid5_ls (4 members, 8 KiB chunks) that
# gdmsetup left with writes logged but not on the members (the files
# exportJournal writes: a..d, j, want): the array must read want back and
# a check must find no mismatch. Run from /work/shared/oracle:
#   flock /tmp/oracle.lock ./run.sh --timeout 200 PATH/TO/kernel-load-journal.sh DIR
# (the table is left in place: a remove after a raid5 check can hang the
# oracle's guest)
. /oracle/lib.sh
O=/dev/oracle
run dmsetup create j5 --table "0 24576 raid raid5_ls 3 16 journal_dev $O/j 4 - $O/a - $O/b - $O/c - $O/d"
run dmsetup status j5
N=$(blockdev --getsize64 $O/want)
dd if=/dev/mapper/j5 of=/tmp/got bs=4096 count=$((N / 4096)) iflag=direct 2>/dev/null
dd if=$O/want of=/tmp/want bs=4096 count=$((N / 4096)) 2>/dev/null
run cmp /tmp/got /tmp/want
run dmsetup message j5 0 check
i=0
while [ $i -lt 60 ] && ! dmsetup status j5 | grep -q ' idle '; do sleep 1; i=$((i + 1)); done
sleep 2
run dmsetup status j5
