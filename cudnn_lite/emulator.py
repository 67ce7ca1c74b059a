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

Deliberately not here: speed; asynchrony (every launch and copy completes
before it returns, so a stream only names where work would go, and
``synchronize`` has nothing to wait for); more than one device; CuPy's memory
pool, ``Event``, ``RawKernel``/``ElementwiseKernel``, ``cupy.linalg``/``fft``/
``random``, ``cupyx``; wrapping another library's ``__cuda_array_interface__``
object zero-copy; ``ndarray(shape, memptr=..., strides=...)``. Integer-array
indices out of bounds raise IndexError (NumPy's rule; CuPy wraps them around).
"""
from __future__ import annotations

import builtins  # this module defines any, all, sum, max, min, abs, divmod: NumPy's
import math
import sys
import threading
import types
import weakref

import numpy as np

from . import _C

# NumPy's types and constants (CuPy's are the same objects)
dtype = np.dtype
bool_, intp = np.bool_, np.intp
int8, int16, int32, int64 = np.int8, np.int16, np.int32, np.int64
uint8, uint16, uint32, uint64 = np.uint8, np.uint16, np.uint32, np.uint64
float16, float32, float64 = np.float16, np.float32, np.float64
complex64, complex128 = np.complex64, np.complex128
nan, inf, pi, e, newaxis = np.nan, np.inf, np.pi, np.e, np.newaxis

_SCALARS = (bool, int, float, complex, np.generic)     # what an operation takes besides device arrays
_DTYPE_KINDS = "biufc"                                   # bool, ints, floats, complex: CuPy's dtypes


# ------------------------------------------------------------------ emulator memory

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


def _to_device(host, order="K"):
    """A new device array holding a copy of the NumPy array ``host``."""
    out = _device_memory(host.shape, host.dtype, _layout(host, order))
    np.copyto(out, host, casting="unsafe")
    return ndarray._wrap(out, owns=True)


# ------------------------------------------------- calling NumPy on device arrays

def _unsupported(value):
    return TypeError(f"Unsupported type {type(value)}: device arrays do not mix with host arrays; "
                     "copy it to the device with asarray() first")


def _unwrap(value, found):
    """``value`` with every device array replaced by its NumPy view (collected in ``found``).
    A host numpy.ndarray is refused, as CuPy refuses it."""
    if isinstance(value, ndarray):
        found.append(value)
        return value._a
    if isinstance(value, np.ndarray):
        raise _unsupported(value)
    if type(value) in (list, tuple):
        return type(value)(_unwrap(v, found) for v in value)
    return value


def _wrap(result, found):
    """NumPy's ``result`` as device arrays: an input array itself when NumPy handed it back (out=,
    astype(copy=False)), a view when it lies in emulator memory, else a copy in a new allocation."""
    if isinstance(result, np.ndarray):
        for arr in found:
            if arr._a is result:
                return arr
        if _is_device_memory(result):
            return ndarray._wrap(result)
        return _to_device(result)
    if isinstance(result, np.generic):
        return _to_device(np.asarray(result))
    if type(result) in (list, tuple):
        return type(result)(_wrap(r, found) for r in result)
    return result


def _call(fn, *args, _self=None, **kwargs):
    """fn(*args, **kwargs) with device arrays unwrapped, its result wrapped back onto the device;
    ``_self``: the array a method was called on (handed back when NumPy returns it)."""
    found = [] if _self is None else [_self]
    args = _unwrap(args, found)
    kwargs = {k: _unwrap(v, found) for k, v in kwargs.items()}
    return _wrap(fn(*args, **kwargs), found)


def _numpy_function(name):
    """numpy.<name> for device arrays (module function)."""
    np_fn = getattr(np, name)

    def fn(*args, **kwargs):
        return _call(np_fn, *args, **kwargs)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"numpy.{name} on device arrays; results are device arrays (see the module docstring)."
    return fn


def _numpy_method(name):
    """numpy.ndarray.<name> for device arrays (ndarray method)."""
    def method(self, *args, **kwargs):
        return _call(getattr(self._a, name), *args, _self=self, **kwargs)
    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"numpy.ndarray.{name} on the device array; results are device arrays."
    return method


def _operand(value, comparison=False):
    """A binary operator's other operand: its NumPy view, a scalar, or None (not ours: NotImplemented)."""
    if isinstance(value, ndarray):
        return value._a
    if isinstance(value, np.ndarray):
        if comparison and value.ndim == 0:  # CuPy compares with a 0-d host array's item
            return value.item()
        raise _unsupported(value)
    if isinstance(value, _SCALARS):
        return value
    return None


