"""The module functions of the emulated device: host <-> device copies, creation, and the NumPy
functions offered as they are (device arrays in, device arrays out)."""
from __future__ import annotations

import builtins
import sys

import numpy as np

from ._memory import _layout
from ._ndarray import _FUNCTIONS, _call, _numpy_function, _to_device, ndarray


# ------------------------------------------------------------ host <-> device

def asarray(a, dtype=None, order=None, *, blocking=False):
    """``a`` on the device: a device array as it is (cast when ``dtype`` differs), host data copied."""
    if isinstance(a, ndarray):
        return a if dtype is None else a.astype(dtype, order=order or "K", copy=False)
    if hasattr(a, "__cuda_array_interface__"):
        raise TypeError(f"cannot take a {type(a).__name__} (another library's __cuda_array_interface__) "
                        "onto the emulated device; copy it through the host")
    return _to_device(np.asarray(a, dtype=dtype, order=order), order or "K")


def array(obj, dtype=None, copy=True, order="K", subok=False, ndmin=0, *, blocking=False):
    """A device array of ``obj`` (host data is always copied; a device array when ``copy``)."""
    if not isinstance(obj, ndarray):
        if hasattr(obj, "__cuda_array_interface__"):
            return asarray(obj)  # refused, with the reason
        return _to_device(np.array(obj, dtype=dtype, order=order, ndmin=ndmin), order)
    out = obj.astype(obj.dtype if dtype is None else dtype, order=order, copy=bool(copy))
    if out.ndim < ndmin:
        out = out.reshape((1,) * (ndmin - out.ndim) + out.shape)
    return out


def ascontiguousarray(a, dtype=None):
    """``a`` on the device, C-contiguous (the array itself when it already is, with that dtype)."""
    a = asarray(a, dtype=dtype)
    return a.astype(a.dtype, order="C", copy=False)


def asnumpy(a, stream=None, order="C", *, out=None, blocking=True):
    """A NumPy array of ``a``: a copy of a device array, host data as it is."""
    if isinstance(a, ndarray):
        return a.get(stream=stream, order=order, out=out)
    if out is not None:
        out[...] = a
        return out
    return np.asarray(a, order=order)


def get_array_module(*args):
    """This module when any argument is one of its arrays, else numpy (cupy.get_array_module)."""
    return sys.modules[__package__] if builtins.any(isinstance(a, ndarray) for a in args) else np


# -------------------------------------------------------------- creation

def empty(shape, dtype=float, order="C"):
    """Uninitialised emulator memory."""
    return ndarray(shape, dtype, order=order)


def empty_like(prototype, dtype=None, order="K", subok=None, shape=None):
    """Uninitialised emulator memory shaped (and typed) like ``prototype``."""
    a = prototype._a if isinstance(prototype, ndarray) else np.asarray(prototype)
    return ndarray(a.shape if shape is None else shape, a.dtype if dtype is None else dtype,
                   order=_layout(a, order) if shape is None else "C")


def take(a, indices, axis=None, out=None):
    """numpy.take on the device; host ``indices`` are copied to the device first, as CuPy does."""
    return _call(np.take, a, asarray(indices), axis=axis, out=out)


#: The NumPy functions this module offers as they are (through _numpy_function): device arrays
#: in, device arrays out. Everything else NumPy has is deliberately absent.
_GENERIC = (
    # creation
    "zeros", "zeros_like", "ones", "ones_like", "full", "full_like", "arange",
    # manipulation
    "reshape", "ravel", "transpose", "swapaxes", "squeeze", "expand_dims", "concatenate", "stack",
    "broadcast_to", "where", "copyto",
    # reductions
    "sum", "prod", "mean", "std", "var", "max", "min", "amax", "amin", "argmax", "argmin", "any", "all",
    "cumsum", "count_nonzero",
    # linear algebra
    "dot", "matmul",
    # elementwise
    "add", "subtract", "multiply", "divide", "true_divide", "floor_divide", "power", "remainder", "mod",
    "divmod", "negative", "positive", "absolute", "abs", "sign", "sqrt", "square", "exp", "log", "log1p",
    "expm1", "tanh", "maximum", "minimum", "fmax", "fmin", "floor", "ceil", "rint", "clip",
    "isfinite", "isnan", "isinf", "equal", "not_equal", "less", "less_equal", "greater", "greater_equal",
    "logical_and", "logical_or", "logical_xor", "logical_not",
    "bitwise_and", "bitwise_or", "bitwise_xor", "invert", "left_shift", "right_shift",
)
for _name in _GENERIC:
    globals()[_name] = _numpy_function(_name)
del _name

#: name -> function, for NumPy's dispatch (``__array_function__``, ``__array_ufunc__``): NumPy's
#: ufuncs go by their own names ('absolute' for numpy.abs, 'divide' for numpy.true_divide).
_FUNCTIONS.update({name: globals()[name] for name in (*_GENERIC, "empty_like", "take")})

__all__ = ["asarray", "array", "ascontiguousarray", "asnumpy", "get_array_module",
           "empty", "empty_like", "take", *_GENERIC]
