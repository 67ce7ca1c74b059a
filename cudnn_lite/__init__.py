"""cudnn_lite: small, fast, readable deep-learning kernels under a Keras-like API.

    import cudnn_lite as cl
    cl.build_info()          # how the kernels were compiled
    cl.with_cuda             # compiled with CUDA kernels?
    cl.cuda_emulated         # ... run by the host SIMT emulator (CUDNN_LITE_CUDA=EMULATE)?
    cl.cuda_available()      # a usable GPU (and CuPy), or the emulated device, right now?

Submodules mirror Keras: layers, models, losses, optimizers, callbacks,
metrics, regularizers, initializers, datasets, preprocessing, utils; ``ops`` is
the functional kernel API and ``reference`` its plain-NumPy twin.
"""
from __future__ import annotations

import importlib
import os

# GNU OpenMP reads its spin-wait budget once, when _C loads it. Its default (300,000 spins,
# about a millisecond here) keeps an idle thread burning its core after every fork-join; on
# a busy machine that core time is what the other threads of the step need. 10,000 spins
# (tens of microseconds) covers the gap between two kernels of a step and then sleeps
# (issue 14: benchmarks/bench_contention.py, quiet speed unchanged). Set GOMP_SPINCOUNT or
# OMP_WAIT_POLICY yourself to choose otherwise; no effect if libgomp was loaded already.
if "GOMP_SPINCOUNT" not in os.environ and "OMP_WAIT_POLICY" not in os.environ:
    os.environ["GOMP_SPINCOUNT"] = "10000"

from . import _C, unsupported  # noqa: E402

__version__ = "0.1.0"

#: True when the extension was compiled with the CUDA kernels.
with_cuda: bool = bool(_C.with_cuda)

#: True in the emulated CUDA build (CUDNN_LITE_CUDA=EMULATE): the CUDA kernels run on the host
#: SIMT emulator and the device's arrays are cudnn_lite.emulator's (no GPU, no CuPy).
cuda_emulated: bool = bool(_C.cuda_emulated)


def cuda_available() -> bool:
    """True when the CUDA kernels are compiled in and a device is usable: a visible GPU with
    CuPy importing, or the emulated device (which needs no CuPy)."""
    if not with_cuda or _C.cuda_device_count() <= 0:
        return False
    from . import backend  # backend reads this module's flags: imported here, not at the top
    try:
        backend.xp("cuda")  # imports CuPy (the emulated build's module needs nothing)
    except Exception:  # CuPy missing or broken: the CPU path still works
        return False
    return True


def build_info() -> dict:
    """Compiler, flags, vector ISA, OpenMP threads and CUDA details of this build."""
    info = dict(_C.build_info())
    info["version"] = __version__
    info["with_cuda"] = with_cuda
    info["cuda_emulated"] = cuda_emulated
    info["cuda_devices"] = int(_C.cuda_device_count()) if with_cuda else 0
    return info


def get_num_threads() -> int:
    """Threads the CPU kernels use (OpenMP)."""
    return int(_C.get_num_threads())


def set_num_threads(n: int) -> None:
    """Set the CPU kernels' thread count (like OMP_NUM_THREADS)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n: expected a positive int, got {n!r}")
    _C.set_num_threads(n)


_SUBMODULES = {
    "ops", "reference", "layers", "models", "losses", "optimizers", "callbacks", "metrics",
    "regularizers", "initializers", "activations", "datasets", "preprocessing", "utils",
    "zoo", "backend", "saving", "plotting", "cli", "emulator", "config", "unsupported", "keras_alias",
    "distribute", "thread_governor",
}


#: Keras's top-level names (``keras.Sequential``), each read from its submodule on first use
_TOP_LEVEL = {"Sequential": "models"}

#: Keras's top-level names that cudnn_lite deliberately does not have, and why
_UNSUPPORTED = {
    "Model": "the functional API (Model(inputs, outputs)) is not supported; stack layers in a Sequential",
    "Input": "the functional API (Input(shape)) is not supported; give the first layer input_shape=",
    "applications": "pretrained networks (keras.applications) are not supported; see cudnn_lite.zoo",
    "wrappers": "the scikit-learn wrappers (keras.wrappers) are not supported",
    "engine": "Keras 2's internal graph engine (keras.engine) does not exist here",
}


def __getattr__(name):  # lazy submodules: `cudnn_lite.layers` imports on first use
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    if name in _TOP_LEVEL:
        return getattr(importlib.import_module(f".{_TOP_LEVEL[name]}", __name__), name)
    if name in _UNSUPPORTED:
        raise unsupported.UnsupportedFeatureError(f"keras.{name} is not supported by cudnn_lite: {_UNSUPPORTED[name]}")
    raise AttributeError(f"module 'cudnn_lite' has no attribute {name!r}")


__all__ = ["with_cuda", "cuda_emulated", "cuda_available", "build_info", "get_num_threads",
           "set_num_threads", "Sequential", *sorted(_SUBMODULES)]