def _binary(ufunc, reflected=False, comparison=False):
    def op(self, other):
        b = _operand(other, comparison)
        if b is None:
            return NotImplemented
        return _wrap(ufunc(b, self._a) if reflected else ufunc(self._a, b), [self])
    return op


def _inplace(ufunc):
    def op(self, other):
        b = _operand(other)
        if b is None:
            return NotImplemented
        ufunc(self._a, b, out=self._a)
        return self
    return op


def _operators(ufunc):
    """``x op y``, ``y op x`` and ``x op= y`` for a binary ufunc."""
    return _binary(ufunc), _binary(ufunc, reflected=True), _inplace(ufunc)


def _fill_value(value):
    """The scalar that ``fill(value)`` writes, by CuPy's rules: a 0-d array's value; a non-scalar
    array (device or host) is a ValueError, anything else but a scalar a TypeError."""
    if isinstance(value, ndarray):
        if value.shape != ():
            raise ValueError("non-scalar cupy.ndarray cannot be used for fill")
        return value._a[()]
    if isinstance(value, np.ndarray):
        if value.shape != ():
            raise ValueError("non-scalar numpy.ndarray cannot be used for fill")
        return value.item()
    if not isinstance(value, _SCALARS):
        raise TypeError(f"Unsupported type {type(value)}")
    return value


def _is_basic_index(key):
    """True for ints, slices, None and Ellipsis only (no arrays, lists or booleans)."""
    return builtins.all(k is None or k is Ellipsis or isinstance(k, slice)
                        or (isinstance(k, (int, np.integer)) and not isinstance(k, (bool, np.bool_)))
                        for k in key)


def _index(key):
    """An indexing key for the NumPy view: device index arrays unwrapped; host lists/arrays kept
    (CuPy copies them to the device); basic keys end in Ellipsis, so an integer index gives a
    0-d view as in CuPy, not a NumPy scalar."""
    key = key if type(key) is tuple else (key,)
    key = tuple(k._a if isinstance(k, ndarray) else k for k in key)
    if _is_basic_index(key) and not builtins.any(k is Ellipsis for k in key):
        key += (Ellipsis,)
    return key


# ---------------------------------------------------------------------- ndarray

class _Flags:
    """Memory-layout flags (CuPy's subset: c_contiguous, f_contiguous, owndata)."""

    def __init__(self, c_contiguous, f_contiguous, owndata):
        self.c_contiguous, self.f_contiguous, self.owndata = c_contiguous, f_contiguous, owndata

    def __getitem__(self, name):
        return {"C_CONTIGUOUS": self.c_contiguous, "F_CONTIGUOUS": self.f_contiguous,
                "OWNDATA": self.owndata}[name]

    def __repr__(self):
        return (f"  C_CONTIGUOUS : {self.c_contiguous}\n  F_CONTIGUOUS : {self.f_contiguous}\n"
                f"  OWNDATA : {self.owndata}")


class _MemoryPointer:
    """``x.data``: the device pointer (``.ptr``) as CuPy's MemoryPointer gives it."""

    def __init__(self, ptr):
        self.ptr, self.device_id = ptr, 0


