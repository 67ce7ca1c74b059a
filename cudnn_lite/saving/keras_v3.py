"""Keras 3's own formats: ``.weights.h5`` and the ``.keras`` archive.

``.weights.h5`` (``keras/src/saving/saving_lib.py``, ``H5IOStore``)::

    /vars                       group, attribute name = the model's name (no datasets)
    /layers/<path>/vars         group, attribute name = the layer's name
    /layers/<path>/vars/0, 1..  the layer's variables, trainable then non-trainable, in creation
                                order: Dense/Conv2D kernel (in, out) / HWIO, bias; BatchNormalization
                                gamma, beta, moving_mean, moving_variance
    /optimizer/vars/0, 1..      (compiled Keras models) iterations, learning rate, slots

``<path>`` is the snake_case class name, numbered in layer order per class, not the layer's name
(``dense``, ``dense_1``, ``conv2d``, ``batch_normalization``...). Every layer of a Sequential
has its group, weights or not; the InputLayer has none.

``.keras``: a zip of ``metadata.json`` (``keras_version``, ``date_saved``), ``config.json`` (the
architecture, :mod:`.keras_config`'s "v3" flavour, with the ``compile_config``) and
``model.weights.h5`` (the layout above).

Optimizer state: not written (a ``.weights.h5``/``.keras`` from here has no ``/optimizer``
group) and not read (Keras's is ignored); resumable training state lives in ``.npz`` files.
"""
from __future__ import annotations

import datetime
import io
import json
import zipfile

import h5py
import numpy as np

from . import h5io
from ..files import atomic_write
from .keras_config import compile_from_keras, compile_to_keras, keras_class_path, model_to_keras, \
    model_from_keras

__all__ = ["save_weights", "load_weights", "save_model", "load_model", "is_keras_archive", "read_weights_h5"]

WRITER_VERSION = "3.0.0"  # the Keras format version our files follow (metadata.json's keras_version)
_CONFIG, _METADATA, _WEIGHTS = "config.json", "metadata.json", "model.weights.h5"
_MAX_JSON = 64 << 20


def _layer_paths(model):
    seen, paths = {}, []
    for layer in model.layers:
        base = keras_class_path(type(layer).__name__)
        n = seen.get(base, 0)
        seen[base] = n + 1
        paths.append(base if n == 0 else f"{base}_{n}")
    return paths


# ------------------------------------------------------------------ writing

def _write_weights_h5(f, model):
    """The weights in Keras 3's layout, into an open, writable h5py.File."""
    f.create_group("vars").attrs["name"] = model.name
    layers = f.create_group("layers")
    for layer, path in zip(model.layers, _layer_paths(model)):
        vars_ = layers.create_group(path).create_group("vars")
        vars_.attrs["name"] = layer.name
        for i, value in enumerate(layer.get_weights()):
            vars_.create_dataset(str(i), data=np.ascontiguousarray(value, dtype=np.float32))


def save_weights(model, path):
    """``model.save_weights('x.weights.h5')``: Keras 3's weights file, written atomically."""
    if not model.built:
        raise ValueError("the model is not built yet: there are no weights to save")

    def write(tmp):
        with h5py.File(tmp, "w") as f:
            _write_weights_h5(f, model)

    atomic_write(path, write)


def save_model(model, path):
    """``model.save('x.keras')``: the Keras 3 archive (architecture, compile config, weights)."""
    config = model_to_keras(model, "v3")
    compiled = compile_to_keras(model, "v3")
    if compiled is not None:
        config["compile_config"] = compiled
    metadata = {"keras_version": WRITER_VERSION, "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
                "writer": "cudnn_lite"}
    weights = io.BytesIO()
    with h5py.File(weights, "w") as f:
        _write_weights_h5(f, model)

    def write(tmp):
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as z:
            z.writestr(_METADATA, json.dumps(metadata))
            z.writestr(_CONFIG, json.dumps(config))
            z.writestr(_WEIGHTS, weights.getvalue(), compress_type=zipfile.ZIP_STORED)

    atomic_write(path, write)


# ------------------------------------------------------------------ reading

