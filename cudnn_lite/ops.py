"""Functional API over the compiled kernels (``cudnn_lite._C``).

Every function takes float32, C-contiguous arrays: NumPy arrays run the C++
CPU kernels, CuPy arrays the CUDA kernels (on CuPy's current stream; in the
emulated CUDA build, cudnn_lite.emulator arrays on the emulator's). Layouts
are channels-last like Keras: images NHWC, conv kernels HWIO, dense kernels
(in, out). Outputs are allocated on the input's device unless ``out=`` gives a
preallocated array of the right shape (the layer API reuses its buffers that
way). Backward functions return fresh gradients; they never accumulate.

Arguments are checked once, by the binding that builds the kernel's descriptor
(python/args.cpp, python/shapes.cpp): names of activations, losses, optimizers and
fill modes, strides, paddings, rates and seeds go to ``_C`` as given, and the
padding and output-shape rules below are the binding's. Errors are TypeError or
ValueError naming the argument.

The plain-NumPy twin of every function lives in :mod:`cudnn_lite.reference`.
"""
from __future__ import annotations

import numpy as np

from . import _C, backend

__all__ = [
    "ACTIVATIONS", "LOSSES", "OPTIMIZERS",
    "conv_padding", "pool_padding", "conv_output_shape", "pool_output_shape",
    "sgemm", "dense_forward", "dense_backward", "bias_backward",
    "conv2d_forward", "conv2d_backward_data", "conv2d_backward_filter",
    "maxpool2d_forward", "maxpool2d_backward", "avgpool2d_forward", "avgpool2d_backward",
    "global_avgpool2d_forward", "global_avgpool2d_backward",
    "activation_forward", "activation_backward",
    "softmax_forward", "softmax_backward",
    "loss_forward", "loss_backward", "softmax_cross_entropy_backward",
    "batchnorm_forward_train", "batchnorm_forward_inference", "batchnorm_backward",
    "dropout_forward", "dropout_backward",
    "optimizer_update",
    "FILL_MODES", "affine_transform",
]

# names -> the enum values of csrc/cudnn_lite.h (written once there, EnumNames), as the binding
# exports them; the functions below pass names straight to _C, which accepts a name or a value
ACTIVATIONS = dict(_C.ACTIVATIONS)
LOSSES = dict(_C.LOSSES)
OPTIMIZERS = dict(_C.OPTIMIZERS)
FILL_MODES = dict(_C.FILL_MODES)


# ----------------------------------------------------------------- helpers

def _xp(x):
    """numpy, or the CUDA device's array module (CuPy, or cudnn_lite.emulator), whichever owns x."""
    if isinstance(x, np.ndarray):
        return np
    if backend.is_device_array(x):
        return backend.xp("cuda")
    raise TypeError(f"expected a numpy.ndarray or cupy.ndarray, got {type(x).__name__}")


def _arrays(**named):
    """TypeError unless every argument is a NumPy or CuPy array, so that .shape can be read (the
    binding checks dtype, layout and device)."""
    for name, value in named.items():
        if not (isinstance(value, np.ndarray) or backend.is_device_array(value)):
            raise TypeError(f"{name}: expected a float32 numpy.ndarray or cupy.ndarray, got {type(value).__name__}")


def _out(out, like, shape, name="out"):
    """Return ``out`` after checking it, or a new float32 array on like's device."""
    shape = tuple(int(s) for s in shape)
    if out is None:
        return _xp(like).empty(shape, dtype=np.float32)
    if tuple(out.shape) != shape:
        raise ValueError(f"{name}: expected shape {shape}, got {tuple(out.shape)}")
    return out


def _pool_strides(pool_size, strides):
    return pool_size if strides is None else strides  # Keras: pooling strides default to the window


# The padding and output-size rules are the binding's (python/shapes.cpp, the ones the kernels'
# bindings check with); these apply them to an NHWC input shape.

def conv_padding(input_shape, kernel_size, strides=1, padding="valid"):
    """(top, bottom, left, right) for an NHWC input shape (or (h, w))."""
    h, w = input_shape[-3:-1] if len(input_shape) >= 3 else input_shape
    return _C.window_padding(int(h), int(w), kernel_size, strides, padding, "kernel_size")


pool_padding = conv_padding


def conv_output_shape(input_shape, filters, kernel_size, strides=1, padding="valid"):
    """Output shape (n, out_h, out_w, filters) of conv2d on NHWC input_shape."""
    n, h, w, _ = input_shape
    _, (oh, ow) = _C.window_geometry(int(h), int(w), kernel_size, strides, padding, "kernel_size")
    return (n, oh, ow, filters)


