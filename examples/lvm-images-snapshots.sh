#!/usr/bin/env bash
# LVM2 old-style snapshots and thin volumes on an external origin, on the disk images lvm2 made
# in the kernel oracle (testdata/lvm/s1, s2): a snapshot activated with its origin, read-only,
# the origin and the snapshot read out; then a pending merge run into its origin (on copies).
#   GDMSETUP=path/to/gdmsetup examples/lvm-images-snapshots.sh
set -euo pipefail
G=${GDMSETUP:-gdmsetup}
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export GDMSETUP_DIR=$work/state
for d in s1 s2; do gzip -dc "$here/testdata/lvm/$d.img.gz" > "$work/$d.img"; done
images=("$work/s1.img" "$work/s2.img")
$G lvm scan "${images[@]}"
# naming a snapshot activates its origin with all the origin's snapshots, as lvm2 does
$G lvm activate --readonly --lv vg/snap --lv vg/ext "${images[@]}"
$G ls --tree
for lv in vg-lin vg-snap vg-snap2 vg-ext; do
  echo "$lv: $($G read $lv | sha256sum | cut -c1-64)"
done
$G lvm deactivate vg
# the merge lvconvert --merge left pending runs at activation; status shows it done
$G lvm activate --lv vg/mlin "${images[@]}"
until $G status vg-mlin | awk '{split($4, a, "/"); exit a[1] != $5}'; do sleep 0.1; done
$G status vg-mlin
$G lvm deactivate vg
$G ls
