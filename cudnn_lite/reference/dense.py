"""sgemm, dense, activations and softmax: the reference (float64-capable NumPy)."""
from __future__ import annotations

import numpy as np

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
