#!/bin/bash
# capture.sh [NAME]: runs NAME-oracle.sh (default lvm) in the kernel oracle (/work/shared/oracle,
# or $ORACLE) with the host's lvm binary, its libraries, coreutils dd and guest-lib.sh on the
# "tools" disk, and two partitioned disks made here (mbr: sfdisk, gpt: sgdisk) beside the
# script's declared disks;
# keeps the transcript (NAME-oracle.out) and, gzipped, the disks the script's "# keep:" line names.
# With FROM=DIR the declared disks are DIR's images (copied, not made afresh).
# TIMEOUT=SECS gives the run longer than 300 s (under TCG a script that waits for syncs needs it).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
oracle="${ORACLE:-/work/shared/oracle}"
name="${1:-lvm}"
script="$here/$name-oracle.sh"
keep="$(sed -n 's/^# keep: //p' "$script")"
d="$(mktemp -d)"
trap 'rm -rf "$d"' EXIT
mkdir -p "$d/t/lib"
cp /usr/sbin/lvm /usr/bin/dd "$here/guest-lib.sh" "$d/t/"
ldd /usr/sbin/lvm | awk '/=> \//{print $3}' | xargs -I{} cp -L {} "$d/t/lib/"
tar cf "$d/tools.img" -C "$d/t" .
truncate -s 48M "$d/mbr.img" "$d/gpt.img"
printf 'label: dos\nstart=2048, size=16384, type=83\nstart=18432, type=8e\n' | sfdisk -q "$d/mbr.img"
sgdisk -n 1:2048:+8M -t 1:8300 -n 2:0:0 -t 2:8e00 "$d/gpt.img" >/dev/null
fresh=--fresh
if [ -n "${FROM:-}" ]; then
	cp "$FROM"/*.img "$d/"
	fresh=
fi
for try in 1 2 3 4; do
	rc=0
	(cd "$oracle" && flock /tmp/oracle.lock ./run.sh $fresh --timeout "${TIMEOUT:-300}" "$script" "$d") >"$here/$name-oracle.out" || rc=$?
	if [ "$rc" = 0 ] && ! grep -q "Failed to get write lock" "$here/$name-oracle.out"; then break; fi
	echo "capture.sh: $name, attempt $try failed (exit $rc); its last lines:" >&2
	tail "$here/$name-oracle.out" >&2
	sleep 5
done
[ "$rc" = 0 ] || exit 1
for disk in $keep; do gzip -9nc "$d/$disk.img" >"$here/$disk.img.gz"; done
