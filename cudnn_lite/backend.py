"""Device handling, global seeding and layer naming (Keras's ``keras.backend`` role).

Every array a model owns (weights, optimizer slots, activations, batches) lives
on one device: ``'cpu'`` (NumPy, the C++ kernels) or ``'cuda'`` (the CUDA
kernels; CuPy arrays on a GPU, :mod:`cudnn_lite.emulator` arrays in the emulated
build). The model owns it (``model.device``, from :func:`get_device` when the
model is created); layers and optimizers read it from their weights. Code that
must run on both writes ``xp = backend.xp(device)`` (or
``xp = backend.array_module(x)`` for arrays in hand) and calls ``xp.<function>``
instead of ``np.<function>``. This module is the one place that knows which
array module the CUDA device has, and which device an array is on.

    from cudnn_lite import backend
    backend.get_device()          # 'cuda' when a GPU is usable, else 'cpu'
    backend.set_device('cpu')     # models created afterwards live on the CPU
    backend.set_random_seed(42)   # reproducible initial weights, dropout, shuffling

Keras 2's ``keras.backend`` functions that scripts of that era call are here too: the
settings of :mod:`cudnn_lite.config` (``image_data_format``, ``epsilon``, ``floatx``,
``learning_phase`` and their setters), ``clear_session``, ``get_value``/``set_value`` (also
on ``model.optimizer.lr``), ``batch_get_value``, ``eval``, ``int_shape``, ``count_params``
and ``cast_to_floatx``; the array functions of :mod:`cudnn_lite.backend_math` (``K.sum``,
``K.round``, ``K.clip`` ...) for custom metrics. TensorFlow's graph objects (``K.function``, ``K.placeholder``,
``K.variable``, ``K.gradients``, sessions) raise :class:`~cudnn_lite.unsupported.UnsupportedFeatureError`.
"""
from __future__ import annotations

import random
import re

import numpy as np

import cudnn_lite  # the package root (with_cuda, cuda_emulated, cuda_available): always imported first

from . import unsupported
# Keras 2's K.sum, K.round, K.clip ... for custom metrics. NB: sum, max, min, abs, round, any, all
# and pow are these functions everywhere in this module, not Python's builtins.
from .backend_math import *  # noqa: F401,F403
from .backend_math import __all__ as _MATH
from .config import (backend, epsilon, floatx, image_data_format, image_dim_ordering, learning_phase,
                     set_epsilon, set_floatx, set_image_data_format, set_image_dim_ordering, set_learning_phase)

__all__ = ["DEVICES", "get_device", "set_device", "xp", "array_module", "is_device_array", "to_device",
           "to_numpy", "device_of", "BufferCache", "set_random_seed", "rng", "new_seed", "clear_session",
           "unique_name", "epsilon", "set_epsilon", "floatx", "set_floatx", "image_data_format",
           "set_image_data_format", "image_dim_ordering", "set_image_dim_ordering", "learning_phase",
           "set_learning_phase", "backend", "BoundValue", "get_value", "set_value", "batch_get_value",
           "batch_set_value", "eval", "int_shape", "count_params", "cast_to_floatx", *_MATH]

DEVICES = ("cpu", "cuda")

_device: str | None = None          # None: pick on first use
_rng = np.random.default_rng()      # initializers, dropout seeds, shuffling
_name_counts: dict[str, int] = {}   # 'dense' -> how many were named so far


# ------------------------------------------------------------------ devices

def _check_device(name) -> str:
    if not isinstance(name, str) or name.lower() not in DEVICES:
        raise ValueError(f"device: expected one of {list(DEVICES)}, got {name!r}")
    name = name.lower()
    if name == "cuda":
        if not cudnn_lite.cuda_available():
            raise RuntimeError("device 'cuda' is not available: cudnn_lite was built without CUDA, "
                               "no GPU is visible or CuPy does not import (use 'cpu')")
    return name


def get_device() -> str:
    """The device new models take: 'cuda' when available (and not overridden), else 'cpu'."""
    global _device
    if _device is None:
        _device = "cuda" if cudnn_lite.cuda_available() else "cpu"
    return _device


def set_device(name: str) -> None:
    """Choose 'cpu' or 'cuda' for the models created from now on (a model keeps its device;
    ``model.to(device)`` moves one)."""
    global _device
    _device = _check_device(name)


