# Kernel evidence for writes, FUA writes and flushes through dm-raid (raid1 of two legs, raid5_ls
# of three members), every member's data device and metadata device a log-writes device with its
# own log: the logs show the order of md's superblock and bitmap writes (md_super_write:
# REQ_PREFLUSH|REQ_FUA), the data writes, the FUA writes and the flushes. nosync keeps the initial
# sync out of the logs. Run it with (from the repository's top; coreutils dd is attached as the
# disk "tools")
#   testdata/oracle-dd.sh targets/raid/testdata/fua-oracle.sh \
#     l1ma=kernel-fua-l1ma.log.gz l1da=kernel-fua-l1da.log.gz \
#     l1mb=kernel-fua-l1mb.log.gz l1db=kernel-fua-l1db.log.gz \
#     l5ma=kernel-fua-l5ma.log.gz l5da=kernel-fua-l5da.log.gz \
#     l5mb=kernel-fua-l5mb.log.gz l5db=kernel-fua-l5db.log.gz \
#     l5mc=kernel-fua-l5mc.log.gz l5dc=kernel-fua-l5dc.log.gz
# Each set lives a second or two, well within the bitmap daemon's first run (daemon_sleep 5 s,
# a bit cleared at its second): the bits set by the first write are cleared by the removal
# (md_bitmap_flush), not by the daemon.
# oracle-disk: r 10M
# oracle-disk: l1ma 2M
# oracle-disk: l1da 2M
# oracle-disk: l1mb 2M
# oracle-disk: l1db 2M
# oracle-disk: l5ma 2M
# oracle-disk: l5da 2M
# oracle-disk: l5mb 2M
# oracle-disk: l5db 2M
# oracle-disk: l5mc 2M
# oracle-disk: l5dc 2M
. /oracle/lib.sh
cd /tmp
tar xf /dev/oracle/tools
yes raid-plain | head -c 4096 > a
yes raid-fua | head -c 4096 > b
O=/dev/oracle
# the members' devices are 1 MiB slices of the disk r (the oracle takes at most 20 disks)
slice=0
# lw SET MEMBERS...: a log-writes device over each member's metadata and data device
lw() { s=$1; shift; for m in "$@"; do for k in m d; do
	run dmsetup create r$s$k$m --table "0 2048 linear $O/r $((slice * 2048))"
	slice=$((slice + 1))
	run dmsetup create w$s$k$m --table "0 2048 log-writes /dev/mapper/r$s$k$m $O/l$s$k$m"
done; done; }
lwstatus() { s=$1; shift; for m in "$@"; do run dmsetup status w${s}m$m w${s}d$m; done; }
lwremove() { s=$1; shift; for m in "$@"; do run dmsetup remove w${s}m$m w${s}d$m r${s}m$m r${s}d$m; done; }
steps() { # steps SET DEV MEMBERS...
	s=$1 dev=$2; shift 2
	run dmsetup status $dev
	lwstatus $s "$@"
	section "$dev: a plain write (dd oflag=direct)"
	run ./dd if=a of=/dev/mapper/$dev bs=4096 count=1 seek=1 oflag=direct conv=notrunc status=none
	lwstatus $s "$@"
	section "$dev: a FUA write and a flush (dd oflag=direct,dsync)"
	run ./dd if=b of=/dev/mapper/$dev bs=4096 count=1 seek=2 oflag=direct,dsync conv=notrunc status=none
	lwstatus $s "$@"
	run dmsetup status $dev
	section "$dev: removed"
	run dmsetup remove $dev
	lwstatus $s "$@"
	lwremove $s "$@"
}

section "raid1, two legs, nosync"
lw 1 a b
run dmsetup create r1 --table "0 2048 raid raid1 4 0 nosync region_size 1024 2 /dev/mapper/w1ma /dev/mapper/w1da /dev/mapper/w1mb /dev/mapper/w1db"
steps 1 r1 a b

section "raid5_ls, three members, nosync"
lw 5 a b c
run dmsetup create r5 --table "0 4096 raid raid5_ls 4 128 nosync region_size 1024 3 /dev/mapper/w5ma /dev/mapper/w5da /dev/mapper/w5mb /dev/mapper/w5db /dev/mapper/w5mc /dev/mapper/w5dc"
steps 5 r5 a b c
