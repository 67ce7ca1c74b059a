"""Plain-NumPy reference of every op in :mod:`cudnn_lite.ops`.

Check a kernel against this module. Every function has the name and the
arguments of its twin in ``cudnn_lite.ops`` (minus ``out=``), is written
directly from the definitions (loops over kernel offsets / pooling windows, no
im2col, no cleverness) and never calls the compiled module: its padding and
output-size rules are its own, so they check the binding's. Only the enum names
(``ACTIVATIONS``, ``LOSSES``, ``OPTIMIZERS``, ``FILL_MODES``) come from the
binding's tables (``cudnn_lite._C``, read when first used, so this module imports
without the extension). Functions keep the dtype of their inputs, so the tests
run them in float64 and compare the float32 kernels against that.

Semantics (Keras's, channels-last):

* images NHWC, conv kernels HWIO ``(kh, kw, c, k)``, dense kernels ``(in, out)``.
* padding ``'valid'``, ``'same'`` or explicit ``(top, bottom, left, right)``.
  ``'same'``: ``out = ceil(in / stride)``,
  ``pad_total = max((out - 1) * stride + k - in, 0)``, ``top = pad_total // 2``,
  the extra row/column goes to the bottom/right.
* max pooling: padded cells never win; the backward sends each window's
  gradient to the FIRST maximum in row-major window order (ties).
* average pooling divides by the number of non-padded cells in the window.
* losses (``p`` predictions, ``t`` targets, ``(rows, cols)``), ``eps = 1e-7``:
  categorical cross-entropy ``-sum t log clip(p / sum(p), eps, 1 - eps)``;
  binary cross-entropy ``mean_cols -(t log p + (1 - t) log(1 - p))`` with ``p``
  clipped the same way (float32 bounds: ``1 - eps`` is 0.99999988); mse / mae the mean over the last axis. The gradient of a
  clip is zero where the value was clipped (strictly outside ``[eps, 1 - eps]``).
  ``loss_backward`` is the gradient of the MEAN over the batch of the per-row losses.
* batch norm: batch mean and biased variance over every axis but the last,
  ``eps = 1e-3``, ``moving = moving * momentum + batch * (1 - momentum)``,
  ``momentum = 0.99`` (the moving variance also uses the biased variance).
  Unlike the kernel, :func:`batchnorm_forward_train` does NOT update
  ``moving_mean``/``moving_var`` in place: it returns the new values.
* dropout: element ``i`` is kept iff ``philox_uniform(seed, offset + i) >= rate``
  (Philox4x32-10 of csrc/common/philox.h, re-implemented here in vectorised NumPy);
  kept elements are scaled by ``1 / (1 - rate)``. ``rate`` is rounded to float32
  before the comparison, as the C++ signature (``float rate``) does.
* affine_transform: output pixel ``(r, col)`` of image ``i`` samples ``x[i]`` at
  ``src_r = m0 r + m1 col + m2``, ``src_c = m3 r + m4 col + m5`` (``matrices`` is
  ``(n, 6)``; scipy.ndimage.affine_transform's convention), clamped to ``+-2**30``;
  bilinear: cells ``floor(src) + {0, 1}`` per axis with weights ``1 - f`` and ``f``; a
  cell outside the image reads the edge ('nearest'), ``cval`` ('constant'), its
  half-sample mirror ('reflect') or its periodic copy ('wrap'). Taps of weight exactly 0
  are skipped (identity and flip matrices copy exactly, Inf/NaN neighbours included);
  a NaN source coordinate gives NaN pixels.
* optimizers: :func:`optimizer_update` returns NEW ``(param, slot1, slot2)``
  following the rules in the comment of ``OptimizerStep`` (csrc/cudnn_lite.h);
  the inputs are not modified.
"""
from __future__ import annotations

import numbers

import numpy as np

