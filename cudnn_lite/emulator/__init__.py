"""The array module of the emulated CUDA device (the ``CUDNN_LITE_CUDA=EMULATE`` build).

In the emulated build the ``csrc/cuda/*.cu`` kernels are compiled with the host
C++ compiler and run by a host SIMT emulator (``csrc/emulator/``), so the CUDA
code paths run in CI without a GPU. CuPy needs a real GPU, so this module plays
CuPy's part there: ``backend.xp('cuda')`` returns it, and code written for CuPy
(``xp.asarray``, ``xp.empty``, ``x.get()``, ``xp.cuda.Stream()`` ...) runs on it
unchanged. It is a test/CI device, not a fast array library: every computation
is NumPy's, on the host.

What it is:

- :class:`ndarray` wraps a NumPy view of memory that the emulator's cudaMalloc
  handed out (``_C.emulator_device_buffer``), so the op bindings' "is this
  device memory?" check (``_C.emulator_is_device_pointer``) accepts it through
  ``__cuda_array_interface__`` (v3) exactly as it accepts a CuPy array. It is
  not a NumPy subclass. The ``_C.emulator_*`` functions are looked up at each
  call; in a build without them every allocation raises RuntimeError.
- Views stay views (slicing, ``reshape``, ``transpose``, ``T``, ``view``, an
  integer index: the same memory, as in CuPy); every computed result is copied
  into a fresh emulator allocation; 0-d arrays stand where NumPy gives scalars
  (``x.sum()``, ``x[0]``), as in CuPy.
- It is as strict as CuPy, so code that would break on a GPU breaks here:
  ``numpy.asarray(x)`` raises TypeError (use ``x.get()`` or :func:`asnumpy`);
  mixing a device array and a host ``numpy.ndarray`` in an operation raises
  TypeError (``x[...] = host_array`` raises ValueError, as CuPy's fill does);
  host data reaches the device only through :func:`asarray`, :func:`array`,
  :func:`ascontiguousarray`, ``ndarray.set`` and, as in CuPy, the indices of
  :func:`take` and of indexing and the values of an advanced-index assignment.
- NumPy dispatches to it like to CuPy: ``numpy.<ufunc>(x)`` (``__call__``,
  ``reduce``, ``accumulate``, ``reduceat``, ``outer``, ``at``) and
  ``numpy.<function>(x)`` for the functions listed in ``_FUNCTIONS`` run here and
  give device arrays; other NumPy functions raise TypeError ("no implementation
  found"), like a CuPy function that does not exist.
- :data:`cuda` is the subset of ``cupy.cuda`` in use: ``Stream`` (``with``
  makes it current through ``_C.emulator_set_current_stream``; ops launch on
  it), ``get_current_stream``, ``Device`` (only device 0 exists),
  ``runtime.getDeviceCount``, ``set_allocator`` (accepted, no effect).

The package: ``_memory`` (emulator allocations as NumPy arrays), ``_ndarray`` (the array and
how NumPy is called on it), ``_functions`` (module functions), ``cuda`` (streams, devices).

Deliberately not here: speed; asynchrony (every launch and copy completes
before it returns, so a stream only names where work would go, and
``synchronize`` has nothing to wait for); more than one device; CuPy's memory
pool, ``Event``, ``RawKernel``/``ElementwiseKernel``, ``cupy.linalg``/``fft``/
``random``, ``cupyx``; wrapping another library's ``__cuda_array_interface__``
object zero-copy; ``ndarray(shape, memptr=..., strides=...)``. Integer-array
indices out of bounds raise IndexError (NumPy's rule; CuPy wraps them around).
"""
from __future__ import annotations

import numpy as np

from . import cuda
from . import _functions
from ._functions import (_GENERIC, array, asarray, ascontiguousarray, asnumpy, empty, empty_like,
                         get_array_module, take)
from ._ndarray import ndarray

# NumPy's types and constants (CuPy's are the same objects)
dtype = np.dtype
bool_, intp = np.bool_, np.intp
int8, int16, int32, int64 = np.int8, np.int16, np.int32, np.int64
uint8, uint16, uint32, uint64 = np.uint8, np.uint16, np.uint32, np.uint64
float16, float32, float64 = np.float16, np.float32, np.float64
complex64, complex128 = np.complex64, np.complex128
nan, inf, pi, e, newaxis = np.nan, np.inf, np.pi, np.e, np.newaxis

# the NumPy functions offered as they are (zeros, sum, where ...): _functions made them
globals().update({name: getattr(_functions, name) for name in _GENERIC})

__all__ = [
    "ndarray", "cuda", "asarray", "array", "ascontiguousarray", "asnumpy", "get_array_module",
    "empty", "empty_like", "take", *_GENERIC,
    "dtype", "bool_", "int8", "int16", "int32", "int64", "intp", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64", "complex64", "complex128", "nan", "inf", "pi", "e", "newaxis",
]
