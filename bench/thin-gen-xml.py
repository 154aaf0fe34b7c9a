#!/usr/bin/env python3
"""Write thin_dump-format XML for benchmarks: N mappings spread over D devices.

  thin-gen-xml.py N [DEVICES] [single|range] > pool.xml

single: every mapping its own <single_mapping>, origins 0,2,4,... and data blocks
        permuted (i * stride mod nr_data) so that no two coalesce into a range.
range:  runs of 16 consecutive blocks (<range_mapping>) separated by one-block gaps.
Same arguments, same bytes.
"""
import math
import sys

n = int(sys.argv[1])
devices = int(sys.argv[2]) if len(sys.argv) > 2 else 1
mode = sys.argv[3] if len(sys.argv) > 3 else "single"
nr_data = n + n // 100 + 16
stride = 2654435761 % nr_data or 1
while math.gcd(stride, nr_data) != 1:
    stride += 1

out = sys.stdout
out.write(f'<superblock uuid="" time="1" transaction="1" flags="0" version="2" '
          f'data_block_size="128" nr_data_blocks="{nr_data}">\n')
used = 0
for dev in range(devices):
    count = n // devices + (1 if dev < n % devices else 0)
    out.write(f'  <device dev_id="{dev}" mapped_blocks="{count}" transaction="0" '
              f'creation_time="0" snap_time="1">\n')
    lines = []
    if mode == "single":
        for i in range(count):
            lines.append(f'    <single_mapping origin_block="{2 * i}" '
                         f'data_block="{(used * stride) % nr_data}" time="0"/>\n')
            used += 1
    else:
        origin, left = 0, count
        while left:
            length = min(16, left)
            lines.append(f'    <range_mapping origin_begin="{origin}" data_begin="{used}" '
                         f'length="{length}" time="0"/>\n')
            origin += length + 1
            used += length
            left -= length
    out.write("".join(lines))
    out.write('  </device>\n')
out.write('</superblock>\n')
