"""Keras's file formats, read and written, against layouts built with h5py alone (no Keras needed):
``.weights.h5`` and ``.keras`` (Keras 3), ``.h5``/``.hdf5`` (Keras 2), chosen by file name."""
from __future__ import annotations

import json
import zipfile

import h5py
import numpy as np
import pytest

import keras_layouts as K
from cudnn_lite import backend, initializers, optimizers, regularizers, saving
from cudnn_lite.callbacks import ModelCheckpoint
from cudnn_lite.layers import (Activation, AveragePooling2D, BatchNormalization, Conv2D, Dense, Dropout, Flatten,
                               GlobalAveragePooling2D, LeakyReLU, MaxPooling2D)
from cudnn_lite.models import Sequential, load_model

pytestmark = pytest.mark.usefixtures("on_device")


@pytest.fixture(autouse=True)
def _seeded():
    backend.clear_session()
    backend.set_random_seed(3)


def small_cnn(names=True):
    """The network of keras_layouts, written with cudnn_lite (our own layer names unless ``names``)."""
    n = (lambda s: s) if names else (lambda s: "mine_" + s)
    return Sequential([
        Conv2D(4, 3, padding="same", activation="relu", input_shape=K.INPUT, name=n("conv2d")),
        BatchNormalization(name=n("batch_normalization")), MaxPooling2D(name=n("max_pooling2d")),
        Flatten(name=n("flatten")), Dropout(0.25, name=n("dropout")), Dense(5, activation="tanh", name=n("dense")),
        Dense(3, activation="softmax", name=n("dense_1"))])


def x_batch():
    return np.random.default_rng(7).standard_normal((3,) + K.INPUT).astype(np.float32)


def assert_weights(model, values):
    got = model.get_weights()
    want = K.flat(values)
    assert [g.shape for g in got] == [w.shape for w in want]
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)


# ------------------------------------------------------------------ reading Keras's files

def test_reads_keras3_weights_h5_by_layer_path_not_layer_name(tmp_path):
    values = K.arrays()
    K.write_v3_weights(tmp_path / "k.weights.h5", values)
    model = small_cnn(names=False)  # Keras 3 matches /layers/<snake class>[_n], not names
    model.load_weights(tmp_path / "k.weights.h5")
    assert_weights(model, values)


def test_reads_keras2_weights_hdf5_in_order(tmp_path):
    values = K.arrays(1)
    K.write_legacy_weights(tmp_path / "model.weights.best.hdf5", values)
    model = small_cnn(names=False)  # Keras matches layers with weights by order
    model.load_weights(tmp_path / "model.weights.best.hdf5")
    assert_weights(model, values)


@pytest.mark.parametrize("flavour", ["keras2", "keras3"])
def test_reads_legacy_h5_model(tmp_path, flavour):
    values = K.arrays(2)
    config = K.model_config_keras2() if flavour == "keras2" else K.model_config_keras3()
    K.write_legacy_model(tmp_path / "m.h5", values, config)
    model = load_model(tmp_path / "m.h5")
    assert [type(l).__name__ for l in model.layers] == ["Conv2D", "BatchNormalization", "MaxPooling2D", "Flatten",
                                                         "Dropout", "Dense", "Dense"]
    assert [l.name for l in model.layers] == [name for name, _, _ in K.SHAPES]
    assert model.input_shape == (None,) + K.INPUT
    conv, dense = model.layers[0], model.layers[5]
    assert conv.padding == "same" and conv.activation.name == "relu" and conv.kernel_regularizer.l2 == 0.0005
    assert dense.activation.name == "tanh" and model.layers[4].rate == 0.25
    assert isinstance(model.layers[6].kernel_initializer, initializers.RandomNormal)
    assert_weights(model, values)
    assert type(model.optimizer) is optimizers.RMSprop  # training_config: compiled as Keras would
    assert model.optimizer.get_config()["learning_rate"] == 0.0001 and model.optimizer.decay == 1e-06
    np.testing.assert_array_equal(model.predict(x_batch()), _reference(values))
    assert load_model(tmp_path / "m.h5", compile=False).optimizer is None


def _reference(values):
    model = small_cnn()
    model.set_weights(K.flat(values))
    return model.predict(x_batch())


def test_reads_keras_archive(tmp_path):
    values = K.arrays(3)
    K.write_keras_archive(tmp_path / "m.keras", values)
    model = load_model(tmp_path / "m.keras")
    assert_weights(model, values)
    assert type(model.optimizer) is optimizers.Adam and model.optimizer.get_config()["learning_rate"] == 0.002
    np.testing.assert_array_equal(model.predict(x_batch()), _reference(values))
    other = small_cnn(names=False)
    other.load_weights(tmp_path / "m.keras")  # Keras 3's load_weights reads a .keras archive's weights
    assert_weights(other, values)


