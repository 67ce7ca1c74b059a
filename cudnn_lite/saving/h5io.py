"""Strict, safe reading of HDF5 files through h5py (the library Keras itself uses).

Every dataset is looked up through a hard link inside the file (external and soft links, virtual
datasets and external storage, which would read other files, are refused), and its dtype and
shape are checked against what the model expects before a byte of data is read, so a hostile
file cannot make us allocate more than the model's own size. Whatever h5py or HDF5 raise on a
truncated, corrupted or foreign file (OSError, KeyError, TypeError, ...) becomes a ``ValueError``
naming the file (:class:`errors_named`).
"""
from __future__ import annotations

import contextlib
import json
import os
import zipfile
import zlib

import h5py
import numpy as np

__all__ = ["errors_named", "open_h5", "group", "dataset", "attr_strings", "attr_json", "has_group",
           "write_string_list"]

_CONVERTED = (OSError, KeyError, TypeError, ValueError, RuntimeError, AttributeError, IndexError,
              UnicodeDecodeError, json.JSONDecodeError, zlib.error, EOFError, OverflowError, MemoryError,
              NotImplementedError, zipfile.BadZipFile, zipfile.LargeZipFile)


@contextlib.contextmanager
def errors_named(label):
    """Re-raise the errors of reading (ours and h5py's) as ValueError('<label>: ...')."""
    try:
        yield
    except FileNotFoundError:
        raise
    except _CONVERTED as exc:
        message = str(exc)
        if message.startswith(f"{label}: "):
            raise ValueError(message) from None
        raise ValueError(f"{label}: {message or type(exc).__name__}") from None


@contextlib.contextmanager
def open_h5(source, label):
    """An h5py.File opened read-only on a path or a binary file object; errors name ``label``."""
    if isinstance(source, (str, os.PathLike)) and not os.path.exists(source):
        raise FileNotFoundError(f"no such file: {os.fspath(source)!r}")
    with errors_named(label):
        try:
            f = h5py.File(source, "r")
        except OSError as exc:
            raise ValueError(f"not a readable HDF5 file (truncated, corrupted or another format): {exc}") from None
        with f:
            yield f


def _hard(parent, name, kind, what):
    if name not in parent:
        raise ValueError(f"missing {what} {_where(parent, name)!r}")
    link = parent.get(name, getlink=True)
    if not isinstance(link, h5py.HardLink):
        raise ValueError(f"{what} {_where(parent, name)!r} is a {type(link).__name__}, not stored in this file")
    obj = parent[name]
    if not isinstance(obj, kind):
        raise ValueError(f"{_where(parent, name)!r} is not a {what}")
    return obj


def _where(parent, name):
    base = parent.name.rstrip("/")
    return f"{base}/{name}" if base else f"/{name}"


def has_group(parent, name):
    return name in parent and isinstance(parent.get(name, getlink=True), h5py.HardLink) and \
        isinstance(parent[name], h5py.Group)


def group(parent, name):
    """The subgroup ``name`` of ``parent`` (a hard link), else ValueError."""
    return _hard(parent, name, h5py.Group, "group")


def dataset(parent, name, shape, label=None):
    """The float32 array stored at ``parent/name``, checked to have ``shape`` before it is read."""
    ds = _hard(parent, name, h5py.Dataset, "dataset")
    what = label or _where(parent, name)
    if ds.is_virtual or ds.external:
        raise ValueError(f"dataset {what!r} refers to data outside this file")
    if ds.dtype != np.float32:
        raise ValueError(f"dataset {what!r} has dtype {ds.dtype}, expected float32")
    if tuple(ds.shape) != tuple(shape):
        raise ValueError(f"dataset {what!r} has shape {tuple(ds.shape)}, expected {tuple(shape)}")
    value = np.empty(tuple(shape), dtype=np.float32)
    if value.size:
        ds.read_direct(value)
    return value


def _decode(item):
    if isinstance(item, (bytes, np.bytes_)):
        return bytes(item).decode("utf-8")
    if isinstance(item, str):
        return item
    raise ValueError(f"expected a string attribute, got {item!r:.60}")


def _raw_attr(obj, key):
    if key in obj.attrs:
        return obj.attrs[key]
    if f"{key}0" in obj.attrs:  # Keras splits attributes over HDF5's 64 KiB limit: key0, key1, ...
        parts, i = [], 0
        while f"{key}{i}" in obj.attrs:
            parts.extend(np.asarray(obj.attrs[f"{key}{i}"]).ravel().tolist())
            i += 1
        return np.asarray(parts, dtype=object)
    return None


def attr_strings(obj, key, required=True):
    """A list-of-strings attribute (Keras's layer_names, weight_names); [] for an empty one."""
    value = _raw_attr(obj, key)
    if value is None:
        if required:
            raise ValueError(f"{obj.name!r} has no {key!r} attribute")
        return None
    value = np.asarray(value)
    if value.size == 0:
        return []
    if value.ndim != 1:
        raise ValueError(f"attribute {key!r} of {obj.name!r} is not a list of strings")
    return [_decode(v) for v in value.tolist()]


def attr_json(obj, key, required=True):
    """A JSON-string attribute (Keras's model_config, training_config), parsed (never evaluated)."""
    value = obj.attrs.get(key)
    if value is None:
        if required:
            raise ValueError(f"no {key!r} attribute (not a Keras model file)")
        return None
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value[()]
    return json.loads(_decode(value))


def write_string_list(obj, key, strings):
    """A list-of-strings attribute as Keras writes it (fixed-length UTF-8 bytes)."""
    obj.attrs[key] = np.asarray([s.encode("utf-8") for s in strings]) if strings else np.asarray([])
