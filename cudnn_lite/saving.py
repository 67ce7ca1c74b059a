"""Model and weight files: a portable ``.npz`` format, no pickle, written atomically.

Format (version 1). A file is a NumPy ``.npz`` archive (a zip of ``.npy``
arrays, readable with ``numpy.load(path, allow_pickle=False)``) holding:

* ``__cudnn_lite__``: uint8 array, the UTF-8 bytes of a JSON header::

      {"format": "cudnn_lite", "version": 1, "kind": "model" | "weights",
       "weights": [{"layer": "dense", "name": "kernel", "shape": [784, 512], "dtype": "float32"}, ...],
       "model": {"class_name": "Sequential", "config": {...}},          # the architecture
       "compile": {"loss": "...", "metrics": [...]} | null,            # kind "model" only
       "optimizer": {"class_name": "Adam", "config": {...}, "iterations": 10,
                     "scalars": {...}, "slots": [[true, true], ...]} | null}

* ``weights/0000``, ``weights/0001``, ...: float32 arrays in ``model.get_weights()``
  order (Keras's layouts: conv kernels HWIO, dense (in, out), batch norm gamma,
  beta, moving mean, moving variance).
* ``optimizer/0000/0``, ``optimizer/0000/1``, ...: optimizer slots of trainable
  weight i (kind "model" with a compiled optimizer only).

The format is written whatever the file name says: ``model.save('m.h5')`` and
``ModelCheckpoint('model.weights.best.hdf5')`` (the textbook's names) write
this format under that name, and ``load_weights``/``load_model`` read it back.
HDF5 files written by Keras are not read (a clear ValueError says so).

Writes go to a temporary file in the destination folder, are flushed and
fsync'ed, then renamed over the destination (``os.replace``): a crash or an
error leaves the previous file intact. Loading validates the format key, the
version, and every weight's name, shape and dtype, and raises ``ValueError`` on
a truncated, corrupted or foreign file.
"""
from __future__ import annotations

import json
import os
import tempfile
import zipfile

import numpy as np

__all__ = ["FORMAT", "VERSION", "save_model", "load_model", "save_weights", "load_weights", "read_file",
           "write_file"]

FORMAT = "cudnn_lite"
VERSION = 1
HEADER_KEY = "__cudnn_lite__"


# --------------------------------------------------------------- low level

def _write_npz(f, arrays):
    """Write the archive to an open binary file (a seam the tests use to inject failures)."""
    np.savez(f, **arrays)


def write_file(path, header: dict, arrays: dict) -> None:
    """Atomically write ``header`` (JSON) and ``arrays`` to ``path``."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    payload = {HEADER_KEY: np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8)}
    for key, value in arrays.items():
        payload[key] = np.ascontiguousarray(value)
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            _write_npz(f, payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:  # make the rename durable (best effort; not possible on every OS)
        dfd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


def read_file(path):
    """(header dict, arrays dict) of a cudnn_lite file; ValueError if it is not one."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such file: {path!r}")
    with open(path, "rb") as f:
        magic = f.read(8)
    if magic.startswith(b"\x89HDF"):
        raise ValueError(f"{path}: an HDF5 file (written by Keras?); cudnn_lite reads only its own .npz format "
                         "(see cudnn_lite.saving)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            if not hasattr(archive, "files"):
                raise ValueError("a bare .npy array, not an archive")
            if HEADER_KEY not in archive.files:
                raise ValueError(f"no {HEADER_KEY!r} entry")
            arrays = {k: archive[k] for k in archive.files}
        header = json.loads(arrays.pop(HEADER_KEY).tobytes().decode("utf-8"))
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError, UnicodeDecodeError,
            json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a readable cudnn_lite file (truncated, corrupted or another format): "
                         f"{exc}") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ValueError(f"{path}: not a cudnn_lite file (format key {header.get('format') if isinstance(header, dict) else None!r})")
    if header.get("version") != VERSION:
        raise ValueError(f"{path}: unsupported cudnn_lite file version {header.get('version')!r} "
                         f"(this version reads {VERSION})")
    return header, arrays


# ------------------------------------------------------------------ models

def _weight_entries(model):
    entries = []
    for layer in model.layers:
        for w in layer.weights:
            entries.append({"layer": layer.name, "name": w.name, "shape": list(w.shape), "dtype": "float32"})
    return entries


def _weights_arrays(model):
    return {f"weights/{i:04d}": w.astype(np.float32) for i, w in enumerate(model.get_weights())}


def save_weights(model, path) -> None:
    """Weights only (plus the architecture, for checking)."""
    if not model.built:
        raise ValueError("the model is not built yet: there are no weights to save")
    header = {"format": FORMAT, "version": VERSION, "kind": "weights", "weights": _weight_entries(model),
              "model": {"class_name": type(model).__name__, "config": model.get_config()}}
    write_file(path, header, _weights_arrays(model))


