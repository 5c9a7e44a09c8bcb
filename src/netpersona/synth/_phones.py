"""Subscriber ids that look like Chinese mobile numbers: 11 digits, an operator prefix.

User ``i``'s number is a keyed permutation of ``i`` over all numbers of the prefixes, so the
numbers are distinct, depend only on (seed, i), and show no visible order.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from netpersona.synth._hashing import mix64

#: China Mobile's number blocks in 2013 (the paper's operator is unnamed; one operator's data).
PREFIXES = (134, 135, 136, 137, 138, 139, 147, 150, 151, 152, 157, 158, 159, 182, 183, 187, 188)
_SPACE = len(PREFIXES) * 10**8
_HALF_BITS = 16
_MASK = (1 << _HALF_BITS) - 1


def _feistel(x: np.ndarray, key: int) -> np.ndarray:
    """A keyed permutation of 32-bit integers (four Feistel rounds)."""
    left, right = x >> np.uint64(_HALF_BITS), x & np.uint64(_MASK)
    for r in range(4):
        f = mix64(right ^ np.uint64((key * 4 + r) & 0xFFFFFFFFFFFF)) & np.uint64(_MASK)
        left, right = right, left ^ f
    return (left << np.uint64(_HALF_BITS)) | right


def phone_numbers(first: int, count: int, seed: int) -> pa.StringArray:
    """Numbers of users ``first .. first+count-1`` for ``seed``."""
    if first + count > _SPACE:
        raise ValueError(f"at most {_SPACE:,} synthetic subscribers")
    x = np.arange(first, first + count, dtype=np.uint64)
    y = _feistel(x, seed)
    # cycle-walk: re-apply until the value falls inside the number space
    while (out := y >= np.uint64(_SPACE)).any():
        y[out] = _feistel(y[out], seed)
    prefix = np.array(PREFIXES, dtype=np.int64)[(y // np.uint64(10**8)).astype(np.int64)]
    number = prefix * 10**8 + (y % np.uint64(10**8)).astype(np.int64)
    return pc.cast(pa.array(number), pa.string())
