#!/bin/sh
# pdata vs bbolt, side by side, on /dev/shm files, alternating A B A B for
# ROUNDS rounds; prints medians and pdata/bbolt ratios (< 1: pdata faster).
#  - thin layer (issue 3's goal): 1M mappings into one thin device in
#    commits of 10k (data blocks allocated too), sequential and random keys,
#    vs bbolt with the same keys and batches; then 1M random lookups
#    (targets/thinpool/metadata).
#  - btree alone: 1M u64 keys in 10k-key commits, and random point lookups
#    (pdata/btree).
# Usage: bench/pdata_btree.sh [ROUNDS]   (from the repository root)
set -eu
ROUNDS=${1:-3}
cd "$(dirname "$0")/.."
go test -c -o /tmp/pdata-btree.test ./pdata/btree
go test -c -o /tmp/pdata-thin.test ./targets/thinpool/metadata
out=$(mktemp)
trap 'rm -f "$out" /tmp/pdata-btree.test /tmp/pdata-thin.test' EXIT
run() { # binary benchmark benchtime
	"$1" -test.run XXX -test.bench "^Benchmark$2\$" -test.benchtime "$3" | grep '^Benchmark' >>"$out"
}
i=0
while [ "$i" -lt "$ROUNDS" ]; do
	for b in ThinInsert1MSequential Bbolt1MSequential ThinInsert1MRandom Bbolt1MRandom; do
		run /tmp/pdata-thin.test "$b" 1x
	done
	for b in InsertSequential BoltInsertSequential InsertRandom BoltInsertRandom; do
		run /tmp/pdata-btree.test "$b" 1x
	done
	for b in LookupRandom BoltLookupRandom; do
		run /tmp/pdata-btree.test "$b" 1000000x
	done
	i=$((i + 1))
done
python3 - "$out" <<'PY'
import re, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    f = line.split()
    name = re.sub(r"-\d+$", "", f[0])[len("Benchmark"):]
    for i in range(2, len(f) - 1, 2):
        runs.setdefault((name, f[i + 1]), []).append(float(f[i]))
def med(name, unit):
    return statistics.median(runs[(name, unit)])
rows = [
    ("thin 1M sequential inserts", "ThinInsert1MSequential", "Bbolt1MSequential", "ns/op", 1e-9, "s"),
    ("thin 1M random inserts", "ThinInsert1MRandom", "Bbolt1MRandom", "ns/op", 1e-9, "s"),
    ("btree 1M sequential inserts", "InsertSequential", "BoltInsertSequential", "ns/key", 1, "ns/key"),
    ("btree 1M random inserts", "InsertRandom", "BoltInsertRandom", "ns/key", 1, "ns/key"),
    ("btree random lookups", "LookupRandom", "BoltLookupRandom", "ns/op", 1, "ns/op"),
]
def show(v, unit):
    return f"{v:.3f} {unit}" if unit == "s" else f"{v:.0f} {unit}"
print(f"{'benchmark':<28} {'pdata':>14} {'bbolt':>14} {'pdata/bbolt':>12}")
for label, a, b, unit, scale, shown in rows:
    x, y = med(a, unit), med(b, unit)
    print(f"{label:<28} {show(x * scale, shown):>14} {show(y * scale, shown):>14} {x / y:>12.2f}")
for name in ("ThinInsert1MSequential", "ThinInsert1MRandom"):
    print(f"thin lookups after {name[12:]:<10}{show(med(name, 'lookup-ns/op'), 'ns/op'):>14}   heap {med(name, 'heapMiB'):.0f} MiB")
PY
