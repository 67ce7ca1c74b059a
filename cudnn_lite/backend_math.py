"""Keras 2's backend array functions (``K.sum``, ``K.round``, ``K.clip`` ...), for the custom
metrics Keras 2 code writes:

    def recall(y_true, y_pred):
        true_positives = K.sum(K.round(K.clip(y_true * y_pred, 0, 1)))
        possible_positives = K.sum(K.round(K.clip(y_true, 0, 1)))
        return true_positives / (possible_positives + K.epsilon())

    model.compile(..., metrics=[recall])

Each computes with the module of its input (NumPy, or the CUDA device's: a metric runs where
the batch is) and follows the Keras 2 function's arguments and defaults (``argmax`` over the
last axis, ``round`` half to even, ``mean`` of booleans as float32). ``backend`` re-exports
them. They compute values only: a custom *loss* needs gradients, which cudnn_lite's kernels
give for its own losses alone.
"""
from __future__ import annotations

import numbers

import numpy as np

import cudnn_lite  # cudnn_lite.backend.array_module, read when called (backend re-exports this module)

__all__ = ["sum", "prod", "mean", "std", "var", "max", "min", "argmax", "argmin", "any", "all", "square", "sqrt",
           "abs", "exp", "log", "round", "sign", "pow", "clip", "maximum", "minimum", "equal", "not_equal",
           "greater", "greater_equal", "less", "less_equal", "cast", "flatten", "batch_flatten", "expand_dims",
           "squeeze", "reshape", "dot", "transpose", "ones_like", "zeros_like", "sigmoid", "relu"]


def _xp(*xs):
    return cudnn_lite.backend.array_module(*xs)


def _as_array(x):
    return x if hasattr(x, "dtype") and hasattr(x, "shape") else np.asarray(x, dtype=np.float32)


def _floats(x):
    """Booleans as float32 (Keras casts them before reducing)."""
    x = _as_array(x)
    return x.astype(np.float32) if x.dtype == np.bool_ else x


# reductions (Keras 2's signature: x, axis=None, keepdims=False)
def sum(x, axis=None, keepdims=False):  # noqa: A001 (Keras's names shadow builtins here only)
    x = _floats(x)
    return _xp(x).sum(x, axis=axis, keepdims=keepdims)


def prod(x, axis=None, keepdims=False):
    x = _floats(x)
    return _xp(x).prod(x, axis=axis, keepdims=keepdims)


def mean(x, axis=None, keepdims=False):
    x = _floats(x)
    return _xp(x).mean(x, axis=axis, keepdims=keepdims)


def std(x, axis=None, keepdims=False):
    x = _floats(x)
    return _xp(x).std(x, axis=axis, keepdims=keepdims)


def var(x, axis=None, keepdims=False):
    x = _floats(x)
    return _xp(x).var(x, axis=axis, keepdims=keepdims)


def max(x, axis=None, keepdims=False):  # noqa: A001
    x = _as_array(x)
    return _xp(x).max(x, axis=axis, keepdims=keepdims)


def min(x, axis=None, keepdims=False):  # noqa: A001
    x = _as_array(x)
    return _xp(x).min(x, axis=axis, keepdims=keepdims)


def any(x, axis=None, keepdims=False):  # noqa: A001
    x = _as_array(x)
    return _xp(x).any(x.astype(bool), axis=axis, keepdims=keepdims)


def all(x, axis=None, keepdims=False):  # noqa: A001
    x = _as_array(x)
    return _xp(x).all(x.astype(bool), axis=axis, keepdims=keepdims)


def argmax(x, axis=-1):
    x = _as_array(x)
    return _xp(x).argmax(x, axis=axis)


def argmin(x, axis=-1):
    x = _as_array(x)
    return _xp(x).argmin(x, axis=axis)


# elementwise
def square(x):
    x = _as_array(x)
    return _xp(x).square(x)


def sqrt(x):
    """Keras clips negative inputs to 0 first."""
    x = _as_array(x)
    xp = _xp(x)
    return xp.sqrt(xp.maximum(x, 0))


def abs(x):  # noqa: A001
    x = _as_array(x)
    return _xp(x).abs(x)


def exp(x):
    x = _as_array(x)
    return _xp(x).exp(x)


def log(x):
    x = _as_array(x)
    return _xp(x).log(x)


def round(x):  # noqa: A001
    """Half to even, as TensorFlow's round."""
    x = _as_array(x)
    return _xp(x).rint(x)


def sign(x):
    x = _as_array(x)
    return _xp(x).sign(x)


def pow(x, a):  # noqa: A001
    x = _as_array(x)
    return _xp(x).power(x, a)


def clip(x, min_value=None, max_value=None):
    """Keras's clip: None is unbounded; a max below the min becomes the min."""
    x = _as_array(x)
    lo = -np.inf if min_value is None else min_value
    hi = np.inf if max_value is None else max_value
    if isinstance(lo, numbers.Real) and isinstance(hi, numbers.Real) and hi < lo:
        hi = lo
    return _xp(x).clip(x, lo, hi)


def maximum(x, y):
    return _xp(x, y).maximum(x, y)


def minimum(x, y):
    return _xp(x, y).minimum(x, y)


def equal(x, y):
    return _xp(x, y).equal(x, y)


def not_equal(x, y):
    return _xp(x, y).not_equal(x, y)


def greater(x, y):
    return _xp(x, y).greater(x, y)


def greater_equal(x, y):
    return _xp(x, y).greater_equal(x, y)


def less(x, y):
    return _xp(x, y).less(x, y)


def less_equal(x, y):
    return _xp(x, y).less_equal(x, y)


def sigmoid(x):
    x = _as_array(x)
    return 1.0 / (1.0 + _xp(x).exp(-x))


def relu(x, alpha=0.0, max_value=None):
    x = _as_array(x)
    xp = _xp(x)
    y = xp.maximum(x, 0) + alpha * xp.minimum(x, 0)
    return y if max_value is None else xp.minimum(y, max_value)


# shapes and types
def cast(x, dtype):
    return _as_array(x).astype(np.dtype(dtype))


def flatten(x):
    return _as_array(x).reshape(-1)


def batch_flatten(x):
    x = _as_array(x)
    return x.reshape(x.shape[0], -1)


def expand_dims(x, axis=-1):
    x = _as_array(x)
    return _xp(x).expand_dims(x, axis)


def squeeze(x, axis):
    x = _as_array(x)
    return _xp(x).squeeze(x, axis)


def reshape(x, shape):
    return _as_array(x).reshape(tuple(shape))


def dot(x, y):
    return _xp(x, y).dot(x, y)


def transpose(x):
    x = _as_array(x)
    return _xp(x).transpose(x)


def ones_like(x, dtype=None):
    x = _as_array(x)
    return _xp(x).ones_like(x, dtype=dtype)


def zeros_like(x, dtype=None):
    x = _as_array(x)
    return _xp(x).zeros_like(x, dtype=dtype)
