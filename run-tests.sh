#!/usr/bin/env bash
# Runs every test of gdmsetup: installs the real peers the tests use when
# they are missing (Debian packages; needs root), then go vet, go test of
# every package (CLI, core, pdata against thin_check/thin_dump/thin_restore,
# NBD against nbdinfo/qemu-img/qemu-io/nbdcopy, crypt against cryptsetup and
# qemu's LUKS driver, the fidelity comparison with
# the real kernel's output), the race detector over the concurrent packages, and a
# few seconds of each fuzz target.
set -euo pipefail
cd "$(dirname "$0")"

# command:package pairs of the peers the tests run
peers="thin_check:thin-provisioning-tools thin_dump:thin-provisioning-tools thin_restore:thin-provisioning-tools
nbdinfo:libnbd-bin nbdcopy:libnbd-bin qemu-img:qemu-utils qemu-io:qemu-utils nbdkit:nbdkit fio:fio
xz:xz-utils python3:python3 hyperfine:hyperfine dmsetup:dmsetup nbdsh:python3-libnbd g++:g++ cryptsetup:cryptsetup-bin nbd-client:nbd-client
pvck:lvm2 sfdisk:fdisk sgdisk:gdisk partx:util-linux"
missing=()
for pair in $peers; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
  pkgs=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
  if [ "$(id -u)" = 0 ]; then
    echo "installing: $pkgs"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $pkgs >/dev/null
  else
    echo "missing peers (tests needing them skip, or fail under CI=true): $pkgs" >&2
  fi
fi

gofmt_out=$(gofmt -l . | grep -v '^vendor/' || true)
if [ -n "$gofmt_out" ]; then
  echo "gofmt: not formatted: $gofmt_out" >&2
  exit 1
fi
go vet ./...
go test -count=1 -timeout 40m ./...
# the race detector over the packages NBD clients reach concurrently: the server, the device
# core and the thin target with its metadata
go test -race -short -count=1 -timeout 20m ./nbd ./dm ./targets/thin ./targets/thinpool/...

# a few seconds of every fuzz target
fuzztime=${FUZZTIME:-5s}
fuzzlog=$(mktemp)
trap 'rm -f "$fuzzlog"' EXIT
# fuzz PKG FN: one fuzz run. Go's coordinator can fail a run with a bare "context deadline
# exceeded" when -fuzztime ends while a worker is mid-input (golang/go#75804): no failing input
# is written and nothing is wrong. Such a run is tried once more; any other failure fails.
fuzz() {
  go test -run='^$' -fuzz="^$2\$" -fuzztime="$fuzztime" "$1" >"$fuzzlog" 2>&1 && return 0
  if grep -q '^    context deadline exceeded$' "$fuzzlog" && ! grep -q 'Failing input written\|panic:' "$fuzzlog"; then
    echo "fuzz $1 $2: the coordinator's deadline race (no failing input): once more"
    go test -run='^$' -fuzz="^$2\$" -fuzztime="$fuzztime" "$1" >"$fuzzlog" 2>&1 && return 0
  fi
  cat "$fuzzlog" >&2
  return 1
}
grep -rl --include='*_test.go' '^func Fuzz' . | while read -r f; do
  pkg=./$(dirname "${f#./}")
  for fn in $(grep -o '^func Fuzz[A-Za-z0-9_]*' "$f" | sed 's/^func //'); do
    echo "fuzz $pkg $fn ($fuzztime)"
    fuzz "$pkg" "$fn" || exit 1
  done
done
echo "all tests passed"
