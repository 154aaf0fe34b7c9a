#!/usr/bin/python3
"""nbd-summary.py OUT.csv: medians per storage/test/target from bench/nbd-bench.sh, with the
paired (same round) ratio of gdm to nbdkit and to qemu-nbd on the same transport."""
import csv, statistics, sys
from collections import defaultdict

vals = defaultdict(dict)  # (storage, test, target) -> {round: value}
for row in csv.DictReader(open(sys.argv[1])):
    try:
        v = float(row["value"])
    except ValueError:
        continue
    if v > 0:  # fio reports 0 when the job failed
        vals[(row["storage"], row["test"], row["target"])][row["round"]] = v
units = {r["test"]: r["unit"] for r in csv.DictReader(open(sys.argv[1])) if r["unit"] in ("MiB/s", "IOPS")}

def ratio(a, b):
    rs = [a[r] / b[r] for r in a if r in b and b[r] > 0]
    if not rs:
        return "-"
    return "%.2f [%.2f-%.2f]" % (statistics.median(rs), min(rs), max(rs)) if len(rs) > 1 else "%.2f" % rs[0]

print("| storage | test | unit | transport | nbdkit | qemu-nbd | gdm | gdm ÷ nbdkit | gdm ÷ qemu |")
print("|---|---|---|---|---|---|---|---|---|")
for st, test in sorted({(k[0], k[1]) for k in vals}):
    for tr in ("tcp", "unix"):
        g = vals.get((st, test, "gdm-" + tr))
        if not g:
            continue
        k = vals.get((st, test, "nbdkit-" + tr), {})
        q = vals.get((st, test, "qemu-" + tr), {})
        med = lambda d: "{:,.0f}".format(statistics.median(d.values())) if d else "-"
        print(f"| {st} | {test} | {units.get(test, '')} | {tr} | {med(k)} | {med(q)} | {med(g)} | {ratio(g, k)} | {ratio(g, q)} |")