__all__ = [
    "ACTIVATIONS", "LOSSES", "OPTIMIZERS", "LOSS_EPSILON", "LOSS_CLIP_HIGH",
    "conv_padding", "pool_padding", "conv_output_shape", "pool_output_shape",
    "sgemm", "dense_forward", "dense_backward", "bias_backward",
    "conv2d_forward", "conv2d_backward_data", "conv2d_backward_filter",
    "maxpool2d_forward", "maxpool2d_backward", "avgpool2d_forward", "avgpool2d_backward",
    "global_avgpool2d_forward", "global_avgpool2d_backward",
    "activation_forward", "activation_backward",
    "softmax_forward", "softmax_backward",
    "loss_forward", "loss_backward", "softmax_cross_entropy_backward",
    "batchnorm_forward_train", "batchnorm_forward_inference", "batchnorm_backward",
    "dropout_forward", "dropout_backward", "dropout_mask", "philox4x32_10", "philox_uniform",
    "optimizer_update", "adam_scalars", "nadam_scalars",
    "FILL_MODES", "affine_transform",
]

_ENUM_TABLES = ("ACTIVATIONS", "LOSSES", "OPTIMIZERS", "FILL_MODES")


def __getattr__(name):
    """ACTIVATIONS, LOSSES, OPTIMIZERS, FILL_MODES: the names (a tuple, in value order) of the
    enums of csrc/cudnn_lite.h, from the binding's tables, where they are written once."""
    if name in _ENUM_TABLES:
        from cudnn_lite import _C  # names only: nothing here calls a kernel
        return tuple(getattr(_C, name))
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# The clip bounds are the float32 values Keras computes with float32 tensors:
# eps = float32(1e-7) and 1 - eps = 0.99999988 (float32(1) - float32(1e-7)), also
# when this reference runs in float64.
LOSS_EPSILON = float(np.float32(1e-7))
LOSS_CLIP_HIGH = float(np.float32(1.0) - np.float32(1e-7))


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


# ------------------------------------------------------------------ matmul

def sgemm(a, b, trans_a=False, trans_b=False, alpha=1.0, beta=0.0, c=None):
    """alpha * op(a) @ op(b) + beta * c. ``c`` (the kernel's ``out``) is read only when beta != 0."""
    opa = a.T if trans_a else a
    opb = b.T if trans_b else b
    result = alpha * (opa @ opb)
    if beta != 0.0:
        result = result + beta * c
    return result


def _act(x, activation, alpha):
    if activation is None or activation == "linear":
        return x.copy()
    if activation == "relu":
        return np.where(x > 0, x, 0).astype(x.dtype)
    if activation == "sigmoid":
        return 1 / (1 + np.exp(-x))
    if activation == "tanh":
        return np.tanh(x)
    if activation == "leaky_relu":
        return np.where(x > 0, x, alpha * x).astype(x.dtype)
    if activation == "step":
        return np.where(x >= 0, 1, 0).astype(x.dtype)
    raise ValueError(f"activation: unknown {activation!r}")


def dense_forward(x, w, b=None, activation="linear", alpha=0.0):
    """activation(x @ w + b); x (rows, in), w (in, out)."""
    acc = x @ w
    if b is not None:
        acc = acc + b
    return _act(acc, activation, alpha)


def bias_backward(dy):
    """Sum of dy over every axis but the last."""
    return dy.reshape(-1, dy.shape[-1]).sum(axis=0)


def dense_backward(x, w, dy, with_bias=True, need_dx=True):
    """(dx or None, dw, db or None) of y = x @ w + b."""
    dx = dy @ w.T if need_dx else None
    dw = x.T @ dy
    db = bias_backward(dy) if with_bias else None
    return dx, dw, db


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


# ------------------------------------------------------------- activations

def activation_forward(x, activation="relu", alpha=0.0):
    return _act(x, activation, alpha)


