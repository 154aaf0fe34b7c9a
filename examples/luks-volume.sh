#!/usr/bin/env bash
# Open a LUKS2 volume without root or a dm driver: cryptsetup formats an
# image file and prints its volume key (it needs no device-mapper for
# that), and a crypt table built from its "Data segments" opens it, as
# `cryptsetup open` would load into the kernel. Data written through it is
# read back by a second table in a later process; the key is wiped and set
# again while the device is suspended.
#   GDMSETUP=path/to/gdmsetup examples/luks-volume.sh
set -euo pipefail
G=${GDMSETUP:-gdmsetup}
if ! command -v cryptsetup >/dev/null; then
	echo "cryptsetup is not installed (Debian: cryptsetup-bin)" >&2
	[ "${CI:-}" = true ] && exit 1
	exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export GDMSETUP_DIR=$work/state
cd "$work"

truncate -s 48M disk.img
printf 'my passphrase' > pass
cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --key-file pass disk.img

# The table cryptsetup would load: cipher, volume key, data offset (512-byte
# sectors) and, for LUKS2's 4096-byte sectors, sector_size:4096.
key=$(cryptsetup luksDump --dump-volume-key -q --key-file pass disk.img |
	awk '/MK dump:/{f=1; sub(/.*MK dump:/, "")} f && /^[ \t0-9a-f]+$/{printf "%s", $0; next} {f=0}' | tr -d ' \t')
dump=$(cryptsetup luksDump disk.img)
cipher=$(echo "$dump" | awk '/^Data segments:/{s=1} s && /cipher:/{print $2; exit}')
offset=$(echo "$dump" | awk '/^Data segments:/{s=1} s && /offset:/{print $2 / 512; exit}')
sector=$(echo "$dump" | awk '/^Data segments:/{s=1} s && /sector:/{print $2; exit}')
sectors=$(( $(stat -c %s disk.img) / 512 - offset ))
$G create secret --table "0 $sectors crypt $cipher $key 0 $PWD/disk.img $offset 1 sector_size:$sector"
$G table secret

echo "hello from gdmsetup" | dd bs=4096 conv=sync status=none | $G write secret --offset 0
# the image holds ciphertext only
! grep -q "hello from gdmsetup" disk.img

# a later process, another table over the same volume: the plaintext is back
$G remove secret
$G create again --table "0 $sectors crypt $cipher $key 0 $PWD/disk.img $offset 1 sector_size:$sector"
$G read again --length 19 | grep -qx "hello from gdmsetup"

# the key can be wiped and set only while suspended; without it, no resume
$G suspend again
$G message again 0 key wipe
if $G resume again 2>/dev/null; then echo "resumed without a key" >&2; exit 1; fi
$G message again 0 key set "$key"
$G resume again
$G read again --length 19
echo
$G remove again
