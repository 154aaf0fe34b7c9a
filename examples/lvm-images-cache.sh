#!/usr/bin/env bash
# LVM2 cache and writecache LVs on the disk images lvm2 made in the kernel oracle
# (testdata/lvm/c1, c2): scan says how each LV is cached; activation makes lvm2's layers
# (cache pool data and metadata, cachevols, origins); a writeback cache's dirty blocks are
# written back to its origin once the cache is idle; the cache pool's metadata is read out for
# gdmsetup's cache tools after deactivation.
#   GDMSETUP=path/to/gdmsetup examples/lvm-images-cache.sh
set -euo pipefail
G=${GDMSETUP:-gdmsetup}
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export GDMSETUP_DIR=$work/state
for d in c1 c2; do gzip -dc "$here/testdata/lvm/$d.img.gz" > "$work/$d.img"; done
images=("$work/c1.img" "$work/c2.img")
$G lvm scan "${images[@]}"
$G lvm activate --lv vg/lv2 --lv vg/lv5 "${images[@]}"
$G ls --tree
# wait (bounded) until the writeback cache has no dirty blocks: its origin then reads as it
for i in $(seq 50); do
  [ "$($G status vg-lv2 | awk '{print $14}')" = 0 ] && break
  sleep 0.1
done
$G status vg-lv2 vg-lv5
for lv in vg-lv2 vg-lv2_corig vg-lv5 vg-lv5_wcorig; do
  echo "$lv: $($G read $lv | sha256sum | cut -c1-64)"
done
# the cache pool's metadata, copied out while active, for the cache tools
$G read vg-cpool2_cpool_cmeta > "$work/cmeta"
$G lvm deactivate vg
$G cache dump "$work/cmeta" | head -5
$G ls