def activation_backward(x, y, dy, activation="relu", alpha=0.0):
    """dx from the forward input x and output y.

    Like TensorFlow's gradients, sigmoid and tanh use the forward OUTPUT y
    (dy * y * (1 - y), dy * (1 - y^2)); relu, leaky_relu use the input x.
    """
    if activation is None or activation == "linear":
        return dy.copy()
    if activation == "relu":
        return np.where(x > 0, dy, 0).astype(dy.dtype)
    if activation == "sigmoid":
        return dy * y * (1 - y)
    if activation == "tanh":
        return dy * (1 - y * y)
    if activation == "leaky_relu":
        return np.where(x > 0, dy, alpha * dy).astype(dy.dtype)
    if activation == "step":
        return np.zeros_like(dy)
    raise ValueError(f"activation: unknown {activation!r}")


def softmax_forward(x):
    """Softmax over the last axis."""
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def softmax_backward(y, dy):
    """dx = y * (dy - sum(dy * y)) over the last axis."""
    return y * (dy - (dy * y).sum(axis=-1, keepdims=True))


# ------------------------------------------------------------------ losses

def _clip_with_grad(p):
    """(clipped p, 1 where the clip passes the gradient, 0 where it clipped)."""
    lo, hi = LOSS_EPSILON, LOSS_CLIP_HIGH
    passes = ((p >= lo) & (p <= hi)).astype(p.dtype)
    return np.clip(p, lo, hi), passes


def loss_forward(p, t, loss="categorical_crossentropy"):
    """Per-row loss (rows,) of predictions p against targets t, both (rows, cols)."""
    if loss == "categorical_crossentropy":
        q, _ = _clip_with_grad(p / p.sum(axis=-1, keepdims=True))
        return -(t * np.log(q)).sum(axis=-1)
    if loss == "binary_crossentropy":
        q, _ = _clip_with_grad(p)
        return (-(t * np.log(q) + (1 - t) * np.log(1 - q))).mean(axis=-1)
    if loss == "mse":
        return ((p - t) ** 2).mean(axis=-1)
    if loss == "mae":
        return np.abs(p - t).mean(axis=-1)
    raise ValueError(f"loss: unknown {loss!r}")


def loss_backward(p, t, loss="categorical_crossentropy"):
    """Gradient of mean(loss_forward(p, t)) with respect to p."""
    rows, cols = p.shape
    if loss == "categorical_crossentropy":
        s = p.sum(axis=-1, keepdims=True)
        q = p / s
        qc, passes = _clip_with_grad(q)
        dq = -t / qc * passes                      # d loss / d q
        # q_j = p_j / s: d q_j / d p_k = delta_jk / s - p_j / s^2
        dp = dq / s - (dq * p).sum(axis=-1, keepdims=True) / s ** 2
        return dp / rows
    if loss == "binary_crossentropy":
        q, passes = _clip_with_grad(p)
        return -(t / q - (1 - t) / (1 - q)) * passes / cols / rows
    if loss == "mse":
        return 2 * (p - t) / cols / rows
    if loss == "mae":
        return np.sign(p - t) / cols / rows
    raise ValueError(f"loss: unknown {loss!r}")


def softmax_cross_entropy_backward(p, t):
    """(p - t) / rows, p = softmax(logits)."""
    return (p - t) / p.shape[0]


# ------------------------------------------------------------- batch norm

def batchnorm_forward_train(x, gamma, beta, moving_mean, moving_var, momentum=0.99, epsilon=1e-3):
    """Returns (y, save_mean, save_invstd, new_moving_mean, new_moving_var).

    The inputs are not modified (the kernel updates moving_mean/moving_var in
    place; here the updated values are returned instead).
    """
    c = x.shape[-1]
    x2 = x.reshape(-1, c)
    mean = x2.mean(axis=0)
    var = ((x2 - mean) ** 2).mean(axis=0)  # biased
    invstd = 1 / np.sqrt(var + epsilon)
    y = (gamma * (x2 - mean) * invstd + beta).reshape(x.shape)
    new_mean = moving_mean * momentum + mean * (1 - momentum)
    new_var = moving_var * momentum + var * (1 - momentum)
    return y, mean, invstd, new_mean, new_var


