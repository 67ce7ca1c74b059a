"""Model and weight files: a portable ``.npz`` format, no pickle, written atomically.

:mod:`cudnn_lite.saving` calls this module for ``.npz`` names and for resumable training
state; it never imports the models package, so the dependency runs one way.

Format (version 1). A file is a NumPy ``.npz`` archive (a zip of ``.npy``
arrays, readable with ``numpy.load(path, allow_pickle=False)``) holding:

* ``__cudnn_lite__``: uint8 array, the UTF-8 bytes of a JSON header::

      {"format": "cudnn_lite", "version": 1, "kind": "model" | "weights",
       "weights": [{"layer": "dense", "name": "kernel", "shape": [784, 512], "dtype": "float32"}, ...],
       "model": {"class_name": "Sequential", "config": {...}},          # the architecture
       "compile": {"loss": "...", "metrics": [...]} | null,            # kind "model" only
       "optimizer": {"class_name": "Adam", "config": {...}, "iterations": 10,
                     "scalars": {...}, "slots": [[true, true], ...]} | null,
       "training": {"epoch": 3,                                        # kind "model" only
                    "rng": {...numpy bit_generator.state of backend.rng()...},
                    "layers": {"dropout": {"seed": ..., "offset": ...}}}}

* ``weights/0000``, ``weights/0001``, ...: float32 arrays in ``model.get_weights()``
  order (Keras's layouts: conv kernels HWIO, dense (in, out), batch norm gamma,
  beta, moving mean, moving variance).
* ``optimizer/0000/0``, ``optimizer/0000/1``, ...: optimizer slots of trainable
  weight i (kind "model" with a compiled optimizer only).

This format is written for ``.npz`` names and any name Keras has no format for; ``.keras``,
``.weights.h5`` and ``.h5``/``.hdf5`` names get Keras's formats (:mod:`cudnn_lite.saving`).
Files of this format written by earlier versions under a Keras name (``model.h5``) are still
read: reading goes by the file's content.

Resuming: ``save_model`` also records the training state (completed epochs
``model.epoch``, the shuffling generator of ``backend.rng()`` and each dropout
layer's mask-stream position); ``load_model`` restores it, including the
global ``backend.rng()`` state (call ``backend.set_random_seed`` afterwards to
override), so ``fit(..., initial_epoch=model.epoch)`` on the CPU continues
with bit-identical losses to an uninterrupted run.

Writes are atomic (:func:`.files.atomic_write`): a crash or an error leaves the previous file
intact, and a new file gets ``0o666 & ~umask`` like any other tool's. Loading validates the format key, the
version, and every weight's name, shape and dtype, and raises ``ValueError`` on
a truncated, corrupted or foreign file.
"""
from __future__ import annotations

import json
import os
import re
import struct
import zipfile
import zlib

import numpy as np

from .. import backend
from .. import optimizers as _optimizers
from ..files import atomic_write

__all__ = ["FORMAT", "VERSION", "save_model", "rebuild_model", "save_weights", "load_weights", "read_file",
           "write_file"]

FORMAT = "cudnn_lite"
VERSION = 1
HEADER_KEY = "__cudnn_lite__"
_EXPECTED_KEY = re.compile(r"^(__cudnn_lite__|weights/\d{4,}|optimizer/\d{4,}/[01])$")


# --------------------------------------------------------------- low level

def _write_npz(f, arrays):
    """Write the archive to an open binary file (a seam the tests use to inject failures)."""
    np.savez(f, **arrays)


def write_file(path, header: dict, arrays: dict) -> None:
    """Atomically write ``header`` (JSON) and ``arrays`` to ``path`` (see :mod:`.files`)."""
    payload = {HEADER_KEY: np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8)}
    for key, value in arrays.items():
        payload[key] = np.ascontiguousarray(value)

    def write(tmp):
        with open(tmp, "wb") as f:
            _write_npz(f, payload)
            f.flush()

    atomic_write(path, write)


def _check_declared_sizes(path):
    """Every .npy member must hold the bytes its header declares, so a tiny hostile file cannot
    make np.load allocate a huge array up front (a zip entry's size is checked, not trusted blindly:
    compressed data still expands to at most file_size bytes)."""
    with zipfile.ZipFile(path) as z:
        for info in z.infolist():
            with z.open(info) as f:
                version = np.lib.format.read_magic(f)
                if version == (1, 0):
                    shape, _, dtype = np.lib.format.read_array_header_1_0(f)
                elif version == (2, 0):
                    shape, _, dtype = np.lib.format.read_array_header_2_0(f)
                else:
                    raise ValueError(f"{info.filename}: unsupported .npy version {version}")
                declared = int(np.prod(shape, dtype=object)) * dtype.itemsize
                if declared > info.file_size:
                    raise ValueError(f"{info.filename}: declares {declared} bytes of data but holds "
                                     f"{info.file_size}")


