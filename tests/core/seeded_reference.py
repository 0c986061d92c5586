"""The seeded numbers as core/seeded.py's docstring derives them, in plain Python integers.

Philox4x64-10 is written out from its paper (Salmon, Moraes, Dror and Shaw, SC 2011) and
checked against Random123's published known answers (``KNOWN_ANSWERS``), so the fast path's
use of NumPy's Philox is compared with something that shares none of its code. Being
counter-based, any block can be computed on its own: a test can check the last row of a
1024 × 1024 matrix without computing the rest.
"""

from __future__ import annotations

import hashlib
import math

MASK = 2**64 - 1
MULTIPLIERS = (0xD2E7470EE14C6C93, 0xCA5A826395121157)
WEYL = (0x9E3779B97F4A7C15, 0xBB67AE8584CAA73B)  # the key's increments between rounds

# Random123 kat_vectors, "philox4x64 10": counter words, key words, the four output words.
KNOWN_ANSWERS = [
    ((0, 0, 0, 0), (0, 0),
     (0x16554D9ECA36314C, 0xDB20FE9D672D0FDC, 0xD7E772CEE186176B, 0x7E68B68AEC7BA23B)),
    ((MASK, MASK, MASK, MASK), (MASK, MASK),
     (0x87B092C3013FE90B, 0x438C3C67BE8D0224, 0x9CC7D7C69CD777B6, 0xA09CAEBF594F0BA0)),
    ((0x243F6A8885A308D3, 0x13198A2E03707344, 0xA4093822299F31D0, 0x082EFA98EC4E6C89),
     (0x452821E638D01377, 0xBE5466CF34E90C6C),
     (0xA528F45403E61D95, 0x38C72DBD566E9788, 0xA5A1610E72FD18B5, 0x57BD43B5E52B7FE6)),
]


def philox4x64_10(counter: tuple[int, int, int, int], key: tuple[int, int]) -> tuple[int, int, int, int]:
    """One block: ten rounds of two 64 × 64 → 128-bit multiplications, the key bumped between rounds."""
    c0, c1, c2, c3 = counter
    k0, k1 = key
    for r in range(10):
        if r:
            k0, k1 = (k0 + WEYL[0]) & MASK, (k1 + WEYL[1]) & MASK
        p0, p1 = MULTIPLIERS[0] * c0, MULTIPLIERS[1] * c2
        c0, c1, c2, c3 = (p1 >> 64) ^ c1 ^ k0, p1 & MASK, (p0 >> 64) ^ c3 ^ k1, p0 & MASK
    return c0, c1, c2, c3


def key_words(key: str) -> tuple[int, int]:
    """BLAKE2b-128 of the key's UTF-8 text, as two little-endian 64-bit words."""
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=16).digest()
    return int.from_bytes(digest[:8], "little"), int.from_bytes(digest[8:], "little")


def reference_words(key: str, count: int, first: int = 0) -> list[int]:
    """Words first … first + count − 1 of the key's stream (block b encrypts the counter b)."""
    k = key_words(key)
    block, skip = divmod(first, 4)
    words: list[int] = []
    while len(words) < skip + count:
        counter = block & MASK, (block >> 64) & MASK, (block >> 128) & MASK, (block >> 192) & MASK
        words.extend(philox4x64_10(counter, k))
        block += 1
    return words[skip:skip + count]


def reference_uniform(key: str, count: int, low: float = -1.0, high: float = 1.0, decimals: int = 2,
                      first: int = 0) -> list[float]:
    """low + (high − low) · unit, unit = the word's top 53 bits / 2^53, rounded half to even at
    ``decimals`` as NumPy rounds: the value times 10^decimals, to the nearest whole number
    keeping its sign (a small negative value becomes −0.0), divided back."""
    scale = 10**decimals
    units = [(w >> 11) / 2**53 for w in reference_words(key, count, first)]  # exact: 53-bit integers
    values = [(low + (high - low) * u) * scale for u in units]
    return [math.copysign(round(v) / scale, v) for v in values]
