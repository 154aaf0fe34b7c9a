#!/bin/sh
# Kernel oracle: lvm2 2.03.16 activates VG gvg from images gdmsetup activated with g2 missing,
# wrote into its degraded raid6, raid10 and raid4 LVs and deactivated (testdata/lvm/degraded2-gdm.sh
# makes them and runs this through capture.sh with FROM=), g2 back; the transcript records the
# sets' status at once, md's messages, each LV's SHA-256 once recovered, and what a check of
# each set finds.
# oracle-disk: g1 16M
# oracle-disk: g2 16M
# oracle-disk: g3 16M
# oracle-disk: g4 16M
# oracle-disk: g5 16M
set -e
mkdir -p /tmp/t && cd /tmp/t && tar xf /dev/oracle/tools
. /tmp/t/guest-lib.sh
kernel_reads gvg r6 r10 r4