def _check_weights(path, header, arrays, model):
    entries = header.get("weights")
    if not isinstance(entries, list):
        raise ValueError(f"{path}: header has no weight list")
    mine = _weight_entries(model)
    if len(entries) != len(mine):
        raise ValueError(f"{path}: holds {len(entries)} weight arrays, the model has {len(mine)}")
    values = []
    for i, (saved, want) in enumerate(zip(entries, mine)):
        key = f"weights/{i:04d}"
        if key not in arrays:
            raise ValueError(f"{path}: missing array {key!r}")
        a = arrays[key]
        if a.dtype != np.float32 or saved.get("dtype") != "float32":
            raise ValueError(f"{path}: weight {i} ({saved.get('layer')}/{saved.get('name')}) has dtype {a.dtype}, "
                             "expected float32")
        if list(a.shape) != list(saved.get("shape", [])) or list(a.shape) != want["shape"]:
            raise ValueError(f"{path}: weight {i} ({saved.get('layer')}/{saved.get('name')}) has shape "
                             f"{tuple(a.shape)}, the model's {want['layer']}/{want['name']} has {tuple(want['shape'])}")
        if saved.get("name") != want["name"]:
            raise ValueError(f"{path}: weight {i} is {saved.get('layer')}/{saved.get('name')}, the model expects "
                             f"a {want['name']!r} weight ({want['layer']})")
        values.append(a)
    return values


def load_weights(model, path) -> None:
    """Load weights saved by save_weights or save_model into a model of the same architecture."""
    header, arrays = read_file(path)
    if not model.built:
        cfg = header.get("model", {}).get("config", {})
        if cfg.get("build_input_shape") is None:
            raise ValueError("the model is not built: build it (or give the first layer input_shape) first")
        model.build(tuple(cfg["build_input_shape"]))
    model.set_weights(_check_weights(path, header, arrays, model))


def save_model(model, path, include_optimizer=True) -> None:
    """Architecture + weights + compile arguments + optimizer config and state."""
    if not model.built:
        raise ValueError("the model is not built yet: there is nothing to save")
    from . import optimizers as _optimizers
    header = {"format": FORMAT, "version": VERSION, "kind": "model", "weights": _weight_entries(model),
              "model": {"class_name": type(model).__name__, "config": model.get_config()},
              "compile": None, "optimizer": None}
    arrays = _weights_arrays(model)
    if model.optimizer is not None:
        header["compile"] = model._compile_config()
        if include_optimizer:
            state = model.optimizer.get_state()
            header["optimizer"] = {**_optimizers.serialize(model.optimizer), "iterations": state["iterations"],
                                   "scalars": state["scalars"],
                                   "slots": [[s is not None for s in pair] for pair in state["slots"]]}
            for i, pair in enumerate(state["slots"]):
                for j, s in enumerate(pair):
                    if s is not None:
                        arrays[f"optimizer/{i:04d}/{j}"] = s.astype(np.float32)
    write_file(path, header, arrays)


def load_model(path, custom_objects=None, compile=True):
    """A Sequential rebuilt from a file written by save_model (weights, compile, optimizer state)."""
    from . import optimizers as _optimizers
    from .models import Sequential
    header, arrays = read_file(path)
    model_cfg = header.get("model")
    if not isinstance(model_cfg, dict) or model_cfg.get("class_name") != "Sequential":
        raise ValueError(f"{path}: holds no Sequential architecture")
    model = Sequential.from_config(model_cfg["config"], custom_objects=custom_objects)
    if not model.built:
        raise ValueError(f"{path}: the saved architecture has no input shape")
    model.set_weights(_check_weights(path, header, arrays, model))
    comp = header.get("compile")
    if compile and comp:
        opt_header = header.get("optimizer")
        optimizer = _optimizers.deserialize(opt_header) if opt_header else comp.get("optimizer", "rmsprop")
        model.compile(optimizer=optimizer, loss=comp["loss"], metrics=comp.get("metrics"))
        if opt_header:
            params = [w.value for w in model.trainable_weights]
            slots = []
            for i, flags in enumerate(opt_header.get("slots", [])):
                pair = []
                for j, present in enumerate(flags):
                    key = f"optimizer/{i:04d}/{j}"
                    if present and key not in arrays:
                        raise ValueError(f"{path}: missing optimizer array {key!r}")
                    pair.append(arrays[key] if present else None)
                slots.append(pair)
            if len(slots) not in (0, len(params)):
                raise ValueError(f"{path}: optimizer state for {len(slots)} weights, the model trains {len(params)}")
            model.optimizer.set_state({"iterations": opt_header.get("iterations", 0),
                                       "scalars": opt_header.get("scalars", {}), "slots": slots},
                                      params if slots else None)
    return model
