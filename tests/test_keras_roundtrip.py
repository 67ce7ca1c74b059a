"""Files round-trip with real Keras, both ways, for every textbook network (runs when Keras imports).

Keras 3 runs on its torch backend here (``pip install torch keras h5py``; ``KERAS_BACKEND=torch``,
set below unless the environment names another backend). The Keras side of each network is
written with Keras's own layer API, as a Keras user would write the book's listing; both sides
get the same perturbed weights (not an initialiser's), then:

* Keras writes ``.weights.h5``, ``.keras``, ``.h5`` (its legacy model) and a Keras 2 weights-only
  ``.hdf5`` (the book's ModelCheckpoint file); we read each and predict what Keras predicts;
* we write ``.weights.h5``, ``.keras``, ``.h5`` and ``.hdf5`` weights; Keras reads each and
  predicts what we predict;
* a model with every layer cudnn_lite has (non-default options) goes to Keras and back, config
  and predictions unchanged.

Run: ``KERAS_BACKEND=torch pytest tests/test_keras_roundtrip.py`` in an environment with Keras.
"""
from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras", reason="Keras is not installed (pip install torch keras h5py; "
                                            "KERAS_BACKEND=torch)")
h5py = pytest.importorskip("h5py")

from cudnn_lite import zoo  # noqa: E402  (after the skip: nothing to test without Keras)
from cudnn_lite.models import load_model  # noqa: E402

try:  # Keras 2's weights-only HDF5 writer, which Keras 3 keeps for its legacy format
    from keras.src.legacy.saving.legacy_h5_format import save_weights_to_hdf5_group
except ImportError:  # pragma: no cover - another Keras layout
    save_weights_to_hdf5_group = None

L = keras.layers


def _xor_mlp():
    return [keras.Input((2,)), L.Dense(8, activation="tanh"), L.Dense(1, activation="sigmoid")]


def _blobs_mlp():
    return [keras.Input((2,)), L.Dense(25, activation="relu"), L.Dense(3, activation="softmax")]


def _mnist_mlp():
    return [keras.Input((28, 28)), L.Flatten(), L.Dense(512, activation="relu"), L.Dense(512, activation="relu"),
            L.Dense(10, activation="softmax")]


def _mnist_cnn(dropout):
    return [keras.Input((28, 28, 1)), L.Conv2D(32, (3, 3), padding="same", activation="relu"), L.MaxPooling2D(2),
            L.Conv2D(64, (3, 3), padding="same", activation="relu"), L.MaxPooling2D(2), L.Flatten()] + \
        ([L.Dropout(0.3)] if dropout else []) + [L.Dense(64, activation="relu")] + \
        ([L.Dropout(0.5)] if dropout else []) + [L.Dense(10, activation="softmax")]


def _cifar10_cnn():
    out = [keras.Input((32, 32, 3))]
    for filters in (16, 32, 64):
        out += [L.Conv2D(filters, 2, padding="same", activation="relu"), L.MaxPooling2D(2)]
    return out + [L.Flatten(), L.Dropout(0.3), L.Dense(500, activation="relu"), L.Dropout(0.4),
                  L.Dense(10, activation="softmax")]


def _cifar10_improved():
    out = [keras.Input((32, 32, 3))]
    for mult, drop in ((1, 0.2), (2, 0.3), (4, 0.4)):
        for _ in range(2):
            out += [L.Conv2D(32 * mult, 3, padding="same", kernel_regularizer=keras.regularizers.l2(1e-4)),
                    L.Activation("relu"), L.BatchNormalization()]
        out += [L.MaxPooling2D((2, 2)), L.Dropout(drop)]
    return out + [L.Flatten(), L.Dense(10, activation="softmax")]


NETWORKS = {"xor_mlp": _xor_mlp, "blobs_mlp": _blobs_mlp, "mnist_mlp": _mnist_mlp,
            "mnist_cnn": lambda: _mnist_cnn(False), "mnist_cnn_dropout": lambda: _mnist_cnn(True),
            "cifar10_cnn": _cifar10_cnn, "cifar10_improved": _cifar10_improved}
LOSS = {"xor_mlp": "binary_crossentropy"}


def perturbed(model, seed):
    """Trained-looking weights: random values; BatchNormalization's moving variances positive."""
    rng = np.random.default_rng(seed)
    out = []
    for w in model.weights:
        value = (rng.standard_normal(w.shape) * 0.3).astype(np.float32)
        out.append(np.abs(value) + 0.5 if w.name == "moving_variance" else value)
    return out


def pair(name, tmp_path):
    """(our model, Keras's model, input batch), same perturbed weights, both compiled."""
    ours = zoo.build(name)
    theirs = keras.Sequential(NETWORKS[name]())
    theirs.compile(optimizer="adam", loss=LOSS.get(name, "categorical_crossentropy"), metrics=["accuracy"])
    assert [tuple(w.shape) for w in theirs.get_weights()] == [w.shape for w in ours.get_weights()]
    weights = perturbed(ours, seed=len(name))
    ours.set_weights(weights)
    theirs.set_weights(weights)
    shape = (4,) + tuple(ours.input_shape[1:])
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    return ours, theirs, x


