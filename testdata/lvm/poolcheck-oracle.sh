#!/bin/sh
# Kernel oracle, second half of the pool-check scenario: lvm2 2.03.16 runs thin_check and
# cache_check (pdata_tools 0.9.0 at their default paths; Debian's build passes thin_check
# only -q, cache_check -q --clear-needs-check-flag) before it activates a pool. VG "kvg" as
# poolcheck-make-oracle.sh left k1 and k2; the copies poolcheck-damage.py made (k1a: the thin
# pool's superblock checksum damaged, k1b: a node of its mapping tree, k1c: NEEDS_CHECK set in
# its sound superblock, k2c: NEEDS_CHECK set in the cache pool's, k2d: the cache pool's
# superblock checksum damaged) are written over k1 or k2 in turn and the VG activated:
# lvm2's messages and exit status, ls, table, info -c, status, every device's SHA-256, the
# superblock's csum and flags words and SHA-256 after activation and after deactivation (and
# a cache pool superblock's first 292 bytes).
# lvchange -vvvv shows the check commands (and that none runs for an active pool); k1c is
# also activated with the VG in activation/read_only_volume_list, and with --readonly.
# Run with: FROM=DIR testdata/lvm/capture.sh poolcheck (DIR holding k1, k2 and the copies).
# keep:
# oracle-disk: k1 32M
# oracle-disk: k2 32M
set -e
mkdir -p /tmp/t && cd /tmp/t && tar xf /dev/oracle/tools
export LD_LIBRARY_PATH=/tmp/t/lib
mkdir -p /run/lock/lvm /etc/lvm /run/lvm
K1=$(readlink -f /dev/oracle/k1)
K2=$(readlink -f /dev/oracle/k2)
base="activation{udev_sync=0 udev_rules=0 monitoring=0} devices{obtain_device_list_from_udev=0 use_devicesfile=0 global_filter=[\"a|^$K1\$|\",\"a|^$K2\$|\",\"r|.*|\"]} global{use_lvmpolld=0}"
F="--config=$base"
lvm() { cmd=$1; shift; /tmp/t/lvm "$cmd" "$F" "$@"; }
show() {
	dmsetup ls
	dmsetup table
	dmsetup info -c -o name,uuid,attr,open
	dmsetup status
}
sums() {
	echo "== sha256 ($1)"
	for d in $(dmsetup ls | cut -f1 | sort); do
		echo "$d $(sha256sum < /dev/mapper/$d 2>/dev/null | cut -c1-64)"
	done
}
put() { /tmp/t/dd if="$1" of="$2" bs=1M conv=fsync status=none; }
# sb WHEN [DISK SECTOR]: the thin pool superblock on k1, or the one at SECTOR of DISK (csum
# and flags words, SHA-256 of its 4 KiB).
sb() {
	echo "== superblock ($1)"
	/tmp/t/dd if="${2:-$K1}" bs=512 skip="${3:-$TMETA}" count=8 iflag=direct status=none >/tmp/sb
	od -A n -t x4 -N 8 /tmp/sb
	sha256sum </tmp/sb | cut -c1-64
	[ -z "${2:-}" ] || od -A d -t x4 -N 292 /tmp/sb
}
# checks ARGS...: lvchange ARGS -vvvv, the check commands lvm2 runs.
checks() {
	echo "== lvchange $* -vvvv: the checks lvm2 runs"
	lvm lvchange "$@" -vvvv 2>&1 | grep -E 'Running check command|Executing:.*_check' | sed 's/^[0-9:.]* *[a-z]*\[[0-9]*\] *[a-z_/-]*\.c:[0-9]* *//' || true
}
# activate CASE [OPTIONS...]: vgchange -ay with its messages and exit status, the devices.
activate() {
	c=$1; shift
	echo "== vgchange -ay ($c)"
	rc=0; lvm vgchange -ay "$@" kvg 2>&1 || rc=$?
	echo "exit $rc"
	show
}
deactivate() { lvm vgchange -q -an kvg 2>&1; dmsetup ls; }
/tmp/t/dd if="$K1" of=/tmp/k1.img bs=1M status=none
/tmp/t/dd if="$K2" of=/tmp/k2.img bs=1M status=none
fresh() { put /tmp/k1.img "$K1"; put /tmp/k2.img "$K2"; }

activate sound
sums sound
TMETA=$(dmsetup table kvg-pool_tmeta | cut -d' ' -f5)
CMETA=$(dmsetup table kvg-cpool_cpool_cmeta | cut -d' ' -f5)
echo "tmeta at sector $TMETA of k1, cmeta at sector $CMETA of k2"
deactivate
sb "sound cmeta, after vgchange -an" "$K2" "$CMETA"
# The checks run when the pool (or cache) device is not active yet, not when it is.
checks -ay kvg/thin1
checks -ay kvg/thin2
checks -ay kvg/lv
deactivate

for c in k1a k1b k1c; do
	fresh
	put /dev/oracle/$c "$K1"
	activate $c
	sums $c
	sb "$c, after vgchange -ay"
	deactivate
	sb "$c, after vgchange -an"
done

fresh
put /dev/oracle/k1c "$K1"
F="--config=$base activation{read_only_volume_list=[\"kvg\"]}"
activate "k1c, read_only_volume_list"
sums "k1c, read_only_volume_list"
sb "k1c, read_only_volume_list, after vgchange -ay"
F="--config=$base"
deactivate
sb "k1c, read_only_volume_list, after vgchange -an"

fresh
put /dev/oracle/k1c "$K1"
activate "k1c, --readonly" --readonly
sb "k1c, --readonly, after vgchange -ay"
deactivate
sb "k1c, --readonly, after vgchange -an"

fresh
put /dev/oracle/k2c "$K2"
activate k2c
sums k2c
sb "k2c cmeta, after vgchange -ay" "$K2" "$CMETA"
deactivate
sb "k2c cmeta, after vgchange -an" "$K2" "$CMETA"

fresh
put /dev/oracle/k2d "$K2"
activate k2d
sums k2d
deactivate
echo "== end"
dmsetup ls
