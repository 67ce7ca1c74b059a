"""Synchronised batch norm: the statistics of the whole global batch instead of each rank's
shard (off by default, as in Keras and PyTorch; ``DataParallel(sync_batch_norm=True)``).

Forward (training): one float64 allreduce per layer of [sum x, sum x^2, rows] per channel gives
the global mean and biased variance; the moving statistics are updated from them, so they stay
identical on every rank. Backward: one allreduce of [sum dy, sum dy * x_hat] per channel gives
the global terms of batch norm's input gradient,

    dx = gamma * invstd * (dy - sum(dy) / N - x_hat * sum(dy * x_hat) / N),

while gamma's and beta's gradients stay this rank's part (the gradient buckets sum them).
A rank whose shard of a batch is empty still takes part, with zeros (``empty_step``).
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..layers.normalization import BatchNormalization

__all__ = ["SyncBatchNorm", "attach_sync_batch_norm", "detach_sync_batch_norm", "empty_step"]


class SyncBatchNorm:
    """The cross-rank forward and backward of one BatchNormalization layer (its ``_sync``)."""

    def __init__(self, comm):
        self.comm = comm

    def forward(self, layer, x, gamma, beta, out):
        xp = backend.array_module(x)
        c = x.shape[-1]
        x2 = x.reshape(-1, c)
        x64 = x2.astype(np.float64)
        buf = xp.concatenate([x64.sum(axis=0), (x64 * x64).sum(axis=0),
                              xp.asarray([float(x2.shape[0])], dtype=np.float64)])
        global_stats(self.comm, layer, buf)
        out[...] = (x - layer._save_mean) * (layer._save_invstd * gamma) + beta
        return out

    def backward(self, layer, x, dy, gamma, out):
        xp = backend.array_module(dy)
        c = dy.shape[-1]
        xhat = (x - layer._save_mean) * layer._save_invstd
        dy2, xhat2 = dy.reshape(-1, c), xhat.reshape(-1, c)
        dbeta = dy2.sum(axis=0, dtype=np.float64)
        dgamma = (dy2 * xhat2).sum(axis=0, dtype=np.float64)
        buf = xp.concatenate([dbeta, dgamma])
        self.comm.allreduce(buf, f"sync batch norm backward of {layer.name}")
        rows = layer._global_rows
        mean_dy = (buf[:c] / rows).astype(np.float32)
        mean_dyxhat = (buf[c:] / rows).astype(np.float32)
        out[...] = (gamma * layer._save_invstd) * (dy - mean_dy - xhat * mean_dyxhat)
        return out, dgamma.astype(np.float32), dbeta.astype(np.float32)


def global_stats(comm, layer, buf):
    """Sum ``buf`` = [sum x, sum x^2, rows] over the ranks; set the layer's global mean, invstd
    and row count for the step and update its moving statistics."""
    comm.allreduce(buf, f"sync batch norm forward of {layer.name}")
    xp = backend.array_module(buf)
    c = (buf.shape[0] - 1) // 2
    rows = buf[-1]
    mean = buf[:c] / rows
    var = xp.maximum(buf[c:2 * c] / rows - mean * mean, 0.0)
    invstd = 1.0 / xp.sqrt(var + layer.epsilon)
    layer._save_mean, layer._save_invstd = mean.astype(np.float32), invstd.astype(np.float32)
    layer._global_rows = float(rows)
    m = np.float32(layer.momentum)
    moving_mean, moving_var = layer.moving_mean.value, layer.moving_variance.value
    moving_mean[...] = moving_mean * m + backend.to_device(mean.astype(np.float32), layer.device) * (1 - m)
    moving_var[...] = moving_var * m + backend.to_device(var.astype(np.float32), layer.device) * (1 - m)


def attach_sync_batch_norm(model, comm):
    """Switch ``model``'s BatchNormalization layers to synchronised statistics; returns them."""
    layers = [l for l in model.layers if isinstance(l, BatchNormalization)]
    sync = SyncBatchNorm(comm)
    for layer in layers:
        layer._sync = sync
    return layers


def detach_sync_batch_norm(layers):
    for layer in layers:
        layer._sync = None


def empty_step(layers, comm, forward=True, backward=True):
    """Take part, with zeros, in the sync-BN collectives of a step whose shard is empty: every
    layer's forward in order (``forward``), then every layer's backward in reverse order
    (``backward``), in the order the other ranks' passes call them."""
    for layer in layers if forward else []:
        xp = backend.array_module(layer.moving_mean.value)
        c = layer.moving_mean.value.shape[0]
        global_stats(comm, layer, xp.zeros(2 * c + 1, dtype=np.float64))
    if backward:
        for layer in reversed(layers):
            xp = backend.array_module(layer.moving_mean.value)
            c = layer.moving_mean.value.shape[0]
            comm.allreduce(xp.zeros(2 * c, dtype=np.float64), f"sync batch norm backward of {layer.name}")