# ------------------------------------------------------------------ writing Keras's files

def test_writes_keras3_weights_h5_layout(tmp_path):
    model = small_cnn(names=False)
    model.save_weights(tmp_path / "w.weights.h5")
    with h5py.File(tmp_path / "w.weights.h5", "r") as f:
        assert set(f) == {"layers", "vars"} and f["vars"].attrs["name"] == model.name
        assert sorted(f["layers"]) == sorted(name for name, _, _ in K.SHAPES)
        for (path, _, weights), layer in zip(K.SHAPES, model.layers):
            g = f["layers"][path]["vars"]
            assert g.attrs["name"] == layer.name and sorted(g) == [str(i) for i in range(len(weights))]
            for i, w in enumerate(layer.get_weights()):
                assert g[str(i)].dtype == np.float32
                np.testing.assert_array_equal(g[str(i)][()], w)


def test_writes_keras2_weights_for_h5_and_hdf5_names(tmp_path):
    model = small_cnn()
    for name in ("w.h5", "model.weights.best.hdf5"):
        model.save_weights(tmp_path / name)
        with h5py.File(tmp_path / name, "r") as f:
            assert [n.decode() for n in f.attrs["layer_names"]] == [l.name for l in model.layers]
            assert "model_config" not in f.attrs
            g = f["batch_normalization"]
            assert [n.decode() for n in g.attrs["weight_names"]] == [
                f"batch_normalization/{w}:0" for w in ("gamma", "beta", "moving_mean", "moving_variance")]
            np.testing.assert_array_equal(f["dense"]["dense/kernel:0"][()], model.layers[5].get_weights()[0])
            assert len(f["flatten"].attrs["weight_names"]) == 0


def test_writes_keras2_model_for_h5_names(tmp_path):
    model = small_cnn()
    model.compile(optimizer=optimizers.SGD(0.05, momentum=0.9), loss="categorical_crossentropy", metrics=["accuracy"])
    model.save(tmp_path / "m.h5")
    with h5py.File(tmp_path / "m.h5", "r") as f:
        config = json.loads(f.attrs["model_config"])
        training = json.loads(f.attrs["training_config"])
        assert [n.decode() for n in f["model_weights"].attrs["layer_names"]] == [l.name for l in model.layers]
    assert config["class_name"] == "Sequential"
    layers = config["config"]["layers"]
    assert layers[0] == {"class_name": "InputLayer", "config": {"batch_input_shape": [None, *K.INPUT],
                                                                 "dtype": "float32", "sparse": False,
                                                                 "ragged": False, "name": model.name + "_input"}}
    conv = layers[1]["config"]
    assert layers[1]["class_name"] == "Conv2D" and conv["kernel_size"] == [3, 3] and conv["padding"] == "same"
    assert conv["kernel_initializer"] == {"class_name": "GlorotUniform", "config": {"seed": None}}
    assert training["optimizer_config"] == {"class_name": "SGD", "config": {
        "name": model.optimizer.name, "learning_rate": 0.05, "momentum": 0.9, "nesterov": False}}
    assert training["loss"] == "categorical_crossentropy" and training["metrics"] == ["accuracy"]
    model.save(tmp_path / "bare.h5", include_optimizer=False)  # Keras leaves training_config out then
    with h5py.File(tmp_path / "bare.h5", "r") as f:
        assert "training_config" not in f.attrs and "model_config" in f.attrs
    assert load_model(tmp_path / "bare.h5").optimizer is None


def test_writes_keras_archive(tmp_path):
    model = small_cnn()
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as z:
        assert sorted(z.namelist()) == ["config.json", "metadata.json", "model.weights.h5"]
        config = json.loads(z.read("config.json"))
        assert json.loads(z.read("metadata.json"))["keras_version"].startswith("3.")
    assert (config["module"], config["class_name"]) == ("keras", "Sequential")
    entries = config["config"]["layers"]
    assert entries[0]["class_name"] == "InputLayer" and entries[0]["config"]["batch_shape"] == [None, *K.INPUT]
    assert all(e["module"] == "keras.layers" and e["registered_name"] is None for e in entries)
    assert entries[2]["config"]["dtype"]["class_name"] == "DTypePolicy"
    assert config["compile_config"]["optimizer"]["class_name"] == "Adam"
    assert config["compile_config"]["loss"] == "categorical_crossentropy"


