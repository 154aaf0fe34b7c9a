#!/bin/sh
# Kernel oracle: lvm2 2.03.16 activates VG hvg from images gdmsetup wrote (testdata/lvm/
# degraded3-gdm.sh makes them and runs this through capture.sh with FROM=): ri, a raid1 with
# integrity, written with every PV, then r1, a raid1 with three legs, written with h2 and h3
# missing; all four back. The transcript records the sets' status at once, md's messages, each
# LV's SHA-256 once recovered, and what a check of each set finds (raid and integrity
# mismatches).
# oracle-disk: h1 16M
# oracle-disk: h2 16M
# oracle-disk: h3 16M
# oracle-disk: h4 16M
set -e
mkdir -p /tmp/t && cd /tmp/t && tar xf /dev/oracle/tools
. /tmp/t/guest-lib.sh
kernel_reads hvg r1 ri
