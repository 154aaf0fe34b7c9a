#!/usr/bin/env bash
# LVM2 on disk images: the volume groups lvm2 made in the kernel oracle (testdata/lvm: two
# whole-disk PVs, a DOS- and a GPT-partitioned disk), activated read only as lvm2 would
# activate them, a thin volume and its snapshot read out, then deactivated.
#   GDMSETUP=path/to/gdmsetup examples/lvm-images.sh [IMAGE...]
set -euo pipefail
G=${GDMSETUP:-gdmsetup}
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export GDMSETUP_DIR=$work/state
if [ $# -gt 0 ]; then
  images=("$@")
else
  images=()
  for d in pv1 pv2 mbr gpt; do
    gzip -dc "$here/testdata/lvm/$d.img.gz" > "$work/$d.img"
    images+=("$work/$d.img")
  done
fi
$G lvm scan "${images[@]}"
# read only: nothing is written to the images; -K: the thin snapshot too
$G lvm activate --readonly --ignoreactivationskip "${images[@]}"
$G ls --tree
$G table vg-pool-tpool
for lv in vg-thin1 vg-snap1; do
  echo "$lv: $($G read $lv | sha256sum | cut -c1-64)"
done
$G lvm deactivate vg other-vg
$G ls
