# Kernel evidence for FUA writes through snapshot, mirror and integrity over log-writes
# Run it with (from the repository's top; coreutils dd is attached as the disk "tools")
#   testdata/oracle-dd.sh targets/logwrites/testdata/fua2-oracle.sh \
#     l1=kernel-fua2-l1.log.gz l2=kernel-fua2-l2.log.gz l3=kernel-fua2-l3.log.gz \
#     l4=kernel-fua2-l4.log.gz l5=kernel-fua2-l5.log.gz l6=kernel-fua2-l6.log.gz
# oracle-disk: d1 1M
# oracle-disk: l1 1M
# oracle-disk: d2 1M
# oracle-disk: l2 1M
# oracle-disk: d3 1M
# oracle-disk: l3 1M
# oracle-disk: d4 1M
# oracle-disk: l4 1M
# oracle-disk: d5 1M
# oracle-disk: l5 1M
# oracle-disk: d6 1M
# oracle-disk: l6 1M
# oracle-disk: orig 1M
# oracle-disk: cow 1M
# oracle-disk: leg 1M
. /oracle/lib.sh
cd /tmp
tar xf /dev/oracle/tools
modprobe dm-integrity 2>/dev/null; modprobe dm-snapshot 2>/dev/null; modprobe dm-mirror 2>/dev/null
yes fua-two | head -c 8192 > a
dsync() { run ./dd if=a of=/dev/mapper/$1 bs=$2 count=1 seek=${3:-0} oflag=direct,dsync conv=notrunc status=none; }
lw() { run dmsetup create $1 --table "0 2048 log-writes /dev/oracle/$2 /dev/oracle/$3"; }

section "snapshot, whole chunk (8 sectors), twice"
lw lw1 d1 l1
run dmsetup create s1 --table "0 2048 snapshot /dev/oracle/orig /dev/mapper/lw1 P 8"
run dmsetup status lw1
dsync s1 4096
run dmsetup status lw1
dsync s1 4096
run dmsetup status lw1
run dmsetup remove s1
run dmsetup remove lw1

section "snapshot, part of a chunk (16 sectors)"
lw lw2 d2 l2
run dmsetup create s2 --table "0 2048 snapshot /dev/oracle/orig /dev/mapper/lw2 P 16"
run dmsetup status lw2
dsync s2 4096
run dmsetup status lw2
run dmsetup remove s2
run dmsetup remove lw2

section "snapshot-origin over log-writes, a snapshot of it"
lw lw3 d3 l3
run dmsetup create s3 --table "0 2048 snapshot /dev/mapper/lw3 /dev/oracle/cow P 8"
run dmsetup create o3 --table "0 2048 snapshot-origin /dev/mapper/lw3"
run dmsetup status lw3
dsync o3 4096
run dmsetup status lw3
run dmsetup remove o3
run dmsetup remove s3
run dmsetup remove lw3

section "mirror, core log nosync, legs log-writes and a disk"
lw lw4 d4 l4
run dmsetup create m4 --table "0 2048 mirror core 2 64 nosync 2 /dev/mapper/lw4 0 /dev/oracle/leg 0"
run dmsetup status lw4
dsync m4 4096
run dmsetup status lw4
run dmsetup remove m4
run dmsetup remove lw4

section "integrity J over log-writes"
lw lw5 d5 l5
run dmsetup create i5 --table "0 64 integrity /dev/mapper/lw5 0 4 J 1 internal_hash:crc32c"
run dmsetup status i5
run dmsetup status lw5
dsync i5 4096
run dmsetup status lw5
run dmsetup remove i5
run dmsetup remove lw5

section "integrity D over log-writes"
lw lw6 d6 l6
run dmsetup create i6 --table "0 64 integrity /dev/mapper/lw6 0 4 D 1 internal_hash:crc32c"
run dmsetup status i6
run dmsetup status lw6
dsync i6 4096
run dmsetup status lw6
run dmsetup remove i6
run dmsetup remove lw6