def batchnorm_forward_inference(x, gamma, beta, moving_mean, moving_var, epsilon=1e-3):
    return gamma * (x - moving_mean) / np.sqrt(moving_var + epsilon) + beta


def batchnorm_backward(x, dy, gamma, save_mean, save_invstd):
    """(dx, dgamma, dbeta) of the training-mode forward (mean and var depend on x)."""
    c = x.shape[-1]
    x2 = x.reshape(-1, c)
    dy2 = dy.reshape(-1, c)
    rows = x2.shape[0]
    xhat = (x2 - save_mean) * save_invstd
    dbeta = dy2.sum(axis=0)
    dgamma = (dy2 * xhat).sum(axis=0)
    dx = gamma * save_invstd / rows * (rows * dy2 - dbeta - xhat * dgamma)
    return dx.reshape(x.shape), dgamma, dbeta


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


# -------------------------------------------------------------- optimizers

def optimizer_update(kind, param, grad, slot1=None, slot2=None, *, lr, momentum=0.0, nesterov=False,
                     rho=0.9, beta1=0.9, beta2=0.999, epsilon=1e-7, l2=0.0, c1=0.0, c2=0.0, c3=0.0):
    """One step of rule ``kind``; returns NEW (param, slot1, slot2) (None for unused slots)."""
    p = np.array(param, copy=True)
    s1 = None if slot1 is None else np.array(slot1, copy=True)
    s2 = None if slot2 is None else np.array(slot2, copy=True)
    g = grad + 2 * l2 * param
    if kind == "sgd":
        if momentum == 0:
            p = p - lr * g
        else:
            s1 = momentum * s1 - lr * g
            p = p + (momentum * s1 - lr * g if nesterov else s1)
    elif kind == "adagrad":
        s1 = s1 + g * g
        p = p - lr * g / np.sqrt(s1 + epsilon)
    elif kind == "rmsprop":
        s1 = rho * s1 + (1 - rho) * g * g
        inc = lr * g / np.sqrt(s1 + epsilon)
        if momentum == 0:
            p = p - inc
        else:
            s2 = momentum * s2 + inc
            p = p - s2
    elif kind == "adadelta":
        s1 = rho * s1 + (1 - rho) * g * g
        d = np.sqrt(s2 + epsilon) / np.sqrt(s1 + epsilon) * g
        s2 = rho * s2 + (1 - rho) * d * d
        p = p - lr * d
    elif kind == "adam":
        s1 = s1 + (g - s1) * (1 - beta1)
        s2 = s2 + (g * g - s2) * (1 - beta2)
        p = p - c1 * s1 / (np.sqrt(s2) + epsilon)
    elif kind == "nadam":
        s1 = s1 + (g - s1) * (1 - beta1)
        s2 = s2 + (g * g - s2) * (1 - beta2)
        m_hat = c1 * s1 + c2 * g
        v_hat = c3 * s2
        p = p - lr * m_hat / (np.sqrt(v_hat) + epsilon)
    else:
        raise ValueError(f"kind: unknown {kind!r}")
    return p, s1, s2


def adam_scalars(lr, beta1, beta2, t):
    """c1 of step t (1-based) for optimizer_update('adam', ...)."""
    return {"c1": lr * np.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)}


def nadam_scalars(beta1, beta2, t, decay=0.96):
    """c1, c2, c3 of step t (1-based) for optimizer_update('nadam', ...), Keras 3 schedule."""
    mu = lambda s: beta1 * (1 - 0.5 * decay ** s)  # noqa: E731  (Keras 3; Keras 2 had decay ** (0.004 * s))
    prod_t = np.prod([mu(s) for s in range(1, t + 1)])
    prod_t1 = prod_t * mu(t + 1)
    return {"c1": mu(t + 1) / (1 - prod_t1), "c2": (1 - mu(t)) / (1 - prod_t), "c3": 1 / (1 - beta2 ** t)}


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
