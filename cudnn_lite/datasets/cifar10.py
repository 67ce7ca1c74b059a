"""CIFAR-10: ``load_data()`` like ``keras.datasets.cifar10``.

Reads the official "python version" folder ``cifar-10-batches-py/``
(``data_batch_1`` .. ``data_batch_5``, ``test_batch``) from, in order:
``path`` (the folder itself or its parent), ``$CUDNN_LITE_DATA/cifar10/``
(or its ``cifar-10-batches-py/``), the cache ``~/.cudnn_lite/datasets/cifar10/``
(same two forms); otherwise downloads the official archive into the cache,
verified by SHA-256 and MD5 and extracted safely.

The batches are pickles. They are read with :class:`RestrictedUnpickler`,
which only lets through what the official files need (NumPy array
reconstruction); any other global, such as ``os.system``, is refused
before it is called, so a crafted batch file cannot run code.
"""
from __future__ import annotations

import io
import os
import pickle

import numpy as np

from . import _files
from ._files import DatasetFormatError, DatasetNotFoundError

__all__ = ["load_data", "load_batch", "RestrictedUnpickler", "URL", "SHA256", "MD5"]

URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
SHA256 = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"
MD5 = "c58f30108f718f92721af3b95e74349a"
FOLDER = "cifar-10-batches-py"
TRAIN_BATCHES = [f"data_batch_{i}" for i in range(1, 6)]
TEST_BATCH = "test_batch"


def _reconstruct():
    try:
        from numpy._core.multiarray import _reconstruct as fn  # NumPy >= 2
    except ImportError:  # NumPy 1.x
        from numpy.core.multiarray import _reconstruct as fn
    return fn


_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): lambda: np.ndarray,
    ("numpy", "dtype"): lambda: np.dtype,
    # Python 3 writes bytes as _codecs.encode(str, 'latin1') under protocol 2
    ("_codecs", "encode"): lambda: __import__("_codecs").encode,
    ("builtins", "bytes"): lambda: bytes,
    ("__builtin__", "bytes"): lambda: bytes,
    ("builtins", "bytearray"): lambda: bytearray,
    ("__builtin__", "bytearray"): lambda: bytearray,
}


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that resolves only NumPy array reconstruction and bytes helpers.

    Every other global (functions, classes, modules) raises
    :class:`pickle.UnpicklingError` without being imported or called.
    """

    def find_class(self, module, name):
        factory = _ALLOWED.get((module, name))
        if factory is None:
            raise pickle.UnpicklingError(
                f"refusing to load global {module}.{name!r}: a CIFAR-10 batch holds only NumPy "
                f"arrays, lists and bytes; this file is not an official batch and may try to "
                f"run code")
        return factory()


def _unpickle(path):
    with open(path, "rb") as f:
        raw = f.read()
    try:
        return RestrictedUnpickler(io.BytesIO(raw), encoding="bytes").load()
    except pickle.UnpicklingError as e:
        raise DatasetFormatError(f"{path}: {e}") from None
    except (EOFError, ValueError, TypeError, IndexError, KeyError, AttributeError,
            OverflowError, MemoryError) as e:
        raise DatasetFormatError(f"{path}: corrupt or truncated CIFAR-10 batch "
                                 f"({type(e).__name__}: {e})") from None


def _get(d, key):
    for k in (key.encode(), key):
        if k in d:
            return d[k]
    raise KeyError(key)


def load_batch(path):
    """One batch file -> (images (n, 32, 32, 3) uint8, labels (n,) uint8)."""
    d = _unpickle(path)
    if not isinstance(d, dict):
        raise DatasetFormatError(f"{path}: expected a dict, got {type(d).__name__}")
    try:
        data, labels = _get(d, "data"), _get(d, "labels")
    except KeyError as e:
        raise DatasetFormatError(f"{path}: no {e.args[0]!r} entry; keys: "
                                 f"{sorted(map(repr, d))}") from None
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 \
            or data.shape[1] != 3072:
        desc = f"{data.dtype} {data.shape}" if isinstance(data, np.ndarray) else type(data).__name__
        raise DatasetFormatError(f"{path}: 'data' must be a uint8 array of shape (n, 3072), "
                                 f"got {desc}")
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.shape[0] != data.shape[0] or labels.dtype.kind not in "iu":
        raise DatasetFormatError(f"{path}: 'labels' must hold {data.shape[0]} integers, got "
                                 f"{labels.dtype} {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise DatasetFormatError(f"{path}: labels must be in 0..9")
    x = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(x), labels.astype(np.uint8)


def _has_all(folder):
    return all(os.path.isfile(os.path.join(folder, b)) for b in TRAIN_BATCHES + [TEST_BATCH])


def _download(cache):
    archive = os.path.join(cache, "cifar-10-python.tar.gz")
    _files.download(URL, archive, sha256=SHA256, md5=MD5)
    try:
        _files.safe_extract_tar(archive, cache, top=FOLDER)
    finally:
        os.remove(archive)
    return os.path.join(cache, FOLDER)


def locate(path=None, download=True):
    """The ``cifar-10-batches-py`` folder (downloading into the cache if needed)."""
    dirs = _files.candidate_dirs("cifar10", path, env_subdirs=(FOLDER,), cache_subdirs=(FOLDER,))
    folder = _files.find_dir(dirs, _has_all)
    if folder is not None:
        return folder
    wanted = f"{FOLDER}/ (data_batch_1..5, test_batch)"
    if not download:
        raise DatasetNotFoundError(_files.not_found_message("CIFAR-10", dirs, wanted))
    try:
        return _download(_files.cache_dir("cifar10"))
    except (OSError, ValueError) as e:
        raise DatasetNotFoundError(_files.not_found_message("CIFAR-10", dirs, wanted, e)) from e


def load_data(path=None, download=True):
    """``((x_train, y_train), (x_test, y_test))``: uint8 images (n, 32, 32, 3), labels (n, 1) uint8."""
    folder = locate(path, download)
    xs, ys = zip(*(load_batch(os.path.join(folder, b)) for b in TRAIN_BATCHES))
    x_train, y_train = np.concatenate(xs), np.concatenate(ys).reshape(-1, 1)
    x_test, y_test = load_batch(os.path.join(folder, TEST_BATCH))
    return (x_train, y_train), (x_test, y_test.reshape(-1, 1))