def xp(device: str | None = None):
    """The array module of a device: numpy for 'cpu'; for 'cuda' cupy, or cudnn_lite.emulator in
    the emulated CUDA build (cudnn_lite.cuda_emulated)."""
    device = get_device() if device is None else device
    if device == "cpu":
        return np
    if device == "cuda":
        if cudnn_lite.cuda_emulated:
            from . import emulator  # the emulated build's array module: imported only there
            return emulator
        import cupy  # optional dependency (the 'cuda' extra)
        return cupy
    raise ValueError(f"device: expected one of {list(DEVICES)}, got {device!r}")


def is_device_array(array) -> bool:
    """True for an array in CUDA device memory: a CuPy array, an emulator array, or any other
    object with ``__cuda_array_interface__`` that is not a NumPy array."""
    return not isinstance(array, np.ndarray) and hasattr(array, "__cuda_array_interface__")


def array_module(*arrays):
    """The array module that owns the arguments: the CUDA device's (``xp('cuda')``) when any of
    them is a device array, else numpy (cupy.get_array_module's rule)."""
    for a in arrays:
        if is_device_array(a):
            return xp("cuda")
    return np


def device_of(array) -> str:
    """'cpu' for a NumPy array, 'cuda' for a device array (CuPy's, or the emulator's)."""
    if isinstance(array, np.ndarray):
        return "cpu"
    if is_device_array(array):
        return "cuda"
    raise TypeError(f"expected a numpy.ndarray or cupy.ndarray, got {type(array).__name__}")


def to_device(array, device: str | None = None, dtype=None):
    """The array on ``device`` (C-contiguous; cast to ``dtype`` when given). No copy if already there."""
    device = get_device() if device is None else device
    if device == "cpu":
        a = to_numpy(array)
        return np.ascontiguousarray(a, dtype=dtype) if dtype is not None else np.ascontiguousarray(a)
    mod = xp(device)
    if not is_device_array(array):
        array = np.ascontiguousarray(array, dtype=dtype) if dtype is not None else np.ascontiguousarray(array)
    return mod.ascontiguousarray(mod.asarray(array, dtype=dtype))


def to_numpy(array) -> np.ndarray:
    """A NumPy array (copied from the device for a device array)."""
    if isinstance(array, np.ndarray):
        return array
    if is_device_array(array):
        return array.get()
    return np.asarray(array)


class BufferCache:
    """Scratch arrays reused across calls, one per (name, shape, dtype, device): layers and models
    pass them as ``out=`` so a training step allocates nothing once a batch size has been seen.
    ``like`` is an array on the device the buffer must live on. Past ``limit`` entries (many
    distinct batch sizes) the cache forgets everything and starts over."""

    def __init__(self, limit: int = 32):
        self.limit = limit
        self._arrays: dict = {}

    def get(self, name: str, shape, like, dtype=np.float32):
        mod = array_module(like)
        key = (name, tuple(int(s) for s in shape), np.dtype(dtype), mod)
        buf = self._arrays.get(key)
        if buf is None:
            if len(self._arrays) > self.limit:
                self._arrays = {}
            buf = mod.empty(key[1], dtype=dtype)
            self._arrays[key] = buf
        return buf

    def clear(self) -> None:
        self._arrays = {}

    def __len__(self):
        return len(self._arrays)


# ----------------------------------------------------------------- seeding

def set_random_seed(seed: int) -> None:
    """Seed everything random in cudnn_lite (and Python's and NumPy's global generators).

    Two runs that call ``set_random_seed(s)`` and then build and train the same
    model on the same device get identical weights, dropout masks and shuffles.
    """
    global _rng
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed: expected a non-negative int, got {seed!r}")
    _rng = np.random.default_rng(int(seed))
    random.seed(int(seed))
    np.random.seed(int(seed) % 2**32)


def rng() -> np.random.Generator:
    """The module-level generator (reseeded by set_random_seed)."""
    return _rng


def new_seed() -> int:
    """A fresh 63-bit seed drawn from the module generator (for layers' own RNG streams)."""
    return int(_rng.integers(0, 2**63 - 1))


# ------------------------------------------------------------------- names

def _snake(name: str) -> str:
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", s).lower()


def unique_name(prefix: str, snake: bool = True) -> str:
    """'dense', then 'dense_1', 'dense_2', ... (Keras's naming, per session)."""
    base = _snake(prefix) if snake else prefix
    n = _name_counts.get(base, 0)
    _name_counts[base] = n + 1
    return base if n == 0 else f"{base}_{n}"


def clear_session() -> None:
    """Reset the automatic layer/model names ('dense', 'dense_1', ... start over).

    Models built before keep their weights and stay usable (there is no graph to free)."""
    _name_counts.clear()