def pool_output_shape(input_shape, pool_size, strides=None, padding="valid"):
    n, h, w, c = input_shape
    _, (oh, ow) = _C.window_geometry(int(h), int(w), pool_size, _pool_strides(pool_size, strides), padding,
                                     "pool_size")
    return (n, oh, ow, c)


# ------------------------------------------------------------------ matmul

def sgemm(a, b, trans_a=False, trans_b=False, alpha=1.0, beta=0.0, out=None):
    """out = alpha * op(a) @ op(b) + beta * out; a and b 2-D; out read only when beta != 0."""
    _arrays(a=a, b=b)
    m, n = _C.matmul_output_shape(a.shape, b.shape, bool(trans_a), bool(trans_b))
    if beta != 0.0 and out is None:
        raise ValueError("sgemm: beta != 0 needs out= (the matrix to accumulate into)")
    out = _out(out, a, (m, n))
    _C.sgemm(a, b, out, bool(trans_a), bool(trans_b), float(alpha), float(beta))
    return out


def dense_forward(x, w, b=None, activation="linear", alpha=0.0, out=None):
    """y = activation(x @ w + b); x (rows, in), w (in, out), b (out,) -> y (rows, out)."""
    _arrays(x=x, w=w)
    out = _out(out, x, _C.dense_output_shape(x.shape, w.shape))
    _C.dense_forward(x, w, b, out, activation, float(alpha))
    return out


def bias_backward(dy, out=None):
    """db[c] = sum of dy over every axis but the last."""
    _arrays(dy=dy)
    if dy.ndim < 1:
        raise ValueError(f"dy: expected an array with a last (channel) axis, got shape {tuple(dy.shape)}")
    cols = dy.shape[-1]
    out = _out(out, dy, (cols,))
    _C.bias_backward(dy.reshape(-1, cols), out)
    return out


def dense_backward(x, w, dy, with_bias=True, need_dx=True):
    """Gradients of y = x @ w + b: returns (dx or None, dw, db or None).

    x (rows, in), w (in, out), dy (rows, out).
    """
    _arrays(x=x, w=w, dy=dy)
    for name, a in (("x", x), ("w", w), ("dy", dy)):
        _C.check_array(a, name)
    y_shape = _C.dense_output_shape(x.shape, w.shape)
    if tuple(dy.shape) != y_shape:
        raise ValueError(f"dy: expected shape {y_shape} (the forward output's), got {tuple(dy.shape)}")
    dx = sgemm(dy, w, trans_b=True) if need_dx else None
    dw = sgemm(x, dy, trans_a=True)
    db = bias_backward(dy) if with_bias else None
    return dx, dw, db


# ------------------------------------------------------------- convolution

def conv2d_forward(x, w, b=None, strides=1, padding="valid", activation="linear", alpha=0.0, out=None):
    """y = activation(conv(x, w) + b); x (n, h, w, c), w (kh, kw, c, k) -> y (n, oh, ow, k)."""
    _arrays(x=x, w=w)
    geometry, y_shape = _C.conv2d_geometry(x.shape, w.shape, strides, padding)
    out = _out(out, x, y_shape)
    _C.conv2d_forward(x, w, b, out, *geometry, activation, float(alpha))
    return out


def conv2d_backward_data(dy, w, x_shape, strides=1, padding="valid", out=None):
    """dx (x_shape) from dy (n, oh, ow, k) and w (kh, kw, c, k)."""
    _arrays(dy=dy, w=w)
    geometry, _ = _C.conv2d_geometry(x_shape, w.shape, strides, padding, x_name="x_shape")
    out = _out(out, dy, x_shape)
    _C.conv2d_backward_data(dy, w, out, *geometry)
    return out


def conv2d_backward_filter(x, dy, w_shape, strides=1, padding="valid", out=None):
    """dw (w_shape = (kh, kw, c, k)) from x (n, h, w, c) and dy (n, oh, ow, k)."""
    _arrays(x=x, dy=dy)
    geometry, _ = _C.conv2d_geometry(x.shape, w_shape, strides, padding, w_name="w_shape")
    out = _out(out, x, w_shape)
    _C.conv2d_backward_filter(x, dy, out, *geometry)
    return out


# ----------------------------------------------------------------- pooling

