# Kernel evidence for FUA writes through a thin device. Run it with
#   testdata/oracle-dd.sh targets/thin/testdata/fua-oracle.sh log=kernel-fua.log.gz
# (from the repository's top; it attaches coreutils dd as the disk "tools": busybox dd has no
# oflag=dsync). The pool's data
# device is a log-writes device, so its log shows the order of the data writes, FUA writes and
# flushes (a commit flushes the data device first). skip_block_zeroing keeps the zeroing of
# new blocks (kcopyd's) out of the log.
# oracle-disk: meta 4M
# oracle-disk: data 1M
# oracle-disk: log 256K
. /oracle/lib.sh
cd /tmp
tar xf /dev/oracle/tools
yes thin-plain | head -c 65536 > a
yes thin-fua | head -c 65536 > b

run dmsetup create lw --table "0 2048 log-writes /dev/oracle/data /dev/oracle/log"
run dmsetup create pool --table "0 2048 thin-pool /dev/oracle/meta /dev/mapper/lw 128 0 1 skip_block_zeroing"
run dmsetup message pool 0 "create_thin 0"
run dmsetup create thin --table "0 2048 thin /dev/mapper/pool 0"

section "a plain write provisions block 1; a FUA write into it: the commit first, then the write"
run ./dd if=a of=/dev/mapper/thin bs=4096 count=1 seek=16 oflag=direct conv=notrunc status=none
run ./dd if=b of=/dev/mapper/thin bs=4096 count=1 seek=17 oflag=direct,dsync conv=notrunc status=none
run dmsetup status lw

section "a FUA write into part of unprovisioned block 3: mapped, committed, then written"
run ./dd if=b of=/dev/mapper/thin bs=4096 count=1 seek=50 oflag=direct,dsync conv=notrunc status=none
run dmsetup status lw

section "a FUA write of all of block 5: written, then mapped and committed"
run ./dd if=b of=/dev/mapper/thin bs=65536 count=1 seek=5 oflag=direct,dsync conv=notrunc status=none
run dmsetup status lw

section "a FUA write into mapped block 5, nothing changed: the write alone"
run ./dd if=a of=/dev/mapper/thin bs=4096 count=1 seek=81 oflag=direct,dsync conv=notrunc status=none
run dmsetup status lw
run dmsetup status pool
run dmsetup remove thin
run dmsetup remove pool
run dmsetup remove lw
