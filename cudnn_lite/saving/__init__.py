"""Model and weights files: Keras's formats by file name, as Keras chooses, and our own ``.npz``.

Writing goes by the file name (``model.save``, ``save_weights``, ``ModelCheckpoint``):

=====================  ==========================================  ==================================
name                   ``model.save(name)``                        ``model.save_weights(name)``
=====================  ==========================================  ==================================
``*.keras``            Keras 3 archive (:mod:`.keras_v3`)          refused (as Keras: use save())
``*.weights.h5``       Keras 2 HDF5 model (Keras 3 does the same)  Keras 3 weights (:mod:`.keras_v3`)
``*.h5``, ``*.hdf5``   Keras 2 HDF5 model (:mod:`.legacy_h5`)      Keras 2 HDF5 weights
anything else          cudnn_lite ``.npz`` (:mod:`.npz`)           cudnn_lite ``.npz``
=====================  ==========================================  ==================================

Only the ``.npz`` format holds the optimizer's state and the training state that resuming
needs (``fit(..., initial_epoch=model.epoch)``); Keras files hold architecture, weights and
compile arguments.

Reading (``load_weights``, ``models.load_model``) goes by the file's content, so a file keeps
loading whatever its name: HDF5 in Keras 3's weights layout or Keras 2's layout, a ``.keras``
archive (a zip with a ``config.json``), or a cudnn_lite ``.npz`` archive (as earlier versions
wrote under any name, ``model.h5`` included).

Every write is atomic and gives a new file ``0o666 & ~umask`` (:mod:`.files`). Every read is
strict: each dataset's name, shape and dtype is checked, a truncated or foreign file raises a
``ValueError`` naming the file, and nothing in a file is executed (no pickle, no Lambda layers,
no custom classes).

This package never imports the models package (the model class is handed in), so the
dependency runs one way.
"""
from __future__ import annotations

import os

from .. import files  # noqa: F401 (saving.files: the atomic write, kept importable here)
from ..files import atomic_write
from . import h5io, keras_v3, legacy_h5, npz
from .npz import FORMAT, VERSION, read_file, write_file

__all__ = ["FORMAT", "VERSION", "save_model", "save_weights", "load_weights", "rebuild_model", "read_file",
           "write_file", "atomic_write", "format_for_name"]


def format_for_name(path, what):
    """'keras', 'weights.h5', 'h5' or 'npz': the format ``what`` ('model' or 'weights') writes
    under ``path``'s name."""
    name = os.fspath(path).lower()
    if name.endswith(".keras"):
        return "keras"
    if name.endswith(".weights.h5") and what == "weights":
        return "weights.h5"
    if name.endswith((".h5", ".hdf5")):
        return "h5"
    return "npz"


def save_model(model, path, include_optimizer=True):
    """``model.save(path)``: the format the name asks for (module docstring)."""
    if not model.built:
        raise ValueError("the model is not built yet: there is nothing to save")
    kind = format_for_name(path, "model")
    if kind == "keras":
        keras_v3.save_model(model, path)
    elif kind == "h5":
        legacy_h5.save_model(model, path, include_optimizer=include_optimizer)
    else:
        npz.save_model(model, path, include_optimizer=include_optimizer)


def save_weights(model, path):
    """``model.save_weights(path)``: the format the name asks for (module docstring)."""
    kind = format_for_name(path, "weights")
    if kind == "keras":
        raise ValueError(f"{os.fspath(path)}: save_weights cannot write a .keras file (a whole model); use "
                         "model.save() for .keras, or a .weights.h5 name for the weights")
    if kind == "weights.h5":
        keras_v3.save_weights(model, path)
    elif kind == "h5":
        legacy_h5.save_weights(model, path)
    else:
        npz.save_weights(model, path)


def _content(path):
    kind = files.sniff(path)
    if kind == "zip" and keras_v3.is_keras_archive(path):
        return "keras"
    if kind == "hdf5":
        with h5io.open_h5(path, os.fspath(path)) as f:
            if "layer_names" in f.attrs or "model_config" in f.attrs or "model_weights" in f:
                return "h5"
            if "layers" in f:
                return "weights.h5"
            raise ValueError(f"{os.fspath(path)}: an HDF5 file in neither of Keras's layouts (no /layers group, "
                             "no layer_names or model_config attribute)")
    return "npz"


def load_weights(model, path):
    """``model.load_weights(path)``: any of the formats, recognised by content."""
    kind = _content(path)
    if kind in ("keras", "weights.h5"):
        keras_v3.load_weights(model, path)
    elif kind == "h5":
        legacy_h5.load_weights(model, path)
    else:
        npz.load_weights(model, path)


def rebuild_model(path, model_class, custom_objects=None, compile=True):
    """``models.load_model(path)``: a ``model_class`` rebuilt from a ``.keras`` archive, a Keras
    HDF5 model or a cudnn_lite ``.npz`` model file (recognised by content)."""
    kind = _content(path)
    if kind == "keras":
        return keras_v3.load_model(path, model_class, compile=compile)
    if kind == "h5":
        if not legacy_h5.has_model_config(path):
            raise ValueError(f"{os.fspath(path)}: a Keras HDF5 weights file holds no architecture; build the model "
                             "and call load_weights")
        return legacy_h5.load_model(path, model_class, compile=compile)
    if kind == "weights.h5":
        raise ValueError(f"{os.fspath(path)}: a Keras .weights.h5 file holds no architecture; build the model and "
                         "call load_weights")
    return npz.rebuild_model(path, model_class, custom_objects=custom_objects, compile=compile)
