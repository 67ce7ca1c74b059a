"""One data-parallel ``fit``: what the trainer asks of a strategy while it trains.

:class:`ParallelFit` is created when fit starts (before the first step):
1. checks that every rank has the same model, optimizer, loss and data sizes (MismatchError);
2. makes every rank start from rank 0's state: weights (non-trainable too), optimizer slots,
   and the random generator that draws the shuffles;
3. binds the gradients to buckets (:mod:`.buckets`).

Per step the trainer calls ``start_stats`` (the shard's loss and metric sums, reduced by a small
float64 allreduce while the backward pass runs), ``loss_scale`` (scales dL/dy so the summed
gradient is the global batch's mean: shard rows / global rows, right for a last partial batch
too), ``layer_done`` (from the backward pass), ``finish`` (waits for the buckets) and then, after
the optimizer step, ``after_step`` (averages the non-trainable weights, e.g. per-rank batch-norm
moving statistics, so that every rank keeps identical weights).
"""
from __future__ import annotations

import time

import numpy as np

from .. import backend
from .buckets import GradientBuckets
from .checks import check_same, signature
from .sync_bn import attach_sync_batch_norm, detach_sync_batch_norm, empty_step

__all__ = ["ParallelFit", "reduce_totals"]


def reduce_totals(comm, sums, counts, seen, what):
    """(sums, counts, seen) of BatchTotals summed over the ranks (one float64 allreduce); counts:
    how many values each sum holds (samples, or batches for a per-batch metric)."""
    if comm.size == 1:
        return sums, counts, seen
    xp = backend.array_module(sums)
    k = len(counts)
    buf = xp.concatenate([sums, xp.asarray([*map(float, counts), float(seen)], dtype=np.float64)])
    comm.allreduce(buf, what)
    host = backend.to_numpy(buf[k:])
    return buf[:k], [int(round(float(c))) for c in host[:-1]], int(round(float(host[-1])))


class ParallelFit:
    def __init__(self, strategy, model, **fields):
        self.comm = comm = strategy.comm
        if comm.device == "cuda" and model.device != "cuda":
            raise ValueError(f"distribute: the {comm.engine} engine moves GPU arrays; the model is on "
                             f"{model.device!r} (model.to('cuda'), or engine='mpi')")
        self.rank, self.size = comm.rank, comm.size
        self.model = model
        check_same(comm, signature(model, **fields))
        if self.size > 1:
            self._broadcast_state(backend.rng())
        self.buckets = GradientBuckets(model, comm, strategy.bucket_bytes)
        self._synced_bn = attach_sync_batch_norm(model, comm) if strategy.sync_batch_norm else []
        self._averaged = [w for w in model.non_trainable_weights
                          if not any(w in layer.weights for layer in self._synced_bn)]
        self.step = 0
        self.strategy = strategy
        self.wait_seconds = 0.0  # time the steps spent waiting for the gradient allreduces
        self.bytes_per_step = sum(self.buckets.sizes) * 4

    def _broadcast_state(self, rng):
        model = self.model
        for w in model.weights:
            self.comm.bcast(w.value, f"broadcast of rank 0's weight {w.name}")
        for pair in model.optimizer._slots:
            for s in pair:
                if s is not None:
                    self.comm.bcast(s, "broadcast of rank 0's optimizer state")
        rng.bit_generator.state = self.comm.bcast_object(rng.bit_generator.state,
                                                         "broadcast of rank 0's random generator")

    def close(self):
        detach_sync_batch_norm(self._synced_bn)
        self.strategy.last_fit = {"steps": self.step, "wait_seconds": self.wait_seconds,
                                  "bytes_per_step": self.bytes_per_step, "buckets": list(self.buckets.sizes)}

    # ----------------------------------------------------------- a step
    def start_stats(self, sums, rows):
        """Start the sum over the ranks of this shard's [loss sum, metric sums..., rows]
        (a float64 device vector); returns the handle for ``finish``."""
        xp = backend.array_module(sums)
        self._stats = xp.concatenate([sums, xp.asarray([float(rows)], dtype=np.float64)])
        return self.comm.allreduce_start(self._stats)

    @staticmethod
    def loss_scale(rows, global_rows):
        return np.float32(rows / global_rows)

    def empty_forward(self):
        """This rank has no rows of the batch (a last batch smaller than the rank count): it
        takes part in the forward pass's sync-BN collectives with zeros (call before
        ``start_stats``, where the other ranks' forward pass is)."""
        if self._synced_bn:
            empty_step(self._synced_bn, self.comm, forward=True, backward=False)

    def empty_backward(self):
        """... then in the backward pass's, and adds zero gradients (after ``start_stats``)."""
        if self._synced_bn:
            empty_step(self._synced_bn, self.comm, forward=False, backward=True)
        self.buckets.zero()

    def layer_done(self, index):
        self.buckets.layer_done(index)

    def finish(self, stats_handle):
        """Wait for the gradient buckets and the stats; returns (sums, global rows)."""
        t0 = time.perf_counter()
        self.buckets.finish(self.step)
        self.wait_seconds += time.perf_counter() - t0
        self.comm.wait(stats_handle, f"allreduce of the loss and metrics at step {self.step}")
        return self._stats[:-1], int(round(float(self._stats[-1])))

    def after_step(self):
        if self.size > 1 and self._averaged:
            xp = backend.xp(self.model.device)
            flat = xp.concatenate([w.value.reshape(-1) for w in self._averaged])
            self.comm.allreduce(flat, f"average of the non-trainable weights at step {self.step}")
            flat *= np.float32(1.0 / self.size)
            offset = 0
            for w in self._averaged:
                n = w.value.size
                w.value[...] = flat[offset:offset + n].reshape(w.value.shape)
                offset += n
        self.step += 1
