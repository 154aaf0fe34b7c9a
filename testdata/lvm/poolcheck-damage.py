#!/usr/bin/env python3
"""poolcheck-damage.py DIR: makes the damaged copies of k1.img and k2.img (in DIR) that
poolcheck-oracle.sh activates, from where poolcheck-make-oracle.out's tables put the metadata
LVs (254:0 is k1, 254:16 k2):
  k1a.img: the thin pool's metadata superblock with a checksum byte flipped;
  k1b.img: a byte flipped in the root node of the pool's mapping tree (data_mapping_root);
  k1c.img: the pool's superblock with NEEDS_CHECK (flags bit 0) set, its checksum resealed;
  k2c.img: the cache pool's metadata superblock with NEEDS_CHECK (flags bit 1) set, resealed;
  k2d.img: the cache pool's metadata superblock with a checksum byte flipped.
"""
import os
import re
import struct
import sys

META_BLOCK_BYTES = 4096
SECTOR_BYTES = 512
THIN_SB_CSUM_XOR = 160774
CACHE_SB_CSUM_XOR = 9031977


def crc32c(data):
    """The kernel's crc32c(~0, data) (dm_bm_checksum without its xor): no final inversion."""
    table = crc32c.table
    if table is None:
        table = []
        for i in range(256):
            c = i
            for _ in range(8):
                c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
            table.append(c)
        crc32c.table = table
    c = 0xFFFFFFFF
    for b in data:
        c = table[(c ^ b) & 0xFF] ^ (c >> 8)
    return c


crc32c.table = None


def meta_start(transcript, dev):
    """Byte offset on its disk of metadata LV dev (its one linear line), and the disk."""
    m = re.search(r"^%s: 0 \d+ linear 254:(\d+) (\d+)$" % re.escape(dev), transcript, re.M)
    if not m:
        sys.exit("poolcheck-damage: no linear table for %s in the transcript" % dev)
    return {"0": "k1", "16": "k2"}[m.group(1)], int(m.group(2)) * SECTOR_BYTES


def patched(src, dst, edits):
    with open(src, "rb") as f:
        img = bytearray(f.read())
    for off, fn in edits:
        fn(img, off)
    with open(dst, "wb") as f:
        f.write(img)


def flip(img, off):
    img[off] ^= 0x01


def needs_check(flag, xor):
    """The edit setting flag in a superblock's flags word, resealed with checksum salt xor."""
    def edit(img, sb):
        flags = struct.unpack_from("<I", img, sb + 4)[0]
        struct.pack_into("<I", img, sb + 4, flags | flag)
        csum = crc32c(bytes(img[sb + 4:sb + META_BLOCK_BYTES])) ^ xor
        struct.pack_into("<I", img, sb, csum)
    return edit


def main():
    d = sys.argv[1]
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "poolcheck-make-oracle.out")) as f:
        transcript = f.read()
    tdisk, tmeta = meta_start(transcript, "kvg-pool_tmeta")
    cdisk, cmeta = meta_start(transcript, "kvg-cpool_cpool_cmeta")
    if (tdisk, cdisk) != ("k1", "k2"):
        sys.exit("poolcheck-damage: the pool's metadata is on %s, the cache pool's on %s: expected k1, k2" % (tdisk, cdisk))
    with open(os.path.join(d, tdisk + ".img"), "rb") as f:
        f.seek(tmeta + 320)
        mapping_root = struct.unpack("<Q", f.read(8))[0]
    src = lambda disk: os.path.join(d, disk + ".img")
    patched(src(tdisk), os.path.join(d, "k1a.img"), [(tmeta + 2, flip)])
    patched(src(tdisk), os.path.join(d, "k1b.img"), [(tmeta + mapping_root * META_BLOCK_BYTES + 100, flip)])
    patched(src(tdisk), os.path.join(d, "k1c.img"), [(tmeta, needs_check(1, THIN_SB_CSUM_XOR))])
    patched(src(cdisk), os.path.join(d, "k2c.img"), [(cmeta, needs_check(2, CACHE_SB_CSUM_XOR))])
    patched(src(cdisk), os.path.join(d, "k2d.img"), [(cmeta + 2, flip)])
    print("tmeta on %s at byte %d, mapping root block %d; cmeta on %s at byte %d" % (tdisk, tmeta, mapping_root, cdisk, cmeta))


main()
