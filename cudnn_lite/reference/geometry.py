"""Padding and output-size rules of the reference (its own, so they check the binding's)."""
from __future__ import annotations

import numbers

# ------------------------------------------------------------ padding helpers

def _as_pair(value):
    if isinstance(value, numbers.Integral):
        return int(value), int(value)
    a, b = value
    return int(a), int(b)


def _same_pads(size, window, stride):
    out = -(-size // stride)  # ceil(size / stride)
    total = max((out - 1) * stride + window - size, 0)
    top = total // 2
    return top, total - top


def _resolve_padding(h, w, kh, kw, sh, sw, padding):
    if isinstance(padding, str):
        if padding.lower() == "valid":
            return (0, 0, 0, 0)
        if padding.lower() == "same":
            return _same_pads(h, kh, sh) + _same_pads(w, kw, sw)
        raise ValueError(f"padding: unknown mode {padding!r}")
    top, bottom, left, right = (int(p) for p in padding)
    return (top, bottom, left, right)


def _out_size(size, window, stride, before, after):
    padded = size + before + after
    if window > padded:
        raise ValueError(f"window {window} larger than padded input {padded}")
    return (padded - window) // stride + 1


def conv_padding(input_shape, kernel_size, strides=1, padding="valid"):
    """(top, bottom, left, right) for an NHWC input shape (or (h, w))."""
    h, w = (input_shape[-3], input_shape[-2]) if len(input_shape) >= 3 else input_shape
    kh, kw = _as_pair(kernel_size)
    sh, sw = _as_pair(strides)
    return _resolve_padding(int(h), int(w), kh, kw, sh, sw, padding)


pool_padding = conv_padding


def conv_output_shape(input_shape, filters, kernel_size, strides=1, padding="valid"):
    n, h, w, _ = input_shape
    kh, kw = _as_pair(kernel_size)
    sh, sw = _as_pair(strides)
    t, b, l, r = _resolve_padding(h, w, kh, kw, sh, sw, padding)
    return (n, _out_size(h, kh, sh, t, b), _out_size(w, kw, sw, l, r), filters)


def pool_output_shape(input_shape, pool_size, strides=None, padding="valid"):
    n, h, w, c = input_shape
    ph, pw = _as_pair(pool_size)
    sh, sw = _as_pair(pool_size if strides is None else strides)
    t, b, l, r = _resolve_padding(h, w, ph, pw, sh, sw, padding)
    return (n, _out_size(h, ph, sh, t, b), _out_size(w, pw, sw, l, r), c)
