"""Which samples of a global batch each rank takes: a contiguous, deterministic slice.

The user's ``batch_size`` is the global batch. Rank ``r`` of ``size`` takes rows
``[n * r // size, n * (r + 1) // size)`` of every global batch of ``n`` rows (the last, partial
batch included), so the shards of one batch differ by at most one row and concatenate, in rank
order, to the batch a single process would have used. The order of the global batches is the
single process's: every rank draws it from the same generator state (rank 0's, broadcast when
fit starts).
"""
from __future__ import annotations

import numpy as np

from .. import backend

__all__ = ["shard_bounds", "sharded_array_batches", "sharded_batches", "eval_shard"]


def shard_bounds(n, rank, size):
    """(start, stop) of rank ``rank``'s rows among ``n``."""
    return n * rank // size, n * (rank + 1) // size


def sharded_array_batches(x, y, batch_size, shuffle, rng, buffers, rank, size):
    """Like models.data.array_batches, but yields (x_shard, y_shard, global batch rows): only
    this rank's rows of each global batch are gathered."""
    xp = backend.array_module(x)
    n = x.shape[0]
    if shuffle:
        order = backend.to_device(rng.permutation(n).astype(np.int64), backend.device_of(x))
    for start in range(0, n, batch_size):
        rows = min(start + batch_size, n) - start
        lo, hi = shard_bounds(rows, rank, size)
        lo, hi = start + lo, start + hi
        if not shuffle:
            yield x[lo:hi], y[lo:hi], rows
            continue
        idx = order[lo:hi]
        xb = buffers.get("xb", (hi - lo,) + x.shape[1:], like=x)
        yb = buffers.get("yb", (hi - lo,) + y.shape[1:], like=y)
        if hi > lo:
            _gather(xp, x, idx, xb)
            _gather(xp, y, idx, yb)
        yield xb, yb, rows


def _gather(xp, a, idx, out):
    if xp is np:
        np.take(a, idx, axis=0, out=out, mode="clip")
    else:
        xp.take(a, idx, axis=0, out=out)


def sharded_batches(batches, rank, size):
    """This rank's shard of each (x, y) global batch of ``batches`` (a Sequence's or a
    generator's: every rank reads the same global batch), as (x_shard, y_shard, rows)."""
    for xb, yb in batches:
        rows = int(xb.shape[0])
        lo, hi = shard_bounds(rows, rank, size)
        yield xb[lo:hi], yb[lo:hi], rows


def eval_shard(val, rank, size):
    """This rank's part of validation data: a contiguous slice of (x, y) device arrays, or a
    list of a Sequence's item indices (every size-th)."""
    if isinstance(val, tuple):
        x, y = val
        lo, hi = shard_bounds(x.shape[0], rank, size)
        return x[lo:hi], y[lo:hi]
    return _SequenceShard(val, rank, size)


class _SequenceShard:
    """Items rank, rank + size, ... of a Sequence."""

    def __init__(self, seq, rank, size):
        self.seq, self.rank, self.size = seq, rank, size

    def __len__(self):
        return len(range(self.rank, len(self.seq), self.size))

    def __getitem__(self, i):
        return self.seq[self.rank + i * self.size]