# ------------------------------------------------- Keras 2's value functions

class BoundValue(float):
    """A float read from an object's attribute (``model.optimizer.lr``) that remembers where it
    came from, so that ``set_value(model.optimizer.lr, 0.01)`` writes the attribute back, as
    Keras 2's ``K.set_value`` writes a variable. Everywhere else it is a plain float."""

    def __new__(cls, value, owner, attribute):
        obj = super().__new__(cls, value)
        obj.owner, obj.attribute = owner, attribute
        return obj

    def __reduce__(self):  # pickles, copies and deep copies as the plain float it holds
        return float, (float(self),)


def _weight_like(x):
    """True for a layer Weight (value + name), without importing layers (which import backend)."""
    return hasattr(x, "value") and hasattr(x, "trainable") and hasattr(x, "numpy")


def get_value(x):
    """The value of ``x`` on the host: a float for a hyperparameter (``model.optimizer.lr``), a
    NumPy array for a layer Weight or an array, the number itself for a number."""
    if isinstance(x, BoundValue):
        return float(x)
    if _weight_like(x):
        return x.numpy()
    if isinstance(x, (int, float, np.generic)) and not isinstance(x, bool):
        return x
    if isinstance(x, np.ndarray) or is_device_array(x):
        return to_numpy(x).copy()
    raise TypeError(f"get_value: expected a hyperparameter (model.optimizer.lr), a layer weight or an array, "
                    f"got {type(x).__name__}")


def set_value(x, value) -> None:
    """Write ``value`` into ``x``: a hyperparameter read from its owner (``model.optimizer.lr``:
    the optimizer's learning rate changes), or a layer Weight (same shape)."""
    if isinstance(x, BoundValue):
        setattr(x.owner, x.attribute, value.item() if isinstance(value, np.ndarray) and value.ndim == 0 else value)
        return
    if _weight_like(x):
        new = np.asarray(to_numpy(value), dtype=np.float32)
        if new.shape != tuple(x.value.shape):
            raise ValueError(f"set_value: weight {x.name!r} has shape {tuple(x.value.shape)}, the value has "
                             f"shape {new.shape}")
        x.value[...] = to_device(new, device_of(x.value))
        return
    raise TypeError(f"set_value: expected a hyperparameter read from its owner (model.optimizer.lr) or a layer "
                    f"weight, got {type(x).__name__}; a plain number or array has nowhere to be written back "
                    "(set the attribute itself, e.g. model.optimizer.learning_rate = 0.01)")


def batch_get_value(xs) -> list:
    """[get_value(x) for x in xs]."""
    return [get_value(x) for x in xs]


def batch_set_value(tuples) -> None:
    """set_value(x, value) for each (x, value)."""
    for x, value in tuples:
        set_value(x, value)


def eval(x):  # noqa: A001 (Keras's name)
    """Keras 2's K.eval: the value of x (here, get_value)."""
    return get_value(x)


def int_shape(x) -> tuple:
    """The shape of an array or Weight as a tuple of ints."""
    shape = getattr(x, "shape", None)
    if shape is None:
        raise TypeError(f"int_shape: expected an array or a layer weight, got {type(x).__name__}")
    return tuple(int(s) for s in shape)


def count_params(x) -> int:
    """The number of scalars in an array or Weight."""
    return int(np.prod(int_shape(x), dtype=np.int64))


def cast_to_floatx(x) -> np.ndarray:
    """x as a float32 NumPy array."""
    return np.asarray(x, dtype=np.float32)


# Keras 2 backend functions over TensorFlow's graph: named, and refused with the reason.
_GRAPH = "it needs TensorFlow's symbolic graph, which cudnn_lite does not have (it computes eagerly on arrays)"
__getattr__ = unsupported.module_getattr(__name__, "keras.backend", {
    "function": _GRAPH + "; read layer outputs with a model of the first layers (Sequential(model.layers[:k]))",
    "placeholder": _GRAPH, "variable": _GRAPH, "constant": _GRAPH, "gradients": _GRAPH,
    "stop_gradient": _GRAPH, "get_session": "TensorFlow sessions do not exist here",
    "set_session": "TensorFlow sessions do not exist here", "tf": "TensorFlow objects do not exist here",
    "tensorflow_backend": "TensorFlow objects do not exist here",
    "is_keras_tensor": _GRAPH, "is_tensor": _GRAPH, "symbolic": _GRAPH, "in_train_phase": _GRAPH,
    "in_test_phase": _GRAPH,
})