def read_weights_h5(f, model):
    """The model's weights from an open Keras 3 weights file, in ``get_weights`` order, every
    dataset's name, shape and dtype checked."""
    layers = h5io.group(f, "layers")
    paths = _layer_paths(model)
    unexpected = sorted(set(layers.keys()) - set(paths))
    if unexpected:
        raise ValueError(f"holds layers {unexpected[:5]} that this model does not have (its layers: {paths})")
    values = []
    for layer, path in zip(model.layers, paths):
        vars_ = h5io.group(h5io.group(layers, path), "vars")
        want = [w.shape for w in layer.weights]
        names = sorted(vars_.keys())
        if names != sorted(str(i) for i in range(len(want))):
            raise ValueError(f"layer {path!r} ({layer.name}) holds variables {names[:8]}, the model's "
                             f"{type(layer).__name__} has {len(want)}")
        for i, shape in enumerate(want):
            values.append(h5io.dataset(vars_, str(i), shape, f"layers/{path}/vars/{i} ({layer.name}/"
                                                              f"{layer.weights[i].name})"))
    return values


def load_weights(model, path):
    """``model.load_weights``: a Keras 3 ``.weights.h5`` file (or the weights of a ``.keras``)."""
    if not model.built:
        raise ValueError("the model is not built: build it (or give the first layer input_shape) first")
    label = str(path)
    if is_keras_archive(path):
        with h5io.errors_named(label), zipfile.ZipFile(path) as z:
            _check_members(z)
            blob = _read_member(z, _WEIGHTS, _weights_limit(model))
        with h5io.open_h5(io.BytesIO(blob), label + f" ({_WEIGHTS})") as f:
            values = read_weights_h5(f, model)
    else:
        with h5io.open_h5(path, label) as f:
            values = read_weights_h5(f, model)
    model.set_weights(values)


def is_keras_archive(path):
    """True for a zip holding a config.json (a ``.keras`` file); False for anything else."""
    try:
        with zipfile.ZipFile(path) as z:
            return _CONFIG in z.namelist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return False


def _check_members(z):
    names = set(z.namelist())
    missing = {_CONFIG, _WEIGHTS} - names
    if missing:
        raise ValueError(f"a .keras archive without {sorted(missing)}"
                         + (" (sharded or .npz weights are not read)" if "model.weights.npz" in names
                            or "model.weights.json" in names else ""))
    extra = sorted(n for n in names - {_CONFIG, _METADATA, _WEIGHTS} if not n.startswith("assets/"))
    if extra:
        raise ValueError(f"unexpected members {extra[:5]} in the .keras archive")
    assets = [n for n in names if n.startswith("assets/") and not n.endswith("/")]
    if assets:
        raise ValueError(f"the archive holds assets {assets[:5]}, which no cudnn_lite layer uses")


def _weights_limit(model):
    # the weights (and Keras's optimizer slots, up to 3 copies more) plus HDF5's own overhead
    return 4 * 4 * sum(int(np.prod(w.shape)) for w in model.weights) + (16 << 20)


def _read_member(z, name, limit):
    info = z.getinfo(name)
    if info.file_size > limit:
        raise ValueError(f"{name} declares {info.file_size} bytes, more than this model's weights can need "
                         f"({limit})")
    with z.open(info) as member:
        data = member.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"{name} expands beyond {limit} bytes")
    return data


def load_model(path, model_class, compile=True):
    """A ``model_class`` (Sequential) from a ``.keras`` archive: architecture, weights and (with
    ``compile``) the compile arguments."""
    label = str(path)
    with h5io.errors_named(label):
        try:
            z = zipfile.ZipFile(path)
        except zipfile.BadZipFile as exc:
            raise ValueError(f"not a .keras archive (truncated or another format): {exc}") from None
        with z:
            _check_members(z)
            config = json.loads(_read_member(z, _CONFIG, _MAX_JSON).decode("utf-8"))
            model = model_from_keras(config, model_class)
            blob = _read_member(z, _WEIGHTS, _weights_limit(model))
    with h5io.open_h5(io.BytesIO(blob), label + f" ({_WEIGHTS})") as f:
        model.set_weights(read_weights_h5(f, model))
    compiled = config.get("compile_config")
    if compile and compiled:
        with h5io.errors_named(label):
            optimizer, loss, metrics = compile_from_keras(compiled)
            model.compile(optimizer=optimizer, loss=loss, metrics=metrics)
    return model