class ndarray:
    """An array in the emulated device's memory (CuPy's ``ndarray``, on the host SIMT emulator).

    ``ndarray(shape, dtype=float, *, order='C')`` allocates uninitialised emulator
    memory. Arrays made by this module wrap a NumPy view (``_a``) of such memory.
    """

    __slots__ = ("_a", "_owns", "__weakref__")
    __array_priority__ = 100   # CuPy's: NumPy defers binary operators to us
    __hash__ = None            # mutable, compared elementwise: unhashable, like CuPy's

    def __init__(self, shape, dtype=float, *, order="C"):
        self._a = _device_memory(shape, dtype, order)
        self._owns = True

    @classmethod
    def _wrap(cls, a, owns=False):
        """Wrap ``a``, a NumPy array over emulator memory (no copy)."""
        obj = cls.__new__(cls)
        obj._a, obj._owns = a, owns
        return obj

    # --------------------------------------------------------- attributes
    shape = property(lambda self: self._a.shape, doc="Lengths of axes.")
    dtype = property(lambda self: self._a.dtype, doc="Element type (a numpy.dtype).")
    ndim = property(lambda self: self._a.ndim, doc="Number of axes.")
    size = property(lambda self: self._a.size, doc="Number of elements.")
    nbytes = property(lambda self: self._a.nbytes, doc="size * itemsize.")
    itemsize = property(lambda self: self._a.itemsize, doc="Bytes per element.")
    strides = property(lambda self: self._a.strides, doc="Strides in bytes.")

    @property
    def flags(self):
        a = self._a
        return _Flags(bool(a.flags.c_contiguous), bool(a.flags.f_contiguous), self._owns)

    @property
    def T(self):
        """Axes reversed (a view); the array itself when ndim < 2, as in CuPy."""
        return self if self.ndim < 2 else ndarray._wrap(self._a.T)

    @property
    def data(self):
        return _MemoryPointer(self._a.__array_interface__["data"][0])

    @property
    def device(self):
        return Device(0)

    @property
    def __cuda_array_interface__(self):
        """CUDA Array Interface v3, as CuPy exports it: strides None when C-contiguous, data
        (0, False) when empty, stream = the current stream (1, the legacy default stream, for 0)."""
        a = self._a
        return {
            "shape": a.shape,
            "typestr": a.dtype.str,
            "descr": a.dtype.descr,
            "data": (a.__array_interface__["data"][0] if a.size else 0, False),
            "strides": None if a.flags.c_contiguous else a.strides,
            "version": 3,
            "stream": int(_emulator("emulator_current_stream")()) or 1,
        }

    # --------------------------------------------------------- host <-> device
    def __array__(self, dtype=None, copy=None):
        raise TypeError("Implicit conversion to a NumPy array is not allowed. "
                        "Please use `.get()` to construct a NumPy array explicitly.")

    def get(self, stream=None, order="C", out=None, blocking=True):
        """A NumPy copy of the array (into ``out`` when given)."""
        if out is None:
            return np.array(self._a, order=order, copy=True)
        if not isinstance(out, np.ndarray):
            raise TypeError("Only numpy.ndarray can be obtained from cupy.ndarray")
        if out.dtype != self.dtype:
            raise TypeError(f"{out.dtype} array cannot be obtained from {self.dtype} array")
        if out.shape != self.shape:
            raise ValueError(f"Shape mismatch. Expected shape: {self.shape}, actual shape: {out.shape}")
        np.copyto(out, self._a)
        return out

    def set(self, arr, stream=None):
        """Copy the NumPy array ``arr`` (same dtype and shape) into this array."""
        if not isinstance(arr, np.ndarray):
            raise TypeError("Only numpy.ndarray can be set to cupy.ndarray")
        if arr.dtype != self.dtype:
            raise TypeError(f"{arr.dtype} array cannot be set to {self.dtype} array")
        if arr.shape != self.shape:
            raise ValueError(f"Shape mismatch. Old shape: {self.shape}, new shape: {arr.shape}")
        np.copyto(self._a, arr)

    def item(self):
        if self.size != 1:
            raise ValueError("can only convert an array of size 1 to a Python scalar")
        return self._a.item()

    def tolist(self):
        return self._a.tolist()

    def __float__(self):
        return float(self._a)

    def __int__(self):
        return int(self._a)

    def __complex__(self):
        return complex(self._a)

    def __bool__(self):
        return bool(self._a)

    def __repr__(self):
        return repr(self.get())

    def __str__(self):
        return str(self.get())

    def __format__(self, spec):
        return format(self.get(), spec)

    def __copy__(self):
        return self.copy()

    def __deepcopy__(self, memo):
        return self.copy()

    def __reduce__(self):  # pickles the values; unpickles onto the device
        return array, (self.get(),)

    # --------------------------------------------------------- copies and casts
    def astype(self, dtype, order="K", casting=None, subok=None, copy=True):
        dt = _check_dtype(dtype)
        a = self._a
        order = "K" if order is None else order.upper()
        keeps_layout = (order == "K" or (order == "A" and (a.flags.c_contiguous or a.flags.f_contiguous))
                        or (order == "C" and a.flags.c_contiguous) or (order == "F" and a.flags.f_contiguous))
        if not copy and dt == a.dtype and keeps_layout:
            return self
        out = _device_memory(a.shape, dt, _layout(a, order))
        np.copyto(out, a, casting="unsafe")
        return ndarray._wrap(out, owns=True)

    def copy(self, order="C"):
        return self.astype(self.dtype, order=order, copy=True)

    def view(self, dtype=None):
        """The same memory, reinterpreted as ``dtype`` when given."""
        return ndarray._wrap(self._a.view() if dtype is None else self._a.view(_check_dtype(dtype)))

    def fill(self, value):
        """Set every element to the scalar ``value``."""
        self._a.fill(_fill_value(value))

    # --------------------------------------------------------- shape (views where NumPy gives them)
    def reshape(self, *shape, order="C"):
        return _call(self._a.reshape, *shape, order=order, _self=self)

    def transpose(self, *axes):
        return _call(self._a.transpose, *axes, _self=self)

    ravel = _numpy_method("ravel")
    flatten = _numpy_method("flatten")
    squeeze = _numpy_method("squeeze")
    swapaxes = _numpy_method("swapaxes")
    repeat = _numpy_method("repeat")

    # --------------------------------------------------------- reductions and computations
    sum = _numpy_method("sum")
    prod = _numpy_method("prod")
    mean = _numpy_method("mean")
    std = _numpy_method("std")
    var = _numpy_method("var")
    max = _numpy_method("max")
    min = _numpy_method("min")
    argmax = _numpy_method("argmax")
    argmin = _numpy_method("argmin")
    any = _numpy_method("any")
    all = _numpy_method("all")
    cumsum = _numpy_method("cumsum")
    clip = _numpy_method("clip")
    round = _numpy_method("round")
    nonzero = _numpy_method("nonzero")
    dot = _numpy_method("dot")

    def take(self, indices, axis=None, out=None):
        return take(self, indices, axis=axis, out=out)

    # --------------------------------------------------------- container
    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of unsized object")
        return self.shape[0]

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(self.shape[0]))

    def __getitem__(self, key):
        return _wrap(self._a[_index(key)], [self])

    def __setitem__(self, key, value):
        key = _index(key)
        if isinstance(value, ndarray):
            self._a[key] = value._a
        elif not _is_basic_index(key):
            self._a[key] = np.asarray(value, dtype=self.dtype)  # CuPy copies the values to the device
        else:
            self._a[key] = _fill_value(value)  # CuPy: a basic-index assignment of a host value is a fill

    # --------------------------------------------------------- operators
    __add__, __radd__, __iadd__ = _operators(np.add)
    __sub__, __rsub__, __isub__ = _operators(np.subtract)
    __mul__, __rmul__, __imul__ = _operators(np.multiply)
    __truediv__, __rtruediv__, __itruediv__ = _operators(np.true_divide)
    __floordiv__, __rfloordiv__, __ifloordiv__ = _operators(np.floor_divide)
    __mod__, __rmod__, __imod__ = _operators(np.remainder)
    __pow__, __rpow__, __ipow__ = _operators(np.power)
    __and__, __rand__, __iand__ = _operators(np.bitwise_and)
    __or__, __ror__, __ior__ = _operators(np.bitwise_or)
    __xor__, __rxor__, __ixor__ = _operators(np.bitwise_xor)
    __lshift__, __rlshift__, __ilshift__ = _operators(np.left_shift)
    __rshift__, __rrshift__, __irshift__ = _operators(np.right_shift)
    __matmul__, __rmatmul__ = _binary(np.matmul), _binary(np.matmul, reflected=True)
    __divmod__, __rdivmod__ = _binary(np.divmod), _binary(np.divmod, reflected=True)
    __eq__ = _binary(np.equal, comparison=True)
    __ne__ = _binary(np.not_equal, comparison=True)
    __lt__ = _binary(np.less, comparison=True)
    __le__ = _binary(np.less_equal, comparison=True)
    __gt__ = _binary(np.greater, comparison=True)
    __ge__ = _binary(np.greater_equal, comparison=True)

    def __neg__(self):
        return _wrap(np.negative(self._a), [self])

    def __pos__(self):
        return self

    def __abs__(self):
        return _wrap(np.absolute(self._a), [self])

    def __invert__(self):
        return _wrap(np.invert(self._a), [self])

    # --------------------------------------------------------- NumPy's dispatch protocols
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        """numpy.<ufunc>(device arrays): run here (CuPy: cupy.<ufunc>), results on the device."""
        if method not in ("__call__", "outer", "at", "reduce", "accumulate", "reduceat"):
            return NotImplemented
        if _FUNCTIONS.get(ufunc.__name__) is None:
            return NotImplemented
        if not builtins.all(isinstance(x, (ndarray, np.ndarray, *_SCALARS))
                            for x in inputs + tuple(kwargs.get("out", ()))):
            return NotImplemented
        if ufunc.__name__ in ("equal", "not_equal", "less", "less_equal", "greater", "greater_equal"):
            inputs = tuple(x.item() if isinstance(x, np.ndarray) and x.ndim == 0 else x for x in inputs)
        if "out" in kwargs:
            out = kwargs["out"]
            if len(out) != 1:
                raise ValueError("The 'out' parameter must have exactly one array value")
            kwargs["out"] = out[0]
        return _call(getattr(ufunc, method), *inputs, **kwargs)

    def __array_function__(self, func, types, args, kwargs):
        """numpy.<function>(device arrays): this module's function of that name (as CuPy does)."""
        impl = _FUNCTIONS.get(func.__name__) if func.__module__ == "numpy" else None
        if impl is None or not builtins.all(issubclass(t, (ndarray, np.ndarray)) for t in types):
            return NotImplemented
        return impl(*args, **kwargs)


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
    return sys.modules[__name__] if builtins.any(isinstance(a, ndarray) for a in args) else np


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
_FUNCTIONS = {name: globals()[name] for name in (*_GENERIC, "empty_like", "take")}


