"""Convolution: loops over kernel offsets, no im2col."""
from __future__ import annotations

import numpy as np

from .dense import _act
from .geometry import _as_pair, _out_size, _resolve_padding

# ------------------------------------------------------------- convolution

def _conv_geometry(x_shape, w_shape, strides, padding):
    n, h, wd, c = x_shape
    kh, kw, _, k = w_shape
    sh, sw = _as_pair(strides)
    t, b, l, r = _resolve_padding(h, wd, kh, kw, sh, sw, padding)
    oh = _out_size(h, kh, sh, t, b)
    ow = _out_size(wd, kw, sw, l, r)
    return sh, sw, t, b, l, r, oh, ow


def _window(sh, sw, i, j, oh, ow):
    """Slices of the padded input seen by kernel offset (i, j) at every output position."""
    return slice(i, i + sh * (oh - 1) + 1, sh), slice(j, j + sw * (ow - 1) + 1, sw)


def conv2d_forward(x, w, b=None, strides=1, padding="valid", activation="linear", alpha=0.0):
    """x (n, h, w, c), w (kh, kw, c, k) -> activation(cross-correlation + b) (n, oh, ow, k)."""
    sh, sw, t, bo, l, r, oh, ow = _conv_geometry(x.shape, w.shape, strides, padding)
    kh, kw, _, k = w.shape
    xp = np.pad(x, ((0, 0), (t, bo), (l, r), (0, 0)))
    y = np.zeros((x.shape[0], oh, ow, k), dtype=np.result_type(x, w))
    for i in range(kh):
        for j in range(kw):
            rows, cols = _window(sh, sw, i, j, oh, ow)
            y += xp[:, rows, cols, :] @ w[i, j]  # (n, oh, ow, c) @ (c, k)
    if b is not None:
        y = y + b
    return _act(y, activation, alpha)


def conv2d_backward_data(dy, w, x_shape, strides=1, padding="valid"):
    """dx (x_shape) of y = conv2d_forward(x, w) (linear, no bias) given dy."""
    n, h, wd, c = (int(s) for s in x_shape)
    sh, sw, t, bo, l, r, oh, ow = _conv_geometry((n, h, wd, c), w.shape, strides, padding)
    kh, kw = w.shape[:2]
    dxp = np.zeros((n, h + t + bo, wd + l + r, c), dtype=np.result_type(dy, w))
    for i in range(kh):
        for j in range(kw):
            rows, cols = _window(sh, sw, i, j, oh, ow)
            dxp[:, rows, cols, :] += dy @ w[i, j].T
    return dxp[:, t:t + h, l:l + wd, :].copy()


def conv2d_backward_filter(x, dy, w_shape, strides=1, padding="valid"):
    """dw (w_shape = (kh, kw, c, k)) of y = conv2d_forward(x, w) given dy."""
    kh, kw, c, k = (int(s) for s in w_shape)
    sh, sw, t, bo, l, r, oh, ow = _conv_geometry(x.shape, (kh, kw, c, k), strides, padding)
    xp = np.pad(x, ((0, 0), (t, bo), (l, r), (0, 0)))
    dw = np.zeros((kh, kw, c, k), dtype=np.result_type(x, dy))
    for i in range(kh):
        for j in range(kw):
            rows, cols = _window(sh, sw, i, j, oh, ow)
            dw[i, j] = np.einsum("nhwc,nhwk->ck", xp[:, rows, cols, :], dy)
    return dw
