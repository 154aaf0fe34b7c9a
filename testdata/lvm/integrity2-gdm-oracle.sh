#!/bin/sh
# Kernel oracle: lvm2 2.03.16 activates VG nvg from images gdmsetup wrote (testdata/lvm/
# integrity2-gdm.sh makes them and runs this through capture.sh with FROM=): ri's integrity
# recalculation, interrupted in the kernel, resumed and finished by gdmsetup. The transcript
# records the status at once (no recalculation left), md's and dm-integrity's messages, each
# LV's SHA-256, a check of each set, and the total of raid and integrity mismatches.
# oracle-disk: n1 768M
# oracle-disk: n2 768M
set -e
mkdir -p /tmp/t && cd /tmp/t && tar xf /dev/oracle/tools
. /tmp/t/guest-lib.sh
kernel_reads nvg rb ri
