"""The emulated device's memory: allocations from the emulator's cudaMalloc, seen as NumPy arrays."""
from __future__ import annotations

import builtins
import math

import numpy as np

from .. import _C

_DTYPE_KINDS = "biufc"                                   # bool, ints, floats, complex: CuPy's dtypes


def _emulator(name):
    """The ``_C.emulator_*`` function ``name`` (looked up per call, so tests can stand in for it)."""
    fn = getattr(_C, name, None)
    if fn is None:
        raise RuntimeError(f"cudnn_lite.emulator needs the emulated CUDA build (CUDNN_LITE_CUDA=EMULATE); "
                           f"this cudnn_lite._C has no {name}")
    return fn


def _check_dtype(dt):
    dt = np.dtype(dt)
    if dt.kind not in _DTYPE_KINDS:
        raise ValueError(f"Unsupported dtype {dt}")
    return dt


def _device_memory(shape, dt, order="C"):
    """A NumPy array of ``shape``/``dt`` over a fresh emulator allocation (contents uninitialised)."""
    shape = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(s) for s in shape)
    if builtins.any(s < 0 for s in shape):
        raise ValueError("Negative dimensions are not allowed")
    dt = _check_dtype(dt)
    buffer = _emulator("emulator_device_buffer")(math.prod(shape) * dt.itemsize)
    return np.ndarray(shape, dtype=dt, buffer=buffer, order=order)


def _is_device_memory(a):
    """True when the NumPy array ``a`` lies in emulator memory (a view of a device array)."""
    return a.size > 0 and bool(_emulator("emulator_is_device_pointer")(a.__array_interface__["data"][0]))


def _layout(a, order):
    """'C' or 'F' for a copy of ``a`` in ``order`` ('K'/'A' keep a Fortran layout, else C)."""
    order = "K" if order is None else order.upper()
    if order in "CF":
        return order
    return "F" if a.flags.f_contiguous and not a.flags.c_contiguous else "C"

