# Kernel evidence for FUA writes that overwrite a whole new block of a thin device, with the
# pool zeroing new blocks. Run it with
#   testdata/oracle-dd.sh targets/thin/testdata/fua-overwrite-oracle.sh log=kernel-fua-overwrite.log.gz
# (from the repository's top, as fua-oracle.sh). Only whole blocks are written, so no zeroing
# reaches the log: a write that covers a new block replaces its zeroing (or the copy of a shared
# block) and is issued before the block is mapped.
# oracle-disk: meta 4M
# oracle-disk: data 1M
# oracle-disk: log 1M
. /oracle/lib.sh
cd /tmp
tar xf /dev/oracle/tools
yes thin-plain | head -c 65536 > a
yes thin-fua | head -c 65536 > b

run dmsetup create lw --table "0 2048 log-writes /dev/oracle/data /dev/oracle/log"
run dmsetup create pool --table "0 2048 thin-pool /dev/oracle/meta /dev/mapper/lw 128 0"
run dmsetup message pool 0 "create_thin 0"
run dmsetup create thin --table "0 2048 thin /dev/mapper/pool 0"

section "block 1 written whole; a FUA write of all of new block 2: the commit first, the write, then mapped and committed"
run ./dd if=a of=/dev/mapper/thin bs=65536 count=1 seek=1 oflag=direct conv=notrunc status=none
run ./dd if=b of=/dev/mapper/thin bs=65536 count=1 seek=2 oflag=direct,dsync conv=notrunc status=none
run dmsetup status lw

section "a FUA write of all of new block 3, nothing changed: the write, then mapped and committed"
run ./dd if=b of=/dev/mapper/thin bs=65536 count=1 seek=3 oflag=direct,dsync conv=notrunc status=none
run dmsetup status lw

section "a snapshot shares blocks 1-3; a FUA write of all of block 1 breaks the sharing"
run dmsetup suspend thin
run dmsetup message pool 0 "create_snap 1 0"
run dmsetup resume thin
run dmsetup status lw
run ./dd if=b of=/dev/mapper/thin bs=65536 count=1 seek=1 oflag=direct,dsync conv=notrunc status=none
run dmsetup status lw
run dmsetup status pool
run dmsetup status lw
run dmsetup remove thin
run dmsetup remove pool
run dmsetup remove lw
