#!/bin/bash
# fua3-oracle-run.sh: runs fua3-oracle.sh in the kernel oracle (/work/shared/oracle) with
# coreutils dd on a disk of its own; keeps the transcript (fua3-oracle.out) and the log
# devices (kernel-fua3-l1.log ... l6), gzipped.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
oracle="${ORACLE:-/work/shared/oracle}"
disks="$(mktemp -d)"
trap 'rm -rf "$disks"' EXIT
tar cf "$disks/tools.img" -C /usr/bin dd
for try in 1 2 3 4; do
	rc=0
	(cd "$oracle" && flock /tmp/oracle.lock ./run.sh --fresh "$here/fua3-oracle.sh" "$disks") >"$here/fua3-oracle.out" || rc=$?
	if [ "$rc" = 0 ] && ! grep -q "Failed to get write lock" "$here/fua3-oracle.out"; then break; fi
	sleep 5
done
for l in l1 l2 l3 l4 l5 l6; do gzip -9nc "$disks/$l.img" >"$here/kernel-fua3-$l.log.gz"; done
