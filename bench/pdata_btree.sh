#!/bin/sh
# pdata btree vs bbolt, side by side: 1M keys inserted in 10k-key commits
# (sequential and random) and random point lookups, both on /dev/shm files,
# alternating A B A B for ROUNDS rounds. Prints medians and pdata/bbolt ratios
# (< 1 means pdata is faster).
# Usage: bench/pdata_btree.sh [ROUNDS]   (from the repository root)
set -eu
ROUNDS=${1:-3}
cd "$(dirname "$0")/.."
go test -c -o /tmp/pdata-btree.test ./pdata/btree
out=$(mktemp)
trap 'rm -f "$out" /tmp/pdata-btree.test' EXIT
i=0
while [ "$i" -lt "$ROUNDS" ]; do
	for b in InsertSequential BoltInsertSequential InsertRandom BoltInsertRandom; do
		/tmp/pdata-btree.test -test.run XXX -test.bench "^Benchmark$b\$" -test.benchtime 1x | grep '^Benchmark' >>"$out"
	done
	for b in LookupRandom BoltLookupRandom; do
		/tmp/pdata-btree.test -test.run XXX -test.bench "^Benchmark$b\$" -test.benchtime 1000000x | grep '^Benchmark' >>"$out"
	done
	i=$((i + 1))
done
python3 - "$out" <<'PY'
import re, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    f = line.split()
    name = re.sub(r"-\d+$", "", f[0])[len("Benchmark"):]
    unit = "ns/key" if "ns/key" in f else "ns/op"
    val = float(f[f.index(unit) - 1])
    runs.setdefault(name, []).append(val)
print(f"{'benchmark':<20} {'pdata':>12} {'bbolt':>12} {'pdata/bbolt':>12}")
for name, unit in (("InsertSequential", "ns/key"), ("InsertRandom", "ns/key"), ("LookupRandom", "ns/op")):
    a, b = statistics.median(runs[name]), statistics.median(runs["Bolt" + name])
    print(f"{name:<20} {a:>9.0f} {unit[3:]:<2} {b:>9.0f} {unit[3:]:<2} {a / b:>12.2f}")
PY