def close(a, b):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_keras_writes_we_read(name, tmp_path):
    ours, theirs, x = pair(name, tmp_path)
    expected = theirs.predict(x, verbose=0)
    close(ours.predict(x, verbose=0), expected)  # same network, same weights
    theirs.save_weights(tmp_path / "k.weights.h5")
    theirs.save(tmp_path / "k.keras")
    theirs.save(tmp_path / "k.h5")
    fresh = zoo.build(name)
    fresh.load_weights(tmp_path / "k.weights.h5")
    close(fresh.predict(x, verbose=0), expected)
    for file in ("k.keras", "k.h5"):
        loaded = load_model(tmp_path / file)
        close(loaded.predict(x, verbose=0), expected)
        assert loaded.optimizer is not None and type(loaded.optimizer).__name__ == "Adam"
        fresh = zoo.build(name)
        fresh.load_weights(tmp_path / file)
        close(fresh.predict(x, verbose=0), expected)
    if save_weights_to_hdf5_group is not None:  # the book's ModelCheckpoint('model.weights.best.hdf5')
        with h5py.File(tmp_path / "k2.hdf5", "w") as f:
            save_weights_to_hdf5_group(f, theirs)
        fresh = zoo.build(name)
        fresh.load_weights(tmp_path / "k2.hdf5")
        close(fresh.predict(x, verbose=0), expected)


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_we_write_keras_reads(name, tmp_path):
    ours, theirs, x = pair(name, tmp_path)
    expected = ours.predict(x, verbose=0)
    ours.save_weights(tmp_path / "c.weights.h5")
    ours.save(tmp_path / "c.keras")
    ours.save(tmp_path / "c.h5")
    ours.save_weights(tmp_path / "c.hdf5")
    target = keras.Sequential(NETWORKS[name]())
    target.load_weights(tmp_path / "c.weights.h5")
    close(target.predict(x, verbose=0), expected)
    for file in ("c.keras", "c.h5"):
        loaded = keras.saving.load_model(tmp_path / file)
        close(loaded.predict(x, verbose=0), expected)
        assert loaded.optimizer is not None
    target = keras.Sequential(NETWORKS[name]())
    target.load_weights(tmp_path / "c.hdf5")
    close(target.predict(x, verbose=0), expected)


def test_the_perceptron_step_activation_is_refused_for_keras_files(tmp_path):
    model = zoo.build("perceptron")
    for file in ("p.keras", "p.h5"):
        with pytest.raises(ValueError, match="'step'.*no Keras equivalent"):
            model.save(tmp_path / file)
    assert os.listdir(tmp_path) == []


def every_layer_model():
    """Every layer cudnn_lite has, with non-default options, perturbed weights."""
    from cudnn_lite import initializers, regularizers
    from cudnn_lite.layers import (Activation, AveragePooling2D, BatchNormalization, Conv2D, Dense, Dropout,
                                   GlobalAveragePooling2D, LeakyReLU, MaxPooling2D)
    from cudnn_lite.models import Sequential
    model = Sequential([
        Conv2D(3, (3, 2), strides=(2, 1), padding="valid", use_bias=False, input_shape=(9, 8, 2),
               kernel_initializer=initializers.HeNormal(seed=4), kernel_regularizer=regularizers.l2(1e-3)),
        LeakyReLU(0.2), BatchNormalization(momentum=0.9, epsilon=1e-4, center=False),
        AveragePooling2D(pool_size=2, strides=1, padding="same"),
        Conv2D(4, 1, activation="sigmoid", bias_initializer=initializers.Constant(0.1)),
        MaxPooling2D(pool_size=(2, 2), strides=(1, 1)), GlobalAveragePooling2D(), Dropout(0.1, seed=3),
        Dense(6, activation="relu", bias_regularizer=regularizers.l2(0.01),
              kernel_initializer=initializers.RandomUniform(-0.1, 0.1)),
        Activation("tanh"), Dense(2, activation="softmax", kernel_initializer="glorot_normal")])
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])
    model.set_weights(perturbed(model, seed=11))
    return model


def test_every_layer_both_ways(tmp_path):
    ours = every_layer_model()
    x = np.random.default_rng(2).standard_normal((3, 9, 8, 2)).astype(np.float32)
    expected = ours.predict(x, verbose=0)
    ours.save(tmp_path / "c.keras")
    ours.save(tmp_path / "c.h5")
    ours.save_weights(tmp_path / "c.weights.h5")
    theirs = keras.saving.load_model(tmp_path / "c.keras")
    assert [type(l).__name__ for l in theirs.layers] == [type(l).__name__ for l in ours.layers]
    close(theirs.predict(x, verbose=0), expected)
    close(keras.saving.load_model(tmp_path / "c.h5").predict(x, verbose=0), expected)
    theirs.load_weights(tmp_path / "c.weights.h5")
    close(theirs.predict(x, verbose=0), expected)
    # and back: Keras's own configs and weights, as Keras writes them
    theirs.save(tmp_path / "k.keras")
    theirs.save(tmp_path / "k.h5")
    theirs.save_weights(tmp_path / "k.weights.h5")
    for name in ("k.keras", "k.h5"):
        loaded = load_model(tmp_path / name)
        assert loaded.get_config()["layers"] == ours.get_config()["layers"]
        close(loaded.predict(x, verbose=0), expected)
    again = every_layer_model()
    again.load_weights(tmp_path / "k.weights.h5")
    close(again.predict(x, verbose=0), expected)