def _pool_geometry(x_shape, pool_size, strides, padding, x_name="x"):
    return _C.pool2d_geometry(x_shape, pool_size, _pool_strides(pool_size, strides), padding, x_name)


def maxpool2d_forward(x, pool_size=2, strides=None, padding="valid", out=None):
    """x (n, h, w, c) -> y (n, oh, ow, c); strides default to pool_size (Keras)."""
    _arrays(x=x)
    geometry, y_shape = _pool_geometry(x.shape, pool_size, strides, padding)
    out = _out(out, x, y_shape)
    _C.maxpool2d_forward(x, out, *geometry)
    return out


def maxpool2d_backward(x, dy, pool_size=2, strides=None, padding="valid", out=None):
    """dx (n, h, w, c): each window's gradient goes to its first maximum (Keras on ties)."""
    _arrays(x=x, dy=dy)
    geometry, _ = _pool_geometry(x.shape, pool_size, strides, padding)
    out = _out(out, x, x.shape)
    _C.maxpool2d_backward(x, dy, out, *geometry)
    return out


def avgpool2d_forward(x, pool_size=2, strides=None, padding="valid", out=None):
    """x (n, h, w, c) -> y (n, oh, ow, c); padded cells are not counted."""
    _arrays(x=x)
    geometry, y_shape = _pool_geometry(x.shape, pool_size, strides, padding)
    out = _out(out, x, y_shape)
    _C.avgpool2d_forward(x, out, *geometry)
    return out


def avgpool2d_backward(dy, x_shape, pool_size=2, strides=None, padding="valid", out=None):
    _arrays(dy=dy)
    geometry, _ = _pool_geometry(x_shape, pool_size, strides, padding, x_name="x_shape")
    out = _out(out, dy, x_shape)
    _C.avgpool2d_backward(dy, out, *geometry)
    return out


def global_avgpool2d_forward(x, out=None):
    """x (n, h, w, c) -> y (n, c)."""
    _arrays(x=x)
    n, _, _, c = _C.image_shape(x.shape, "x")
    out = _out(out, x, (n, c))
    _C.global_avgpool_forward(x, out)
    return out


def global_avgpool2d_backward(dy, x_shape, out=None):
    """dy (n, c) -> dx (x_shape)."""
    _arrays(dy=dy)
    out = _out(out, dy, _C.image_shape(x_shape, "x_shape"))
    _C.global_avgpool_backward(dy, out)
    return out


# ------------------------------------------------------------- activations

def activation_forward(x, activation="relu", alpha=0.0, out=None):
    """Elementwise; activation in ACTIVATIONS (softmax has its own function)."""
    _arrays(x=x)
    out = _out(out, x, x.shape)
    _C.activation_forward(x, out, activation, float(alpha))
    return out


def activation_backward(x, y, dy, activation="relu", alpha=0.0, out=None):
    """dx from the forward input x, the forward output y and dy."""
    _arrays(dy=dy)
    out = _out(out, dy, dy.shape)
    _C.activation_backward(x, y, dy, out, activation, float(alpha))
    return out


def softmax_forward(x, out=None):
    """Softmax over the last axis."""
    _arrays(x=x)
    out = _out(out, x, x.shape)
    _C.softmax_forward(x, out)
    return out


def softmax_backward(y, dy, out=None):
    _arrays(dy=dy)
    out = _out(out, dy, dy.shape)
    _C.softmax_backward(y, dy, out)
    return out


# ------------------------------------------------------------------ losses

def loss_forward(p, t, loss="categorical_crossentropy", out=None):
    """Per-sample losses (batch,) of predictions p against targets t, both (batch, classes)."""
    _arrays(p=p)
    out = _out(out, p, (p.shape[0],) if p.ndim else ())
    _C.loss_forward(p, t, out, loss)
    return out


def loss_backward(p, t, loss="categorical_crossentropy", out=None):
    """Gradient of the batch's mean loss with respect to p."""
    _arrays(p=p)
    out = _out(out, p, p.shape)
    _C.loss_backward(p, t, out, loss)
    return out


def softmax_cross_entropy_backward(p, t, out=None):
    """Fused softmax + categorical cross-entropy: d mean loss / d logits = (p - t) / batch."""
    _arrays(p=p)
    out = _out(out, p, p.shape)
    _C.softmax_cross_entropy_backward(p, t, out)
    return out


# ------------------------------------------------------------- batch norm

