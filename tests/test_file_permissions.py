"""Saved files get the permissions of the user's umask (0o666 & ~umask), as Keras and every other
tool give them, for every writer: .npz, .keras, .weights.h5, .h5/.hdf5, checkpoints, the
dataset cache and the learning-curve PNG. (They
were 0600, the mode of the temporary file the atomic write renames.)"""
from __future__ import annotations

import os
import stat

import numpy as np
import pytest

from cudnn_lite import backend
from cudnn_lite.datasets import _files
from cudnn_lite.callbacks import ModelCheckpoint
from cudnn_lite.layers import Dense
from cudnn_lite.models import Sequential
from cudnn_lite.saving import files

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")


@pytest.fixture(params=[0o022, 0o077, 0o002])
def umask(request):
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


def model():
    backend.clear_session()
    m = Sequential([Dense(3, input_dim=2, activation="relu"), Dense(2, activation="softmax")])
    m.compile(optimizer="adam", loss="categorical_crossentropy")
    return m


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


WRITERS = {
    "save npz": lambda m, d: m.save(d / "m.npz") or d / "m.npz",
    "save keras": lambda m, d: m.save(d / "m.keras") or d / "m.keras",
    "save h5": lambda m, d: m.save(d / "m.h5") or d / "m.h5",
    "save_weights npz": lambda m, d: m.save_weights(d / "w.npz") or d / "w.npz",
    "save_weights weights.h5": lambda m, d: m.save_weights(d / "w.weights.h5") or d / "w.weights.h5",
    "save_weights hdf5": lambda m, d: m.save_weights(d / "w.hdf5") or d / "w.hdf5",
}


def _checkpoint(m, d, name, weights_only):
    x = np.zeros((4, 2), np.float32)
    y = np.eye(2, dtype=np.float32)[[0, 1, 0, 1]]
    m.fit(x, y, epochs=1, verbose=0, callbacks=[ModelCheckpoint(str(d / name), save_weights_only=weights_only)])
    return d / name


WRITERS["checkpoint hdf5 weights"] = lambda m, d: _checkpoint(m, d, "model.weights.best.hdf5", True)
WRITERS["checkpoint keras"] = lambda m, d: _checkpoint(m, d, "ckpt.keras", False)
WRITERS["checkpoint npz"] = lambda m, d: _checkpoint(m, d, "ckpt.npz", False)


@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_new_files_follow_the_umask(tmp_path, umask, writer):
    path = WRITERS[writer](model(), tmp_path)
    assert mode(path) == 0o666 & ~umask, oct(mode(path))
    assert os.listdir(tmp_path) == [path.name]


@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_a_replaced_file_keeps_its_mode(tmp_path, writer):
    m = model()
    path = WRITERS[writer](m, tmp_path)
    os.chmod(path, 0o640)
    WRITERS[writer](m, tmp_path)
    assert mode(path) == 0o640


def test_current_umask_reads_without_changing_it(umask):
    assert files.current_umask() == umask
    assert files.current_umask() == umask


def test_dataset_cache_files_follow_the_umask(tmp_path, umask):
    path = tmp_path / "data.bin"
    _files.atomic_write_bytes(str(path), b"\x00\x01")
    assert mode(path) == 0o666 & ~umask, oct(mode(path))
    assert os.listdir(tmp_path) == [path.name]


def test_learning_curve_png_follows_the_umask(tmp_path, umask):
    pytest.importorskip("matplotlib", reason="plot_history needs matplotlib")
    from cudnn_lite.plotting import plot_history
    path = tmp_path / "curves.png"
    plot_history({"loss": [1.0, 0.5], "val_loss": [1.1, 0.7]}, path)
    assert mode(path) == 0o666 & ~umask, oct(mode(path))
    assert os.listdir(tmp_path) == [path.name]
