"""The emulated device's ``ndarray`` (CuPy's, over emulator memory), and the rules for calling
NumPy on it: device arrays are unwrapped to NumPy views, results wrapped back onto the device."""
from __future__ import annotations

import builtins  # ndarray defines any, all, sum, max, min: NumPy's

import numpy as np

from ._memory import _check_dtype, _device_memory, _emulator, _is_device_memory, _layout
from .cuda import Device

_SCALARS = (bool, int, float, complex, np.generic)     # what an operation takes besides device arrays

#: name -> function, for NumPy's dispatch (``__array_function__``, ``__array_ufunc__``). Filled by
#: ``_functions`` (the module functions); NumPy's ufuncs go by their own names ('absolute' for
#: numpy.abs, 'divide' for numpy.true_divide).
_FUNCTIONS = {}


def _to_device(host, order="K"):
    """A new device array holding a copy of the NumPy array ``host``."""
    out = _device_memory(host.shape, host.dtype, _layout(host, order))
    np.copyto(out, host, casting="unsafe")
    return ndarray._wrap(out, owns=True)



def _from_host(values):
    """A device array holding a copy of host ``values`` (how a pickled device array comes back)."""
    return _to_device(np.asarray(values))


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
        return _from_host, (self.get(),)

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
        return _FUNCTIONS["take"](self, indices, axis=axis, out=out)

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

