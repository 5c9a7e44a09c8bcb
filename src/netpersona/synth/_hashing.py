"""Counter-based randomness: 64-bit hashes of ids, so a URL's text depends on nothing else."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def mix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser of each element (uint64 in, well-mixed uint64 out)."""
    z = np.asarray(x, dtype=np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def uniform01(h: np.ndarray) -> np.ndarray:
    """A uniform float in [0, 1) from each hash (its top 53 bits)."""
    return (mix64(h) >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


def hex_strings(h: np.ndarray, width: int) -> pa.StringArray:
    """The low ``width`` hex digits of each hash, as an Arrow string array (no Python loop)."""
    n = len(h)
    shifts = np.arange(width - 1, -1, -1, dtype=np.uint64) * np.uint64(4)
    digits = ((np.asarray(h, dtype=np.uint64)[:, None] >> shifts) & np.uint64(15)).astype(np.intp)
    data = _HEX[digits].tobytes()
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    return pa.Array.from_buffers(
        pa.string(), n, [None, pa.py_buffer(offsets.tobytes()), pa.py_buffer(data)]
    )
