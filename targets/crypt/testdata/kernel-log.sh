#!/bin/sh
# Guest script for ../shared/oracle/run.sh: the lines dm-crypt (Linux 6.1)
# logs itself. They carry "trusted_key: " before "device-mapper: crypt: "
# (dm-crypt.c includes keys/trusted-type.h, whose pr_fmt adds it), so the
# fidelity harness, which compares only lines starting "device-mapper: ",
# drops them; kernel-log.out is this script's transcript, checked by
# TestKernelLogLines.
# oracle-disk: d 1M
. /oracle/lib.sh
K=00112233445566778899aabbccddeeff
run dmsetup create w --table "0 2048 crypt aes-ecb-plain64 $K 0 /dev/oracle/d 0"
run dmsetup remove w
run dmsetup create k --table "0 2048 crypt aes-cbc-essiv:sha256 $K 0 /dev/oracle/d 0"
run dmsetup message k 0 key wipe
run dmsetup message k 0 key
run dmsetup suspend k
run dmsetup message k 0 key set
run dmsetup message k 0 bogus word
run dmsetup message k 0 key wipe
run dmsetup resume k
run dmsetup message k 0 key set $K
run dmsetup resume k
run dmsetup remove k
