# Kernel evidence for FUA writes through switch, unstriped (alone: the device has no write
# cache; beside linear: it has), crypt, flakey and bio-based multipath over log-writes
# Run it with (from the repository's top; coreutils dd is attached as the disk "tools")
#   testdata/oracle-dd.sh targets/logwrites/testdata/fua3-oracle.sh \
#     l1=kernel-fua3-l1.log.gz l2=kernel-fua3-l2.log.gz l3=kernel-fua3-l3.log.gz \
#     l4=kernel-fua3-l4.log.gz l5=kernel-fua3-l5.log.gz l6=kernel-fua3-l6.log.gz
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
# oracle-disk: other 1M
. /oracle/lib.sh
cd /tmp
tar xf /dev/oracle/tools
for m in dm-switch dm-unstripe dm-crypt dm-flakey dm-multipath; do modprobe $m 2>/dev/null; done
yes fua-three | head -c 8192 > a
dsync() { run ./dd if=a of=/dev/mapper/$1 bs=4096 count=1 oflag=direct,dsync conv=notrunc status=none; }
lw() { run dmsetup create $1 --table "0 2048 log-writes /dev/oracle/$2 /dev/oracle/$3"; }
key=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef

section "switch alone"
lw lw1 d1 l1
run dmsetup create t1 --table "0 1024 switch 1 8 0 /dev/mapper/lw1 0"
dsync t1
run dmsetup status lw1
run dmsetup remove t1
run dmsetup remove lw1

section "switch beside linear"
lw lw2 d2 l2
printf '0 1024 switch 1 8 0 /dev/mapper/lw2 0\n1024 1024 linear /dev/oracle/other 0\n' > t2.table
run dmsetup create t2 t2.table
dsync t2
run dmsetup status lw2
run dmsetup remove t2
run dmsetup remove lw2

section "unstriped alone"
lw lw3 d3 l3
run dmsetup create t3 --table "0 1024 unstriped 2 8 0 /dev/mapper/lw3 0"
dsync t3
run dmsetup status lw3
run dmsetup remove t3
run dmsetup remove lw3

section "crypt"
lw lw4 d4 l4
run dmsetup create t4 --table "0 1024 crypt aes-xts-plain64 $key 0 /dev/mapper/lw4 0"
dsync t4
run dmsetup status lw4
run dmsetup remove t4
run dmsetup remove lw4

section "flakey, up"
lw lw5 d5 l5
run dmsetup create t5 --table "0 1024 flakey /dev/mapper/lw5 0 3600 0"
dsync t5
run dmsetup status lw5
run dmsetup remove t5
run dmsetup remove lw5

section "multipath, queue_mode bio"
lw lw6 d6 l6
run dmsetup create t6 --table "0 1024 multipath 2 queue_mode bio 0 1 1 round-robin 0 1 0 /dev/mapper/lw6"
dsync t6
run dmsetup status lw6
run dmsetup remove t6
run dmsetup remove lw6
