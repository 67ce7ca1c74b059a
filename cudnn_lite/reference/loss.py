"""Losses on probabilities clipped to [1e-7, 1 - 1e-7] (float32 bounds), and their gradients."""
from __future__ import annotations

import numpy as np

# The clip bounds are the float32 values Keras computes with float32 tensors:
# eps = float32(1e-7) and 1 - eps = 0.99999988 (float32(1) - float32(1e-7)), also
# when this reference runs in float64.
LOSS_EPSILON = float(np.float32(1e-7))
LOSS_CLIP_HIGH = float(np.float32(1.0) - np.float32(1e-7))


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
