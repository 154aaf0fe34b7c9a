#!/bin/sh
# Guest script (../shared/oracle/run.sh) that made kernel-era-snap.img.gz and
# kernel-era-nosnap.img.gz: era metadata Linux 6.1 wrote on a 1 MiB device,
# over a 4 MiB origin in 4 KiB era blocks (8 sectors, 1024 blocks). Both get
# the same writes and checkpoints; "snap" then holds a metadata snapshot and
# takes one more write. Each device is removed (metadata committed), copied
# to a disk of its own, and the copy reopened: the kernel's status there and
# after one more write, era_check and era_invalidate of the copy, all in
# kernel-era.out (this script's transcript). Two runs differ in their bytes
# (the digest of archived writesets runs in the kernel's worker, by time:
# the held root was 78 in one run, 80 in the kept one).
#   cd ../shared/oracle && mkdir -p /tmp/era-disks &&
#   flock /tmp/oracle.lock ./run.sh --fresh SCRIPT /tmp/era-disks
# oracle-disk: snap 1M
# oracle-disk: nosnap 1M
# oracle-disk: snapreopened 1M
# oracle-disk: nosnapreopened 1M
# oracle-disk: origin 4M
. /oracle/lib.sh
O=/dev/oracle/origin

# w NAME OFFSET_4K COUNT_4K: zeros written with O_DIRECT
w() { run dd if=/dev/zero of=/dev/mapper/$1 bs=4096 seek=$2 count=$3 oflag=direct; }

for m in snap nosnap; do
    section "$m: writes over three eras"
    run dmsetup create $m --table "0 8192 era /dev/oracle/$m $O 8"
    run dmsetup status $m
    w $m 0 1
    w $m 16 2
    w $m 1023 1
    run dmsetup message $m 0 checkpoint
    w $m 100 1
    w $m 0 1
    run dmsetup message $m 0 checkpoint
    w $m 512 4
    run dmsetup status $m
    if [ $m = snap ]; then
        run dmsetup message $m 0 take_metadata_snap
        w $m 700 1
    fi
    run dmsetup status $m
    run dmsetup remove $m
    run era_check /dev/oracle/$m

    section "$m: the copy reopened"
    run dd if=/dev/oracle/$m of=/dev/oracle/${m}reopened bs=65536 oflag=direct
    run dmsetup create r --table "0 8192 era /dev/oracle/${m}reopened $O 8"
    run dmsetup status r
    run dmsetup table r
    w r 300 1
    run dmsetup status r
    run dmsetup remove r
    run era_check /dev/oracle/${m}reopened
    run era_invalidate --written-since 1 /dev/oracle/${m}reopened
done