# ---------------------------------------------------------- streams and devices

class Stream:
    """A stream of the emulated device (cupy.cuda.Stream). Work runs synchronously, so a stream
    only says where ops launch (``with stream:`` / ``use()`` make it current) and
    ``synchronize()`` has nothing to wait for. ``Stream.null`` is the legacy default stream (0)."""

    null = None  # set below: Stream(null=True)

    def __init__(self, null=False, non_blocking=False, ptds=False, priority=None):
        self.non_blocking = bool(non_blocking)
        self.ptr = 0 if null else int(_emulator("emulator_stream_create")())
        self._owned = not null
        self._previous = []
        if self._owned:
            _streams[self.ptr] = self

    @classmethod
    def _borrowed(cls, ptr):
        """A Stream object for a handle made elsewhere (not destroyed with this object)."""
        s = cls(null=True)
        s.ptr = ptr
        return s

    def __del__(self):
        if getattr(self, "_owned", False):
            try:
                _C.emulator_stream_destroy(self.ptr)
            except Exception:  # interpreter shutdown: _C may be gone
                pass

    def use(self):
        """Make this the current stream (of this thread)."""
        _emulator("emulator_set_current_stream")(self.ptr)
        _current.stream = self  # kept alive while current, as CuPy keeps it
        return self

    def __enter__(self):
        self._previous.append(get_current_stream())
        return self.use()

    def __exit__(self, *exc):
        self._previous.pop().use()

    def synchronize(self):
        """Nothing to wait for: the emulator finishes every launch before returning."""

    @property
    def done(self):
        return True

    def __eq__(self, other):
        return isinstance(other, Stream) and self.ptr == other.ptr

    def __hash__(self):
        return hash(self.ptr)

    def __repr__(self):
        return f"<Stream {self.ptr} (emulated device)>"


