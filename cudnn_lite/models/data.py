"""Data adapters: what fit, evaluate and predict accept (arrays, Sequences, generators and
iterators), checked once, and turned into batches of arrays on the model's device.

- arrays: NumPy arrays (or lists) are checked (numbers, finite), converted to float32 and
  moved to the device once per call; device arrays stay where they are. Each epoch then
  slices them in order, or gathers shuffled batches into reused buffers on the device.
- Sequences (``__len__`` and ``__getitem__`` -> ``(x, y)``, like ``keras.utils.Sequence``):
  indexed in a shuffled order each epoch, then ``on_epoch_end()``.
- generators and iterators: read ``steps`` items per epoch (evaluate and predict: ``steps``
  items, wrapped in :class:`Steps`).

Keras 2's ``max_queue_size``, ``workers`` and ``use_multiprocessing`` are checked
(:func:`check_queue_args`) and accepted; batches are read in order on the calling thread,
which gives the results Keras gives with one worker.
"""
from __future__ import annotations

import numbers

import numpy as np

from .. import backend

__all__ = ["is_array", "is_sequence", "is_iterator", "check_data_arg", "positive_int", "check_queue_args",
           "host_float32", "device_float32", "check_finite", "gather", "array_batches", "generator_batches",
           "Steps", "evaluation_batches"]


# ------------------------------------------------------------------- kinds

def is_array(x):
    return isinstance(x, (np.ndarray, list)) or backend.is_device_array(x)


def is_sequence(x):
    return (not is_array(x) and not isinstance(x, (tuple, str, bytes, dict)) and hasattr(x, "__getitem__")
            and hasattr(x, "__len__"))


def is_iterator(x):
    return not is_array(x) and not is_sequence(x) and (hasattr(x, "__next__") or hasattr(x, "__iter__"))


# ------------------------------------------------------------------ checks

def check_data_arg(x, name):
    """ValueError for things that are neither arrays nor batch generators (a string, a number, a dict)."""
    if x is None:
        raise ValueError(f"{name}: expected an array of samples (batch, ...), got None")
    if isinstance(x, (str, bytes, dict, numbers.Number, np.generic)) or (
            isinstance(x, np.ndarray) and x.ndim == 0):
        raise ValueError(f"{name}: expected an array of samples (batch, ...), got {type(x).__name__}")


def positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"{name}: expected a positive int, got {value!r}")
    return int(value)


def check_queue_args(max_queue_size, workers, use_multiprocessing):
    """Keras 2's generator arguments: max_queue_size > 0, workers >= 0, use_multiprocessing a bool."""
    positive_int(max_queue_size, "max_queue_size")
    if isinstance(workers, bool) or not isinstance(workers, numbers.Integral) or workers < 0:
        raise ValueError(f"workers: expected an int >= 0, got {workers!r}")
    if not isinstance(use_multiprocessing, (bool, np.bool_)):
        raise ValueError(f"use_multiprocessing: expected True or False, got {use_multiprocessing!r}")


def host_float32(a, name):
    """A host array as float32 and C-contiguous (a device array is returned as it is)."""
    if backend.is_device_array(a):
        return a
    what = type(a).__name__
    try:
        arr = np.asarray(a)
        what = f"dtype {arr.dtype}"
        if arr.dtype.kind not in "biufO":  # complex, strings, bytes, records, datetimes
            raise TypeError(what)
        with np.errstate(over="ignore"):  # values beyond float32 become inf: check_finite names them
            return np.ascontiguousarray(arr, dtype=np.float32)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected an array of numbers (bool, int or float), got {what}") from None


def device_float32(xp, a, name):
    """A GPU array as float32 and C-contiguous on its device (no copy when it already is)."""
    if a.dtype.kind not in "biuf":
        raise ValueError(f"{name}: expected an array of numbers (bool, int or float), got dtype {a.dtype}")
    return xp.ascontiguousarray(a, dtype=np.float32)


