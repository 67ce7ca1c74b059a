"""Gradient buckets: the trainable weights' gradients as views into a few large flat buffers,
filled in the order the backward pass produces them, each summed over the ranks by one
nonblocking allreduce started as soon as its last layer's backward has run.

Layers write their gradients in place (``out=w.grad``), so pointing ``w.grad`` at a slice of a
bucket costs no copy. Buckets are cut at layer boundaries, in reverse layer order (the last
layer's gradients come first), when a bucket reaches ``bucket_bytes``.
"""
from __future__ import annotations

import numpy as np

from .. import backend

__all__ = ["GradientBuckets"]


class _Bucket:
    __slots__ = ("index", "flat", "first_layer", "handle")

    def __init__(self, index, flat, first_layer):
        self.index = index
        self.flat = flat
        self.first_layer = first_layer  # the lowest layer index: its backward completes the bucket
        self.handle = None


class GradientBuckets:
    """Binds ``model``'s gradients to flat buffers and reduces them through ``comm``."""

    def __init__(self, model, comm, bucket_bytes):
        if isinstance(bucket_bytes, bool) or not isinstance(bucket_bytes, (int, np.integer)) or bucket_bytes <= 0:
            raise ValueError(f"bucket_bytes: expected a positive int, got {bucket_bytes!r}")
        self.comm = comm
        xp = backend.xp(model.device)
        groups = []  # [(first layer index, [weights])], from the last layer down
        size = 0
        for i in range(len(model.layers) - 1, -1, -1):
            ws = model.layers[i].trainable_weights
            if not ws:
                continue
            if not groups or size * 4 >= bucket_bytes:
                groups.append([i, []])
                size = 0
            groups[-1][0] = i
            groups[-1][1].extend(ws)
            size += sum(int(np.prod(w.shape)) for w in ws)
        self.buckets = []
        self._by_layer = {}
        for k, (first, ws) in enumerate(groups):
            flat = xp.zeros(sum(int(np.prod(w.shape)) for w in ws), dtype=np.float32)
            offset = 0
            for w in ws:
                n = int(np.prod(w.shape))
                w.grad = flat[offset:offset + n].reshape(w.shape)
                offset += n
            bucket = _Bucket(k, flat, first)
            self.buckets.append(bucket)
            self._by_layer[first] = bucket
        self.sizes = [int(b.flat.size) for b in self.buckets]

    def layer_done(self, index):
        """The backward of layer ``index`` has written its gradients: start its bucket's allreduce
        if this layer completes one, and let the buckets already started progress."""
        bucket = self._by_layer.get(index)
        if bucket is not None and bucket.handle is None:
            bucket.handle = self.comm.allreduce_start(bucket.flat)
        for b in self.buckets:
            if b.handle is not None and b is not bucket:
                self.comm.test(b.handle)

    def finish(self, step):
        """Start what has not started, then wait for every bucket (CollectiveTimeout past the
        communicator's deadline). The gradients then hold the sums over the ranks."""
        for bucket in self.buckets:
            if bucket.handle is None:
                bucket.handle = self.comm.allreduce_start(bucket.flat)
        for bucket in self.buckets:
            handle, bucket.handle = bucket.handle, None
            self.comm.wait(handle, f"allreduce of gradient bucket {bucket.index} at step {step}")

    def zero(self):
        for bucket in self.buckets:
            bucket.flat[...] = 0