_streams = weakref.WeakValueDictionary()   # handle -> the Stream object that created it
_current = threading.local()              # .stream: the current Stream, held alive
Stream.null = Stream(null=True)


def get_current_stream():
    """The current stream (cupy.cuda.get_current_stream): ``Stream.null`` until one is made current."""
    ptr = int(_emulator("emulator_current_stream")())
    if ptr == 0:
        return Stream.null
    return _streams.get(ptr) or Stream._borrowed(ptr)


class CUDARuntimeError(RuntimeError):
    """A CUDA runtime error of the emulated device (cupy_backends' CUDARuntimeError)."""


def getDeviceCount():  # noqa: N802 (CuPy's name)
    """Devices of the emulated build: 1."""
    return int(_C.cuda_device_count())


def _check_device(i):
    if not 0 <= i < getDeviceCount():
        raise CUDARuntimeError("cudaErrorInvalidDevice: invalid device ordinal")


class Device:
    """A device (cupy.cuda.Device); the emulator has device 0 only. Using another one raises
    CUDARuntimeError as CUDA does."""

    def __init__(self, device=None):
        self.id = 0 if device is None else int(device)

    def use(self):
        _check_device(self.id)

    def __enter__(self):
        self.use()
        return self

    def __exit__(self, *exc):
        pass  # device 0 was current before and stays current

    def synchronize(self):
        self.use()

    def __int__(self):
        return self.id

    def __eq__(self, other):
        return isinstance(other, Device) and self.id == other.id

    def __hash__(self):
        return hash(self.id)

    def __repr__(self):
        return f"<CUDA Device {self.id}>"


