#!/bin/bash
# cache-gdm.sh: the kernel reads what gdmsetup wrote. gdmsetup activates the VG of
# testdata/lvm/c1,c2.img.gz (cache pools in writethrough, writeback and passthrough mode, a
# cachevol, a writecache, a thin pool on a cached data LV), writes into every LV (whole cache
# blocks and parts of blocks), reads each LV's SHA-256, the caches' fill and dirty counts and
# the writeback caches' origins' SHA-256 and deactivates at once, leaving the writeback caches
# dirty and the writecache full of data the origin lacks; then lvm2 in the kernel oracle
# activates the images (cache-gdm-oracle.sh, through capture.sh with FROM=): lvm2 runs
# cache_check on each cache's metadata first, every LV must read to gdmsetup's SHA-256, the
# caches must hold as many blocks as gdmsetup's held, and once the kernel's idle caches have
# written their dirty blocks back each writeback cache's origin must read as its LV (it did
# not at gdmsetup's deactivation).
. "$(dirname "$0")/gdm-lib.sh"
gdm_setup c1 c2
# counts prints, for each cache, its used blocks, and for each writecache its blocks and free
# blocks, from `status` lines on stdin; dirty prints each cache's dirty blocks.
counts() { awk '$4 == "cache" {print $1, $8} $4 == "writecache" {print $1, $6, $7}'; }
dirty() { awk '$4 == "cache" {print $1, $15}'; }
g lvm activate "$d"/img/c*.img
head -c 1048576 /dev/urandom >"$d/data"
head -c 200000 /dev/urandom >"$d/part"
for lv in lv1 lv2 lv3 lv4 lv5 thin1; do
	g write "vg-$lv" --offset $((1 << 20)) <"$d/data"
	g write "vg-$lv" --offset $((3 << 20 | 4096)) <"$d/part"
done
for lv in lv1 lv2 lv3 lv4 lv5 thin1 pool_tdata; do echo "vg-$lv $(g read "vg-$lv" | sha256sum | cut -c1-64)"; done >"$d/ours"
g status >"$d/status"
counts <"$d/status" >>"$d/ours"
for lv in lv2 lv4 pool_tdata; do echo "vg-$lv $(g read "vg-${lv}_corig" | sha256sum | cut -c1-64)"; done >"$d/origins"
g lvm deactivate vg
gdm_kernel_reads cache-gdm "sha256 and cache counts"
written="$(awk '/^== origins after writeback/{p=1; next} /^==/{p=0} p' "$out")"
{
	echo "== gdmsetup's dirty blocks and writeback caches' origins at its deactivation"
	dirty <"$d/status"
	cat "$d/origins"
} >>"$out"
if [ "$written" != "$(grep -E '^vg-(lv2|lv4|pool_tdata) ' "$d/ours")" ] || [ "$written" = "$(cat "$d/origins")" ]; then
	echo "cache-gdm.sh: the kernel did not write gdmsetup's dirty blocks back to their origins" >&2
	exit 1
fi
echo "cache-gdm.sh: the kernel read every LV as gdmsetup did, found every cache as gdmsetup left it and wrote its dirty blocks back"
