#!/usr/bin/env python3
"""verity-fec-salt: the 4-byte salt S for which crc32c(S + 4096 zero bytes) is 0.

crc32c is the kernel's (Castagnoli, seed ~0, inverted at the end). Over a
fixed-length message it is affine in the message bits, so the salt is the
solution of 32 linear equations over GF(2). With it, dm-verity version 1
(salt first) gives a zero block the digest 00000000, so an all-zero hash
tree, root digest 00000000 and all-zero FEC parity verify (verity-fec.scn,
verity-fec-meta.scn). Prints the salt in hex (38b6485a).
"""

TABLE = []
for i in range(256):
    c = i
    for _ in range(8):
        c = (c >> 1) ^ (0x82F63B78 if c & 1 else 0)
    TABLE.append(c)


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def digest(salt):
    return crc32c(salt.to_bytes(4, "big") + bytes(4096))


def main():
    base = digest(0)
    basis = {}  # pivot bit -> (column, salt bits making it)
    for i in range(32):
        v, m = digest(1 << i) ^ base, 1 << i
        for bit in reversed(range(32)):
            if not (v >> bit) & 1:
                continue
            if bit not in basis:
                basis[bit] = (v, m)
                break
            v, m = v ^ basis[bit][0], m ^ basis[bit][1]
    rest, salt = base, 0
    for bit in reversed(range(32)):
        if (rest >> bit) & 1:
            rest, salt = rest ^ basis[bit][0], salt ^ basis[bit][1]
    assert rest == 0 and digest(salt) == 0
    print("%08x" % salt)


if __name__ == "__main__":
    main()