def read_file(path):
    """(header dict, arrays dict) of a cudnn_lite file; ValueError if it is not one."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such file: {path!r}")
    with open(path, "rb") as f:
        magic = f.read(8)
    if magic.startswith(b"\x89HDF"):
        raise ValueError(f"{path}: an HDF5 file, not a cudnn_lite .npz file (Keras's HDF5 files are read by "
                         "load_weights/load_model; see cudnn_lite.saving)")
    try:
        _check_declared_sizes(path)
        with np.load(path, allow_pickle=False) as archive:
            if not hasattr(archive, "files"):
                raise ValueError("a bare .npy array, not an archive")
            if HEADER_KEY not in archive.files:
                raise ValueError(f"no {HEADER_KEY!r} entry")
            unexpected = [k for k in archive.files if not _EXPECTED_KEY.match(k)]
            if unexpected:
                raise ValueError(f"unexpected entries {unexpected[:5]}")
            arrays = {k: archive[k] for k in archive.files}
        if not all(isinstance(a, np.ndarray) for a in arrays.values()):
            raise ValueError("an entry is not a .npy array")
        header = json.loads(arrays.pop(HEADER_KEY).tobytes().decode("utf-8"))
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError, UnicodeDecodeError,
            json.JSONDecodeError, NotImplementedError, RuntimeError, zlib.error, struct.error,
            OverflowError, MemoryError) as exc:
        # (zipfile raises NotImplementedError/RuntimeError for some flag/compression bits a
        # flipped byte can set, zlib.error for damaged deflate data, struct.error for short headers)
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


class _HeaderErrors:
    """Turn the AttributeError/TypeError/KeyError of a malformed (hand-edited or hostile) header
    into a ValueError naming the file."""

    def __init__(self, path):
        self.path = path

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        if kind is not None and issubclass(kind, (AttributeError, TypeError, KeyError, IndexError)):
            raise ValueError(f"{self.path}: malformed cudnn_lite header ({kind.__name__}: {exc})") from None
        return False


def load_weights(model, path) -> None:
    """Load weights saved by save_weights or save_model into a model of the same architecture."""
    header, arrays = read_file(path)
    with _HeaderErrors(path):
        _load_weights(model, path, header, arrays)


def _load_weights(model, path, header, arrays):
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
    header["training"] = _training_state(model)
    write_file(path, header, arrays)


def _training_state(model):
    return {"epoch": int(getattr(model, "epoch", 0)), "rng": backend.rng().bit_generator.state,
            "layers": {layer.name: layer.get_rng_state() for layer in model.layers
                       if hasattr(layer, "get_rng_state")}}


def _restore_training_state(path, model, state):
    """Epoch, dropout streams and the shuffling generator from a save_model header (absent: skip)."""
    if state is None:
        return
    try:
        epoch = state.get("epoch", 0)
        if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
            raise ValueError(f"epoch must be a non-negative int, got {epoch!r}")
        layers = state.get("layers", {})
        for layer in model.layers:
            if hasattr(layer, "set_rng_state") and layer.name in layers:
                layer.set_rng_state(layers[layer.name])
        rng_state = state.get("rng")
        if rng_state is not None:
            gen = backend.rng()
            probe = type(gen.bit_generator)()
            probe.state = rng_state  # validates the dict before the live generator is touched
            gen.bit_generator.state = rng_state
        model.epoch = epoch
    except (AttributeError, TypeError, ValueError, KeyError) as exc:
        raise ValueError(f"{path}: invalid training state: {exc}") from None


def rebuild_model(path, model_class, custom_objects=None, compile=True):
    """A ``model_class`` (``cudnn_lite.models.Sequential``: what ``models.load_model`` passes)
    rebuilt from a file written by save_model: architecture, weights, compile arguments,
    optimizer and training state. The architecture must name that class; its layers come only
    from cudnn_lite's layer registry and ``custom_objects``."""
    header, arrays = read_file(path)
    with _HeaderErrors(path):
        return _rebuild_model(path, header, arrays, model_class, custom_objects, compile)


def _rebuild_model(path, header, arrays, model_class, custom_objects, compile):
    model_cfg = header.get("model")
    name = model_class.__name__
    if not isinstance(model_cfg, dict) or model_cfg.get("class_name") != name:
        raise ValueError(f"{path}: holds no {name} architecture")
    model = model_class.from_config(model_cfg["config"], custom_objects=custom_objects)
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
    _restore_training_state(path, model, header.get("training"))
    return model
