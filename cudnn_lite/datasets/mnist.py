"""MNIST handwritten digits: ``load_data()`` like ``keras.datasets.mnist``.

Reads the four official IDX files (``train-images-idx3-ubyte.gz`` and so on,
gzip-compressed or not) from, in order: ``path``, ``$CUDNN_LITE_DATA/mnist/``,
``~/.cudnn_lite/datasets/mnist/``; otherwise downloads them into that cache,
checking each file's SHA-256 (of its uncompressed content, which is what
identifies MNIST: mirrors re-compress it) before it is used.
"""
from __future__ import annotations

import gzip
import hashlib
import os
import zlib

import numpy as np

from . import _files
from ._files import DatasetFormatError, DatasetNotFoundError

__all__ = ["load_data", "read_idx", "FILES", "MIRROR"]

MIRROR = "https://ossci-datasets.s3.amazonaws.com/mnist/"

#: base name -> SHA-256 of the uncompressed official file (whose MD5 is the published one)
FILES = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def _file_in(folder, base):
    """The .gz or uncompressed file for ``base`` in ``folder``, or None."""
    for name in (base + ".gz", base):
        p = os.path.join(folder, name)
        if os.path.isfile(p):
            return p
    return None


def _has_all(folder):
    return all(_file_in(folder, base) is not None for base in FILES)


def _read_bytes(path):
    """The file's content, gunzipped when it is gzip (by magic bytes, not by name)."""
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as e:
        raise DatasetFormatError(f"{path}: corrupt or truncated gzip file ({e}); delete it "
                                 f"and download it again") from None


def read_idx(path, expected_ndim=None):
    """Parse an IDX file (optionally gzip-compressed) into a NumPy array, validating it."""
    data = _read_bytes(path)
    if len(data) < 4:
        raise DatasetFormatError(f"{path}: too short for an IDX file ({len(data)} bytes)")
    zero, dtype_code, ndim = int.from_bytes(data[:2], "big"), data[2], data[3]
    if zero != 0 or dtype_code not in _IDX_TYPES or ndim == 0:
        raise DatasetFormatError(f"{path}: not an IDX file (magic number "
                                 f"0x{int.from_bytes(data[:4], 'big'):08x})")
    if expected_ndim is not None and ndim != expected_ndim:
        raise DatasetFormatError(f"{path}: expected an IDX file with {expected_ndim} dimensions "
                                 f"(magic 0x{0x800 + expected_ndim:08x}), got {ndim}")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DatasetFormatError(f"{path}: truncated IDX header")
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_IDX_TYPES[dtype_code])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) - header != expected:
        raise DatasetFormatError(f"{path}: IDX header says shape {shape} ({expected} bytes of "
                                 f"data) but the file holds {len(data) - header}; the file is "
                                 f"truncated or corrupt")
    arr = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return arr.astype(dtype.newbyteorder("=")) if dtype.byteorder == ">" else arr.copy()


def _verify_download(base):
    def verify(tmp_path):
        content = _read_bytes(tmp_path)
        got = hashlib.sha256(content).hexdigest()
        if got != FILES[base]:
            raise _files.ChecksumError(f"downloaded {base}: SHA-256 of the content {got} does not "
                                       f"match the official {FILES[base]}")
    return verify


def _download_all(folder):
    for base in FILES:
        if _file_in(folder, base) is None:
            _files.download(MIRROR + base + ".gz", os.path.join(folder, base + ".gz"),
                            verify=_verify_download(base))


def _load_split(folder, images, labels):
    x = read_idx(_file_in(folder, images), expected_ndim=3)
    y = read_idx(_file_in(folder, labels), expected_ndim=1)
    if x.dtype != np.uint8 or y.dtype != np.uint8:
        raise DatasetFormatError(f"{folder}: MNIST files must hold unsigned bytes")
    if x.shape[0] != y.shape[0]:
        raise DatasetFormatError(f"{folder}: {images} holds {x.shape[0]} images but {labels} "
                                 f"holds {y.shape[0]} labels")
    if x.shape[1:] != (28, 28):
        raise DatasetFormatError(f"{folder}: {images}: expected 28x28 images, got {x.shape[1:]}")
    if y.size and y.max() > 9:
        raise DatasetFormatError(f"{folder}: {labels}: label {int(y.max())} is not a digit")
    return x, y


def locate(path=None, download=True):
    """The folder holding the four files (downloading into the cache if needed)."""
    dirs = _files.candidate_dirs("mnist", path)
    folder = _files.find_dir(dirs, _has_all)
    if folder is not None:
        return folder
    wanted = ", ".join(f"{b}.gz" for b in FILES)
    if not download:
        raise DatasetNotFoundError(_files.not_found_message("MNIST", dirs, wanted))
    cache = _files.cache_dir("mnist")
    try:
        _download_all(cache)
    except (OSError, _files.ChecksumError, DatasetFormatError) as e:
        if isinstance(e, DatasetNotFoundError):
            raise
        raise DatasetNotFoundError(_files.not_found_message("MNIST", dirs, wanted, e)) from e
    return cache


def load_data(path=None, download=True):
    """``((x_train, y_train), (x_test, y_test))``: uint8 images (n, 28, 28) and labels (n,).

    ``path``: a folder holding the four IDX files (.gz or uncompressed).
    ``download=False`` never touches the network.
    """
    folder = locate(path, download)
    train = _load_split(folder, "train-images-idx3-ubyte", "train-labels-idx1-ubyte")
    test = _load_split(folder, "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
    return train, test
