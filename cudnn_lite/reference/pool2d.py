"""Max, average and global average pooling; the max gradient goes to the first maximum."""
from __future__ import annotations

import numpy as np

from .conv2d import _window
from .geometry import _as_pair, _out_size, _resolve_padding

# ----------------------------------------------------------------- pooling

def _pool_geometry(x_shape, pool_size, strides, padding):
    n, h, w, c = x_shape
    ph, pw = _as_pair(pool_size)
    sh, sw = _as_pair(pool_size if strides is None else strides)
    t, b, l, r = _resolve_padding(h, w, ph, pw, sh, sw, padding)
    return ph, pw, sh, sw, t, b, l, r, _out_size(h, ph, sh, t, b), _out_size(w, pw, sw, l, r)


def maxpool2d_forward(x, pool_size=2, strides=None, padding="valid"):
    """Max over each window; padded cells are -inf (never win)."""
    ph, pw, sh, sw, t, b, l, r, oh, ow = _pool_geometry(x.shape, pool_size, strides, padding)
    xp = np.pad(x, ((0, 0), (t, b), (l, r), (0, 0)), constant_values=-np.inf)
    y = np.full((x.shape[0], oh, ow, x.shape[3]), -np.inf, dtype=x.dtype)
    for i in range(ph):
        for j in range(pw):
            rows, cols = _window(sh, sw, i, j, oh, ow)
            y = np.maximum(y, xp[:, rows, cols, :])
    return y


def maxpool2d_backward(x, dy, pool_size=2, strides=None, padding="valid"):
    """dx: each window's dy goes to its FIRST maximum in row-major (i, then j) order."""
    ph, pw, sh, sw, t, b, l, r, oh, ow = _pool_geometry(x.shape, pool_size, strides, padding)
    xp = np.pad(x, ((0, 0), (t, b), (l, r), (0, 0)), constant_values=-np.inf)
    best = np.full(dy.shape, -np.inf, dtype=x.dtype)
    best_offset = np.full(dy.shape, -1, dtype=np.int64)
    for i in range(ph):
        for j in range(pw):
            rows, cols = _window(sh, sw, i, j, oh, ow)
            v = xp[:, rows, cols, :]
            better = v > best  # strict: a later equal value does not replace the first
            best = np.where(better, v, best)
            best_offset = np.where(better, i * pw + j, best_offset)
    dxp = np.zeros(xp.shape, dtype=np.result_type(x, dy))
    for i in range(ph):
        for j in range(pw):
            rows, cols = _window(sh, sw, i, j, oh, ow)
            dxp[:, rows, cols, :] += np.where(best_offset == i * pw + j, dy, 0)
    return dxp[:, t:t + x.shape[1], l:l + x.shape[2], :].copy()


def _avg_counts(h, w, ph, pw, sh, sw, t, b, l, r, oh, ow):
    ones = np.pad(np.ones((h, w)), ((t, b), (l, r)))
    counts = np.zeros((oh, ow))
    for i in range(ph):
        for j in range(pw):
            rows, cols = _window(sh, sw, i, j, oh, ow)
            counts += ones[rows, cols]
    return counts[None, :, :, None]


def avgpool2d_forward(x, pool_size=2, strides=None, padding="valid"):
    """Mean over the non-padded cells of each window."""
    ph, pw, sh, sw, t, b, l, r, oh, ow = _pool_geometry(x.shape, pool_size, strides, padding)
    xp = np.pad(x, ((0, 0), (t, b), (l, r), (0, 0)))
    total = np.zeros((x.shape[0], oh, ow, x.shape[3]), dtype=x.dtype)
    for i in range(ph):
        for j in range(pw):
            rows, cols = _window(sh, sw, i, j, oh, ow)
            total += xp[:, rows, cols, :]
    counts = _avg_counts(x.shape[1], x.shape[2], ph, pw, sh, sw, t, b, l, r, oh, ow)
    return (total / counts).astype(x.dtype)


def avgpool2d_backward(dy, x_shape, pool_size=2, strides=None, padding="valid"):
    n, h, w, c = (int(s) for s in x_shape)
    ph, pw, sh, sw, t, b, l, r, oh, ow = _pool_geometry((n, h, w, c), pool_size, strides, padding)
    counts = _avg_counts(h, w, ph, pw, sh, sw, t, b, l, r, oh, ow)
    share = (dy / counts).astype(dy.dtype)
    dxp = np.zeros((n, h + t + b, w + l + r, c), dtype=dy.dtype)
    for i in range(ph):
        for j in range(pw):
            rows, cols = _window(sh, sw, i, j, oh, ow)
            dxp[:, rows, cols, :] += share
    return dxp[:, t:t + h, l:l + w, :].copy()


def global_avgpool2d_forward(x):
    """x (n, h, w, c) -> (n, c)."""
    return x.mean(axis=(1, 2))


def global_avgpool2d_backward(dy, x_shape):
    n, h, w, c = (int(s) for s in x_shape)
    return np.broadcast_to((dy / (h * w))[:, None, None, :], (n, h, w, c)).copy()
