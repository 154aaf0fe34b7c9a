#!/bin/sh
# Kernel oracle: lvm2 2.03.16 activates VG dvg from images gdmsetup activated with q2 missing,
# wrote into its degraded raid1 and raid5 LVs and deactivated (testdata/lvm/degraded-gdm.sh
# makes them and runs this through capture.sh with FROM=), q2 back; the transcript records the
# sets' status at once, md's messages, each LV's SHA-256 once recovered, and what a check of
# each set finds.
# oracle-disk: q1 24M
# oracle-disk: q2 24M
# oracle-disk: q3 24M
set -e
mkdir -p /tmp/t && cd /tmp/t && tar xf /dev/oracle/tools
. /tmp/t/guest-lib.sh
kernel_reads dvg r1 r5
