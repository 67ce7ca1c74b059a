"""Dropout: the Philox4x32-10 keep-mask of csrc/common/philox.h, in vectorised NumPy."""
from __future__ import annotations

import numpy as np

# ----------------------------------------------------------------- dropout

_M32 = np.uint64(0xFFFFFFFF)


def philox4x32_10(counter, seed):
    """Philox4x32-10 of csrc/common/philox.h: counter (array of uint64, high 64 bits zero), key seed.

    Returns the four 32-bit output words as a (4, len(counter)) uint64 array.
    """
    counter = np.asarray(counter, dtype=np.uint64)
    seed = int(seed) & 0xFFFFFFFFFFFFFFFF
    c0 = counter & _M32
    c1 = counter >> np.uint64(32)
    c2 = np.zeros_like(c0)
    c3 = np.zeros_like(c0)
    k0 = seed & 0xFFFFFFFF
    k1 = (seed >> 32) & 0xFFFFFFFF
    for _ in range(10):
        p0 = np.uint64(0xD2511F53) * c0  # < 2^64: no overflow
        p1 = np.uint64(0xCD9E8D57) * c2
        hi0, lo0 = p0 >> np.uint64(32), p0 & _M32
        hi1, lo1 = p1 >> np.uint64(32), p1 & _M32
        c0, c1, c2, c3 = hi1 ^ c1 ^ np.uint64(k0), lo1, hi0 ^ c3 ^ np.uint64(k1), lo0
        k0 = (k0 + 0x9E3779B9) & 0xFFFFFFFF
        k1 = (k1 + 0xBB67AE85) & 0xFFFFFFFF
    return np.stack([c0, c1, c2, c3])


def philox_uniform(seed, index):
    """Uniform numbers in [0, 1) (float64, exact float32 values) for element indices."""
    index = np.asarray(index, dtype=np.uint64)
    words = philox4x32_10(index >> np.uint64(2), seed)
    word = np.take_along_axis(words, (index & np.uint64(3)).astype(np.int64)[None, :], axis=0)[0]
    return (word >> np.uint64(8)).astype(np.float64) / 16777216.0


def dropout_mask(shape, rate, seed, offset=0):
    """Boolean keep-mask of a dropout call: keep iff philox_uniform(seed, offset + i) >= rate."""
    size = int(np.prod(shape, dtype=np.int64))
    index = np.arange(size, dtype=np.uint64) + np.uint64(offset)
    rate32 = float(np.float32(rate))
    return (philox_uniform(seed, index) >= rate32).reshape(shape)


def dropout_forward(x, rate, seed, offset=0):
    keep = dropout_mask(x.shape, rate, seed, offset)
    return np.where(keep, x / (1 - rate), 0).astype(x.dtype)


def dropout_backward(dy, rate, seed, offset=0):
    keep = dropout_mask(dy.shape, rate, seed, offset)
    return np.where(keep, dy / (1 - rate), 0).astype(dy.dtype)
