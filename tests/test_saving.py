"""Saving: the .npz format round trips (weights, architecture, optimizer state), atomic writes,
and clear ValueErrors for truncated, corrupted and foreign files."""
from __future__ import annotations

import json
import os
import zipfile

import numpy as np
import pytest

from cudnn_lite import backend, optimizers, regularizers, saving
from cudnn_lite.layers import (Activation, BatchNormalization, Conv2D, Dense, Dropout, Flatten, LeakyReLU,
                               MaxPooling2D)
from cudnn_lite.models import Sequential, load_model


pytestmark = pytest.mark.usefixtures("on_device")  # every test on 'cpu', and on 'cuda' where usable


@pytest.fixture(autouse=True)
def _seeded():
    backend.clear_session()
    backend.set_random_seed(5)


def small_cnn(optimizer="adam"):
    model = Sequential()
    model.add(Conv2D(3, 3, padding="same", kernel_regularizer=regularizers.l2(1e-3), input_shape=(5, 5, 2)))
    model.add(LeakyReLU(0.1))
    model.add(BatchNormalization())
    model.add(MaxPooling2D())
    model.add(Dropout(0.25))
    model.add(Flatten())
    model.add(Dense(4, activation="softmax"))
    model.compile(optimizer=optimizer, loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def data(n=12):
    rng = np.random.default_rng(0)
    return rng.standard_normal((n, 5, 5, 2)).astype(np.float32), np.eye(4, dtype=np.float32)[rng.integers(0, 4, n)]


@pytest.mark.parametrize("opt", [optimizers.Adam(learning_rate=0.01), optimizers.Nadam(),
                                 optimizers.SGD(0.1, momentum=0.9, nesterov=True), optimizers.RMSprop(decay=0.01),
                                 optimizers.Adagrad(), optimizers.Adadelta(1.0)])
def test_save_load_model_round_trip_and_resume(tmp_path, opt):
    opt = type(opt).from_config(opt.get_config())  # a fresh one per run (the parameter serves every device)
    x, y = data()
    model = small_cnn(opt)
    model.fit(x, y, batch_size=4, epochs=2, verbose=0)
    path = tmp_path / "model.npz"  # our format: the one that holds the optimizer and training state
    model.save(path)
    loaded = load_model(path)
    assert loaded.get_config() == model.get_config()
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert type(loaded.optimizer) is type(model.optimizer)
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    assert loaded.optimizer.iterations == model.optimizer.iterations == 6
    # the next step is identical (optimizer slots restored; same dropout counter state aside)
    for m in (model, loaded):
        for layer in m.layers:
            if isinstance(layer, Dropout):
                layer._offset = 0
                layer._seed = 99
    out_a = model.train_on_batch(x, y)
    out_b = loaded.train_on_batch(x, y)
    assert out_a == out_b
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_save_weights_load_weights_npz(tmp_path):
    x, _ = data()
    model = small_cnn()
    path = tmp_path / "model.weights.best.npz"
    model.save_weights(path)
    backend.clear_session()
    other = small_cnn()
    assert not np.array_equal(other.get_weights()[0], model.get_weights()[0])
    other.load_weights(path)
    np.testing.assert_array_equal(other.predict(x), model.predict(x))
    with zipfile.ZipFile(path) as z:  # documented layout
        assert "__cudnn_lite__.npy" in z.namelist() and "weights/0000.npy" in z.namelist()
    with np.load(path, allow_pickle=False) as f:
        header = json.loads(f["__cudnn_lite__"].tobytes())
    assert header["format"] == "cudnn_lite" and header["version"] == 1 and header["kind"] == "weights"
    assert header["weights"][0] == {"layer": "conv2d", "name": "kernel", "shape": [3, 3, 2, 3], "dtype": "float32"}


def test_load_weights_into_a_different_architecture_fails(tmp_path):
    model = small_cnn()
    path = tmp_path / "w.npz"
    model.save_weights(path)
    other = Sequential([Dense(3, input_dim=4)])
    with pytest.raises(ValueError, match="weight"):
        other.load_weights(path)


def test_get_config_round_trip_builds_same_architecture():
    model = small_cnn()
    clone = Sequential.from_config(model.get_config())
    assert clone.get_config() == model.get_config()
    assert clone.count_params() == model.count_params()
    json.dumps(model.get_config())  # JSON-ready


def test_atomic_save_keeps_the_previous_file_on_failure(tmp_path, monkeypatch):
    model = small_cnn()
    path = tmp_path / "ckpt.npz"
    model.save(path)
    before = path.read_bytes()

    def broken(f, arrays):
        f.write(b"PK\x03\x04 half an archive")
        raise OSError("disk full (injected)")

    monkeypatch.setattr(saving.npz, "_write_npz", broken)
    model.fit(*data(), epochs=1, verbose=0)
    with pytest.raises(OSError, match="injected"):
        model.save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["ckpt.npz"]  # no temporary file left behind
    monkeypatch.undo()
    load_model(path)


def test_truncated_corrupted_and_foreign_files_raise_value_error(tmp_path):
    model = small_cnn()
    good = tmp_path / "good.npz"
    model.save(good)
    blob = good.read_bytes()

    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(blob[: len(blob) // 2])
    corrupted = tmp_path / "corrupted.npz"
    damaged = bytearray(blob)
    start = blob.index(b"weights/0000.npy") + 200  # inside the first weight's data
    damaged[start:start + 16] = bytes(16)
    corrupted.write_bytes(bytes(damaged))
    text = tmp_path / "notes.h5"
    text.write_text("hello")
    hdf5 = tmp_path / "keras.h5"
    hdf5.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(100))
    plain = tmp_path / "plain.npz"
    np.savez(plain, a=np.zeros(3))
    wrong_version = tmp_path / "v99.npz"
    header = {"format": "cudnn_lite", "version": 99}
    np.savez(wrong_version, __cudnn_lite__=np.frombuffer(json.dumps(header).encode(), np.uint8))
    pickled = tmp_path / "pickled.npy"
    np.save(pickled, np.array([{"a": 1}], dtype=object), allow_pickle=True)

    for bad, word in [(truncated, "truncated"), (corrupted, "corrupted"), (text, "cudnn_lite"),
                      (hdf5, "HDF5"), (plain, "__cudnn_lite__"), (wrong_version, "version"), (pickled, "cudnn_lite")]:
        with pytest.raises(ValueError, match=word):
            load_model(bad)
        with pytest.raises(ValueError):
            model.load_weights(bad)
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "missing.npz")


def test_shape_or_dtype_tampering_is_detected(tmp_path):
    model = Sequential([Dense(2, input_dim=3)])
    model.compile(loss="mse", optimizer="sgd")
    path = tmp_path / "m.npz"
    model.save(path)
    with np.load(path, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    arrays["weights/0000"] = arrays["weights/0000"].astype(np.float64)
    np.savez(tmp_path / "dtype.npz", **arrays)
    with pytest.raises(ValueError, match="dtype"):
        load_model(tmp_path / "dtype.npz")
    arrays["weights/0000"] = np.zeros((4, 2), np.float32)
    np.savez(tmp_path / "shape.npz", **arrays)
    with pytest.raises(ValueError, match="shape"):
        load_model(tmp_path / "shape.npz")


def test_uncompiled_model_and_activation_layers_round_trip(tmp_path):
    model = Sequential([Dense(4, input_dim=3), Activation("tanh"), Dense(1, activation="sigmoid")])
    model.save(tmp_path / "m.keras")
    loaded = load_model(tmp_path / "m.keras")
    assert loaded.optimizer is None
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
