# Kernel evidence for FUA writes through log-writes. Run it with
#   testdata/oracle-dd.sh targets/logwrites/testdata/fua-oracle.sh logfua=kernel-fua.log logplain=kernel-plain.log
# (from the repository's top; it attaches coreutils dd as the disk "tools": busybox dd has no
# oflag=dsync).
# oracle-disk: dev 1M
# oracle-disk: logfua 64K
# oracle-disk: logplain 64K
. /oracle/lib.sh
cd /tmp
tar xf /dev/oracle/tools
yes fua-one | head -c 8192 > a
yes plain-two | head -c 8192 > b

section "O_DIRECT|O_DSYNC writes (REQ_FUA, then blkdev_fsync's flush)"
run dmsetup create lwfua --table "0 2048 log-writes /dev/oracle/dev /dev/oracle/logfua"
run ./dd if=a of=/dev/mapper/lwfua bs=4096 count=1 oflag=direct,dsync conv=notrunc status=none
run dmsetup status lwfua
run ./dd if=b of=/dev/mapper/lwfua bs=4096 count=1 seek=2 oflag=direct conv=notrunc status=none
run dmsetup status lwfua
run ./dd if=a of=/dev/mapper/lwfua bs=8192 count=1 seek=2 oflag=direct,dsync conv=notrunc status=none
run dmsetup status lwfua
run dmsetup remove lwfua

section "O_DIRECT writes, then fsync (a flush)"
run dmsetup create lwplain --table "0 2048 log-writes /dev/oracle/dev /dev/oracle/logplain"
run ./dd if=a of=/dev/mapper/lwplain bs=4096 count=1 oflag=direct conv=notrunc status=none
run ./dd if=b of=/dev/mapper/lwplain bs=4096 count=1 seek=2 oflag=direct conv=notrunc status=none
run ./dd if=a of=/dev/mapper/lwplain bs=8192 count=1 seek=2 oflag=direct conv=notrunc status=none
run dmsetup status lwplain
run ./dd if=/dev/null of=/dev/mapper/lwplain conv=fsync,notrunc status=none
run dmsetup status lwplain
run dmsetup remove lwplain