def check_finite(a, name):
    """ValueError naming ``name`` if a host array holds NaN or Inf (checked once per fit/evaluate)."""
    if isinstance(a, np.ndarray) and a.dtype.kind == "f" and a.size and not np.isfinite(a).all():
        bad = int(a.size - np.count_nonzero(np.isfinite(a)))
        raise ValueError(f"{name}: holds {bad} NaN or infinite value(s); clean the data (e.g. numpy.nan_to_num) "
                         "before training")
    return a


# ----------------------------------------------------------------- batches

def gather(xp, a, idx, out):
    """out[:] = a[idx] along axis 0 without allocating."""
    if xp is np:
        return np.take(a, idx, axis=0, out=out, mode="clip")
    return xp.take(a, idx, axis=0, out=out)


def array_batches(x, y, batch_size, shuffle, rng, buffers):
    """Yield (x_batch, y_batch) for one epoch over the device arrays x, y: slices in order, or,
    with ``shuffle``, batches of a permutation drawn from ``rng``, gathered on the device into
    arrays of ``buffers`` (a backend.BufferCache)."""
    xp = backend.array_module(x)
    n = x.shape[0]
    if shuffle:
        order = backend.to_device(rng.permutation(n).astype(np.int64), backend.device_of(x))
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        if not shuffle:
            yield x[start:stop], y[start:stop]
            continue
        idx = order[start:stop]
        xb = gather(xp, x, idx, buffers.get("xb", (stop - start,) + x.shape[1:], like=x))
        yb = gather(xp, y, idx, buffers.get("yb", (stop - start,) + y.shape[1:], like=y))
        yield xb, yb


def generator_batches(gen, steps, shuffle, rng, unpack):
    """Yield ``steps`` batches of a Sequence (in a shuffled order; repeated when ``steps`` is
    longer; then its on_epoch_end) or of a generator/iterator; ``unpack`` turns an item into
    device arrays (x, y)."""
    if is_sequence(gen):
        order = rng.permutation(len(gen)) if shuffle else np.arange(len(gen))
        if steps > len(order):
            order = np.concatenate([order] * (-(-steps // len(order))))
        for i in order[:steps]:
            yield unpack(gen[int(i)])
        if hasattr(gen, "on_epoch_end"):
            gen.on_epoch_end()
    else:
        it = gen if hasattr(gen, "__next__") else iter(gen)
        for _ in range(steps):
            try:
                item = next(it)
            except StopIteration:
                raise ValueError(f"the generator stopped before {steps} steps; give steps_per_epoch") from None
            yield unpack(item)


class Steps:
    """The first ``steps`` items of a Sequence (in order) or of a generator/iterator (read on
    demand): what evaluate and predict walk through when given ``steps``."""

    def __init__(self, source, steps, name="steps"):
        self.source = source
        self.steps = positive_int(steps, name)
        if is_sequence(source) and self.steps > len(source):
            raise ValueError(f"{name}: {steps} is more than the {len(source)} batches of the Sequence")

    def __len__(self):
        return self.steps

    def __iter__(self):
        if is_sequence(self.source):
            return (self.source[i] for i in range(self.steps))
        return self._read(self.source if hasattr(self.source, "__next__") else iter(self.source))

    def _read(self, it):
        for _ in range(self.steps):
            try:
                yield next(it)
            except StopIteration:
                raise ValueError(f"the generator stopped before {self.steps} steps") from None


def evaluation_batches(data, batch_size, unpack):
    """Batches in order of (x, y) device arrays, of every item of a Sequence, or of Steps."""
    if isinstance(data, tuple):
        x, y = data
        return ((x[i:i + batch_size], y[i:i + batch_size]) for i in range(0, x.shape[0], batch_size))
    if isinstance(data, Steps):
        return (unpack(item) for item in data)
    return (unpack(data[i]) for i in range(len(data)))
