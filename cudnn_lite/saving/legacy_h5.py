"""Keras 2's HDF5 files (``.h5``/``.hdf5``), which Keras 3 still reads and writes as "legacy".

Layout (``keras/src/legacy/saving/legacy_h5_format.py``)::

    weights only (Keras 2's save_weights('w.h5'), ModelCheckpoint(save_weights_only=True)):
      /                       attributes layer_names, backend, keras_version
      /<layer name>           attribute weight_names, e.g. ['dense/kernel:0', 'dense/bias:0']
      /<layer name>/<weight name>   the arrays (a '/' in the name makes subgroups)
    whole model (model.save('m.h5')):
      /                       attributes model_config (JSON), training_config (JSON, if compiled),
                              backend, keras_version
      /model_weights          the weights-only layout above
      /optimizer_weights      (Keras, with include_optimizer) the optimizer's variables

Weights are matched as Keras matches them: the layers that have weights, in order, against the
saved layers whose weight_names are not empty, in ``layer_names`` order; within a layer, in
weight_names order (kernel, bias; gamma, beta, moving_mean, moving_variance).

Optimizer state: ``/optimizer_weights`` is neither written nor read; the compile arguments
(``training_config``) are. Resumable training state lives in ``.npz`` files.
"""
from __future__ import annotations

import json

import h5py
import numpy as np

from . import h5io
from ..files import atomic_write
from .keras_config import compile_from_keras, compile_to_keras, model_from_keras, model_to_keras

__all__ = ["save_weights", "save_model", "load_weights", "load_model", "has_model_config"]

KERAS_VERSION = "2.15.0"  # the legacy layout's writer version, as Keras 2's last release wrote it
BACKEND = "tensorflow"  # what Keras 2 files name; the kernels' layouts are TensorFlow's (HWIO)


def _write_weights_group(g, model):
    h5io.write_string_list(g, "layer_names", [layer.name for layer in model.layers])
    g.attrs["backend"] = BACKEND.encode("utf-8")
    g.attrs["keras_version"] = KERAS_VERSION.encode("utf-8")
    for layer in sorted(model.layers, key=lambda l: l.name):
        lg = g.create_group(layer.name)
        names = [f"{layer.name}/{w.name}:0" for w in layer.weights]
        h5io.write_string_list(lg, "weight_names", names)
        for name, value in zip(names, layer.get_weights()):
            lg.create_dataset(name, data=np.ascontiguousarray(value, dtype=np.float32))


def save_weights(model, path):
    """``save_weights('w.h5')``: Keras 2's weights-only HDF5 file, written atomically."""
    if not model.built:
        raise ValueError("the model is not built yet: there are no weights to save")

    def write(tmp):
        with h5py.File(tmp, "w") as f:
            _write_weights_group(f, model)

    atomic_write(path, write)


def save_model(model, path, include_optimizer=True):
    """``model.save('m.h5')``: Keras 2's whole-model HDF5 file (no optimizer state; the compile
    arguments as ``training_config`` unless ``include_optimizer`` is False, as Keras does)."""
    config = json.dumps(model_to_keras(model, "legacy"))
    training = compile_to_keras(model, "legacy") if include_optimizer else None

    def write(tmp):
        with h5py.File(tmp, "w") as f:
            f.attrs["backend"] = BACKEND.encode("utf-8")
            f.attrs["keras_version"] = KERAS_VERSION.encode("utf-8")
            f.attrs["model_config"] = config.encode("utf-8")
            if training is not None:
                f.attrs["training_config"] = json.dumps(training).encode("utf-8")
            _write_weights_group(f.create_group("model_weights"), model)

    atomic_write(path, write)


def _read_weights_group(g, model):
    layer_names = h5io.attr_strings(g, "layer_names")
    saved = []
    for name in layer_names:
        lg = h5io.group(g, name)
        weight_names = h5io.attr_strings(lg, "weight_names", required=False) or []
        if weight_names:
            saved.append((name, lg, weight_names))
    mine = [layer for layer in model.layers if layer.weights]
    if len(saved) != len(mine):
        raise ValueError(f"layer count mismatch: the model has {len(mine)} layers with weights, the file "
                         f"{len(saved)} ({[s[0] for s in saved][:8]})")
    values = []
    for k, ((name, lg, weight_names), layer) in enumerate(zip(saved, mine)):
        if len(weight_names) != len(layer.weights):
            raise ValueError(f"weight count mismatch for layer #{k} ({layer.name} in the model, {name} in the "
                             f"file): expected {len(layer.weights)}, found {len(weight_names)}")
        for weight_name, w in zip(weight_names, layer.weights):
            values.append(h5io.dataset(lg, weight_name, w.shape, f"{name}/{weight_name} (for {layer.name}/{w.name})"))
    top = g.get("top_level_model_weights")
    if top is not None and h5io.attr_strings(top, "weight_names", required=False):
        raise ValueError("holds top-level model weights, which a Sequential does not have")
    return values


def has_model_config(path):
    """True when ``path`` is an HDF5 file holding a whole Keras model (a model_config)."""
    try:
        with h5py.File(path, "r") as f:
            return "model_config" in f.attrs
    except (OSError, ValueError):
        return False


def load_weights(model, path):
    """``load_weights('w.h5')``: the weights of a Keras 2 HDF5 weights or model file."""
    if not model.built:
        raise ValueError("the model is not built: build it (or give the first layer input_shape) first")
    with h5io.open_h5(path, str(path)) as f:
        g = f
        if "layer_names" not in f.attrs and "model_weights" in f:
            g = h5io.group(f, "model_weights")
        values = _read_weights_group(g, model)
    model.set_weights(values)


def load_model(path, model_class, compile=True):
    """A ``model_class`` (Sequential) from a Keras 2 HDF5 model file: architecture, weights and
    (with ``compile``) the compile arguments of its training_config."""
    with h5io.open_h5(path, str(path)) as f:
        config = h5io.attr_json(f, "model_config")
        model = model_from_keras(config, model_class)
        model.set_weights(_read_weights_group(h5io.group(f, "model_weights"), model))
        training = h5io.attr_json(f, "training_config", required=False)
        if compile and training:
            optimizer, loss, metrics = compile_from_keras(training)
            model.compile(optimizer=optimizer, loss=loss, metrics=metrics)
    return model