def batchnorm_forward_train(x, gamma, beta, moving_mean, moving_var, momentum=0.99, epsilon=1e-3, out=None):
    """Normalises over every axis but the last with the batch's statistics.

    Updates moving_mean and moving_var in place. Returns (y, save_mean, save_invstd).
    """
    _arrays(x=x)
    c = x.shape[-1]
    out = _out(out, x, x.shape)
    xp = _xp(x)
    save_mean = xp.empty((c,), dtype=np.float32)
    save_invstd = xp.empty((c,), dtype=np.float32)
    _C.batchnorm_forward_train(x, gamma, beta, moving_mean, moving_var, out, save_mean, save_invstd,
                               float(epsilon), float(momentum))
    return out, save_mean, save_invstd


def batchnorm_forward_inference(x, gamma, beta, moving_mean, moving_var, epsilon=1e-3, out=None):
    _arrays(x=x)
    out = _out(out, x, x.shape)
    _C.batchnorm_forward_inference(x, gamma, beta, moving_mean, moving_var, out, float(epsilon))
    return out


def batchnorm_backward(x, dy, gamma, save_mean, save_invstd, out=None):
    """Returns (dx, dgamma, dbeta)."""
    _arrays(x=x)
    c = x.shape[-1]
    out = _out(out, x, x.shape)
    xp = _xp(x)
    dgamma = xp.empty((c,), dtype=np.float32)
    dbeta = xp.empty((c,), dtype=np.float32)
    _C.batchnorm_backward(x, dy, gamma, save_mean, save_invstd, out, dgamma, dbeta)
    return out, dgamma, dbeta


# ----------------------------------------------------------------- dropout

def check_dropout_rate(rate):
    """``rate`` as a float when the dropout kernels take it (a real number in [0, 1), also in
    float32), else ValueError naming rate: the binding's rule, also layers.Dropout's."""
    return _C.check_dropout_rate(rate)


def dropout_forward(x, rate, seed, offset=0, out=None):
    """Zeroes elements with probability ``rate`` and scales the rest by 1 / (1 - rate).

    The mask is a pure function of (seed, offset, element index): the same on
    CPU and GPU; dropout_backward with the same arguments reuses it. ``seed`` and
    ``offset`` are ints in [0, 2**64).
    """
    _arrays(x=x)
    out = _out(out, x, x.shape)
    _C.dropout_forward(x, out, rate, seed, offset)
    return out


def dropout_backward(dy, rate, seed, offset=0, out=None):
    _arrays(dy=dy)
    out = _out(out, dy, dy.shape)
    _C.dropout_backward(dy, out, rate, seed, offset)
    return out


# -------------------------------------------------------------- optimizers

def optimizer_update(kind, param, grad, slot1=None, slot2=None, *, lr, momentum=0.0, nesterov=False,
                     rho=0.9, beta1=0.9, beta2=0.999, epsilon=1e-7, l2=0.0, c1=0.0, c2=0.0, c3=0.0):
    """One in-place update of ``param`` (and its slots) by the rule ``kind``.

    The rules, the meaning of c1..c3 and the slots each rule needs are in csrc/cudnn_lite.h
    (OptimizerStep, optimizer_slots); cudnn_lite.optimizers computes the scalars per step.
    """
    _C.optimizer_update(param, grad, slot1, slot2, kind, float(lr), float(momentum), bool(nesterov),
                        float(rho), float(beta1), float(beta2), float(epsilon), float(l2),
                        float(c1), float(c2), float(c3))
    return param


# ---------------------------------------------------------- image resampling

def affine_transform(x, matrices, fill_mode="nearest", cval=0.0, out=None):
    """Resample each image of ``x`` (n, h, w, c) through its affine map ``matrices[i]`` (n, 6).

    Output pixel (r, col) of image i samples ``x[i]`` at
    ``src_r = m0 r + m1 col + m2``, ``src_c = m3 r + m4 col + m5`` (the top two rows
    of a 3x3 matrix in ``scipy.ndimage.affine_transform``'s convention), bilinearly;
    ``fill_mode`` ('nearest', 'constant' with ``cval``, 'reflect', 'wrap') says what
    lies outside the image. Identity, flip and integer-shift matrices copy pixels
    exactly. ``out`` must not overlap ``x``. The exact rules are in csrc/cudnn_lite.h.
    """
    _arrays(x=x, matrices=matrices)
    out = _out(out, x, x.shape)
    _C.affine_transform(x, matrices, out, fill_mode, float(cval))
    return out
