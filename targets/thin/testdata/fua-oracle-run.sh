#!/bin/bash
# fua-oracle-run.sh: runs fua-oracle.sh in the kernel oracle (/work/shared/oracle) with
# coreutils dd on a disk of its own, and keeps what the kernel wrote: fua-oracle.out (the
# transcript) and kernel-fua.log.gz (the log device under the pool's data).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
oracle="${ORACLE:-/work/shared/oracle}"
disks="$(mktemp -d)"
trap 'rm -rf "$disks"' EXIT
tar cf "$disks/tools.img" -C /usr/bin dd
for try in 1 2 3; do
	(cd "$oracle" && flock /tmp/oracle.lock ./run.sh --fresh "$here/fua-oracle.sh" "$disks") >"$here/fua-oracle.out"
	grep -q "Failed to get write lock" "$here/fua-oracle.out" || break
done
gzip -9n <"$disks/log.img" >"$here/kernel-fua.log.gz"
