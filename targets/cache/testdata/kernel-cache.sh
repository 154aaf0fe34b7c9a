# Guest script for /work/shared/oracle/run.sh: metadata written by Linux 6.1's
# dm-cache, format 1 and 2, for kernel_image_test.go. Three whole-block
# writes promote blocks 0, 3 and 17 (dirty, migration_threshold 0 keeps them
# so); the remove's suspend writes the dirty bits and hints.
#   flock /tmp/oracle.lock /work/shared/oracle/run.sh --fresh kernel-cache.sh DIR
# oracle-disk: meta1 1M
# oracle-disk: cdev1 2M
# oracle-disk: origin1 8M
# oracle-disk: meta2 1M
# oracle-disk: cdev2 2M
# oracle-disk: origin2 8M
. /oracle/lib.sh

for v in 1 2; do
    section "metadata version $v"
    feat="1 writeback"
    [ $v = 2 ] && feat="2 metadata2 writeback"
    run dmsetup create c$v --table "0 16384 cache /dev/oracle/meta$v /dev/oracle/cdev$v /dev/oracle/origin$v 128 $feat smq 2 migration_threshold 0"
    for b in 0 3 17; do
        yes "cache block $b of version $v" | head -c 65536 > /tmp/p
        dd if=/tmp/p of=/dev/mapper/c$v bs=65536 seek=$b count=1 oflag=direct 2>/dev/null
    done
    run dmsetup status c$v
    run sh -c "dd if=/dev/mapper/c$v bs=65536 count=18 iflag=direct 2>/dev/null | sha256sum"
    run dmsetup remove c$v
done