def set_allocator(allocator=None):
    """Accepted for CuPy compatibility; no effect (every array is its own emulator allocation)."""


def _submodule(name, doc, **members):
    module = types.ModuleType(f"{__name__}.{name}", doc)
    module.__dict__.update(members)
    return module


#: ``cupy.cuda``'s subset: streams, devices, the runtime's device queries, set_allocator.
cuda = _submodule(
    "cuda", "CUDA runtime pieces of the emulated device (cupy.cuda's subset).",
    Stream=Stream, get_current_stream=get_current_stream, Device=Device, set_allocator=set_allocator,
    is_available=lambda: getDeviceCount() > 0,
    runtime=_submodule(
        "cuda.runtime", "Device queries of the emulated device (cupy.cuda.runtime's subset).",
        CUDARuntimeError=CUDARuntimeError, getDeviceCount=getDeviceCount, getDevice=lambda: 0,
        setDevice=_check_device, deviceSynchronize=lambda: None),
)

__all__ = [
    "ndarray", "cuda", "asarray", "array", "ascontiguousarray", "asnumpy", "get_array_module",
    "empty", "empty_like", "take", *_GENERIC,
    "dtype", "bool_", "int8", "int16", "int32", "int64", "intp", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64", "complex64", "complex128", "nan", "inf", "pi", "e", "newaxis",
]
