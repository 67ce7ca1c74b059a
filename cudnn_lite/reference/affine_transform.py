"""affine_transform: bilinear resampling with Keras's fill modes."""
from __future__ import annotations

import numpy as np

# ------------------------------------------------------- affine_transform

AFFINE_COORD_LIMIT = 2.0 ** 30


def _reflect_index(idx, size):  # half-sample symmetric: d c b a | a b c d | d c b a
    m = np.mod(idx, 2 * size)
    return np.where(m < size, m, 2 * size - 1 - m), None


# fill mode -> (integer source indices, size) -> (indices in [0, size), an 'inside' mask for
# 'constant', None for the other modes)
_FILL_INDEX = {
    "nearest": lambda idx, size: (np.clip(idx, 0, size - 1), None),
    "constant": lambda idx, size: (np.clip(idx, 0, size - 1), (idx >= 0) & (idx < size)),  # then cval
    "reflect": _reflect_index,
    "wrap": lambda idx, size: (np.mod(idx, size), None),
}


def _fill_index(idx, size, mode):
    return _FILL_INDEX[mode](idx, size)


def affine_transform(x, matrices, fill_mode="nearest", cval=0.0):
    """Resample each image of ``x`` (n, h, w, c) through ``matrices[i]`` (n, 6), bilinearly.

    Computes in the wider of the two dtypes (float64 for float64 inputs); returns
    x's dtype (float32 for integer images).
    """
    if fill_mode not in _FILL_INDEX:
        raise ValueError(f"fill_mode: expected one of {tuple(_FILL_INDEX)}, got {fill_mode!r}")
    x = np.asarray(x)
    n, h, w, c = x.shape
    dt = np.result_type(x.dtype if x.dtype.kind == "f" else np.float32, np.asarray(matrices).dtype)
    m = np.asarray(matrices, dtype=dt).reshape(n, 6)
    r, col = np.meshgrid(np.arange(h, dtype=dt), np.arange(w, dtype=dt), indexing="ij")
    r, col = r.ravel()[None], col.ravel()[None]                              # (1, h*w)
    src_r = m[:, 0:1] * r + m[:, 1:2] * col + m[:, 2:3]                     # (n, h*w)
    src_c = m[:, 3:4] * r + m[:, 4:5] * col + m[:, 5:6]
    nan = np.isnan(src_r) | np.isnan(src_c)
    with np.errstate(invalid="ignore"):
        src_r = np.clip(np.where(nan, 0, src_r), -AFFINE_COORD_LIMIT, AFFINE_COORD_LIMIT)
        src_c = np.clip(np.where(nan, 0, src_c), -AFFINE_COORD_LIMIT, AFFINE_COORD_LIMIT)
    r0, c0 = np.floor(src_r), np.floor(src_c)
    fr, fc = src_r - r0, src_c - c0
    r0, c0 = r0.astype(np.int64), c0.astype(np.int64)
    b = np.repeat(np.arange(n), h * w).reshape(n, h * w)
    out = np.zeros((n, h * w, c), dtype=dt)
    for dr, wr in ((0, 1 - fr), (1, fr)):
        ri, rin = _fill_index(r0 + dr, h, fill_mode)
        for dc, wc in ((0, 1 - fc), (1, fc)):
            ci, cin = _fill_index(c0 + dc, w, fill_mode)
            v = x[b, ri, ci].astype(dt)                                      # (n, h*w, c)
            if rin is not None:
                v = np.where((rin & cin)[..., None], v, dt.type(cval))
            wt = (wr * wc)[..., None]
            with np.errstate(invalid="ignore"):
                out += np.where(wt != 0, wt * v, 0)  # a zero weight never meets an Inf/NaN
    out[nan] = np.nan
    return out.reshape(n, h, w, c).astype(x.dtype if x.dtype.kind == "f" else np.float32)
