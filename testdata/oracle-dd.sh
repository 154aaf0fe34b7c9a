#!/bin/bash
# oracle-dd.sh SCRIPT [DISK=FILE...]: runs the oracle scenario SCRIPT in the kernel oracle
# (/work/shared/oracle, or $ORACLE) with coreutils dd attached as the disk "tools" (busybox dd
# has no oflag=dsync; SCRIPT unpacks it with `tar xf /dev/oracle/tools`), retrying while
# another run holds qemu's write lock. The transcript goes beside SCRIPT, .sh replaced by .out;
# each DISK (a `# oracle-disk:` name of SCRIPT) is kept beside SCRIPT as FILE, gzipped when
# FILE ends in .gz.
set -euo pipefail
script="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
shift
here="$(dirname "$script")"
out="${script%.sh}.out"
oracle="${ORACLE:-/work/shared/oracle}"
disks="$(mktemp -d)"
trap 'rm -rf "$disks"' EXIT
tar cf "$disks/tools.img" -C /usr/bin dd
for try in 1 2 3 4; do
	rc=0
	(cd "$oracle" && flock /tmp/oracle.lock ./run.sh --fresh "$script" "$disks") >"$out" || rc=$?
	if [ "$rc" = 0 ] && ! grep -q "Failed to get write lock" "$out"; then break; fi
	sleep 5
done
for keep in "$@"; do
	disk="${keep%%=*}" file="$here/${keep#*=}"
	case "$file" in
	*.gz) gzip -9nc "$disks/$disk.img" >"$file" ;;
	*) cp "$disks/$disk.img" "$file" ;;
	esac
done