ALL_LAYERS = [
    lambda: Conv2D(3, (3, 2), strides=(2, 1), padding="valid", use_bias=False, input_shape=(9, 8, 2),
                   kernel_initializer=initializers.HeNormal(seed=4), kernel_regularizer=regularizers.l2(1e-3)),
    lambda: LeakyReLU(0.2),
    lambda: BatchNormalization(momentum=0.9, epsilon=1e-4, center=False),
    lambda: AveragePooling2D(pool_size=2, strides=1, padding="same"),
    lambda: Conv2D(4, 1, activation="sigmoid", bias_initializer=initializers.Constant(0.1)),
    lambda: MaxPooling2D(pool_size=(2, 2), strides=(1, 1)),
    lambda: GlobalAveragePooling2D(),
    lambda: Dropout(0.1, seed=3),
    lambda: Dense(6, activation="relu", bias_regularizer=regularizers.l2(0.01),
                  kernel_initializer=initializers.RandomUniform(-0.1, 0.1)),
    lambda: Activation("tanh"),
    lambda: Dense(2, activation="linear", kernel_initializer="glorot_normal"),
]


@pytest.mark.parametrize("name", ["every_layer.keras", "every_layer.h5"])
def test_every_layer_round_trips_through_keras_configs(tmp_path, name):
    model = Sequential([make() for make in ALL_LAYERS])
    model.set_weights([w + 0.25 for w in model.get_weights()])
    model.save(tmp_path / name)
    loaded = load_model(tmp_path / name)
    assert loaded.get_config() == model.get_config()
    x = np.random.default_rng(0).standard_normal((2, 9, 8, 2)).astype(np.float32)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_flatten_first_and_input_dim_models_round_trip(tmp_path):
    for model in (Sequential([Flatten(input_shape=(4, 3)), Dense(2)]), Sequential([Dense(3, input_dim=5)])):
        for name in ("m.keras", "m.h5"):
            model.save(tmp_path / name)
            assert load_model(tmp_path / name).get_config() == model.get_config()


def test_weights_h5_name_for_save_writes_a_legacy_model_as_keras_does(tmp_path):
    model = small_cnn()
    model.save(tmp_path / "m.weights.h5")  # Keras 3's save() sends any .h5 name to its legacy writer
    with h5py.File(tmp_path / "m.weights.h5", "r") as f:
        assert "model_config" in f.attrs and "model_weights" in f
    with pytest.raises(ValueError, match="save_weights cannot write a .keras"):
        model.save_weights(tmp_path / "w.keras")


def test_npz_state_stays_the_format_for_npz_names_and_old_files_under_keras_names_still_load(tmp_path):
    model = small_cnn()
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    model.fit(x_batch(), np.eye(3, dtype=np.float32)[[0, 1, 2]], epochs=1, verbose=0)
    model.save(tmp_path / "state.npz")
    with zipfile.ZipFile(tmp_path / "state.npz") as z:
        assert "__cudnn_lite__.npy" in z.namelist() and any(n.startswith("optimizer/") for n in z.namelist())
    saving.npz.save_model(model, tmp_path / "old.h5")  # what earlier versions wrote for model.save('old.h5')
    saving.npz.save_weights(model, tmp_path / "old.weights.best.hdf5")
    loaded = load_model(tmp_path / "old.h5")
    assert loaded.optimizer.iterations == model.optimizer.iterations == 1
    other = small_cnn()
    other.load_weights(tmp_path / "old.weights.best.hdf5")
    np.testing.assert_array_equal(other.predict(x_batch()), model.predict(x_batch()))


@pytest.mark.parametrize("weights_only", [True, False])
def test_the_books_checkpoint_name_writes_keras2_hdf5(tmp_path, weights_only):
    model = small_cnn()
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    x, y = x_batch(), np.eye(3, dtype=np.float32)[[0, 1, 2]]
    path = tmp_path / "model.weights.best.hdf5"
    model.fit(x, y, epochs=2, verbose=0, validation_data=(x, y),
              callbacks=[ModelCheckpoint(str(path), save_best_only=True, save_weights_only=weights_only)])
    with h5py.File(path, "r") as f:
        assert ("model_config" in f.attrs) == (not weights_only) and ("layer_names" in f.attrs) == weights_only
    other = small_cnn()
    other.load_weights(path)
    assert len(other.get_weights()) == len(model.get_weights())


def test_reads_keras2_config_without_input_layer(tmp_path):
    # older Keras 2 Sequential configs carry batch_input_shape on the first layer instead
    layers = K.layer_configs_keras2()[1:]
    layers[0] = {**layers[0], "config": {**layers[0]["config"], "batch_input_shape": [None, *K.INPUT]}}
    K.write_legacy_model(tmp_path / "old.h5", K.arrays(4), K.model_config_keras2(layers))
    model = load_model(tmp_path / "old.h5")
    assert model.input_shape == (None,) + K.INPUT
    assert_weights(model, K.arrays(4))
