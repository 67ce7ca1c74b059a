"""Keras files are read strictly and safely: truncated, foreign or tampered files, wrong shapes and
dtypes, missing datasets, unknown layer classes and options, code (Lambda, custom objects) are all
refused with a ValueError naming the file and the problem; writes are atomic."""
from __future__ import annotations

import copy
import io
import json
import os
import zipfile

import h5py
import numpy as np
import pytest

import keras_layouts as K
from cudnn_lite import backend
from cudnn_lite.layers import BatchNormalization, Conv2D, Dense, Dropout, Flatten, MaxPooling2D
from cudnn_lite.models import Sequential, load_model
from cudnn_lite.saving import keras_v3, legacy_h5

pytestmark = pytest.mark.usefixtures("on_device")


@pytest.fixture(autouse=True)
def _seeded():
    backend.clear_session()
    backend.set_random_seed(3)


def small_cnn():
    return Sequential([Conv2D(4, 3, padding="same", activation="relu", input_shape=K.INPUT), BatchNormalization(),
                       MaxPooling2D(), Flatten(), Dropout(0.25), Dense(5, activation="tanh"),
                       Dense(3, activation="softmax")])


def good_files(tmp_path):
    values = K.arrays()
    K.write_v3_weights(tmp_path / "good.weights.h5", values)
    K.write_legacy_weights(tmp_path / "good.hdf5", values)
    K.write_legacy_model(tmp_path / "good.h5", values)
    K.write_keras_archive(tmp_path / "good.keras", values)
    return ["good.weights.h5", "good.hdf5", "good.h5", "good.keras"]


def load_any(path):
    """load_model for model files, load_weights into small_cnn for weights files."""
    if str(path).endswith((".keras", ".h5")) and not str(path).endswith(".weights.h5"):
        return load_model(path)
    small_cnn().load_weights(path)


@pytest.mark.parametrize("cut", [0.1, 0.5, 0.9, 0.999])
def test_truncated_files_raise_value_error_naming_the_file(tmp_path, cut):
    for name in good_files(tmp_path):
        blob = (tmp_path / name).read_bytes()
        bad = tmp_path / ("cut_" + name)
        bad.write_bytes(blob[: int(len(blob) * cut)])
        with pytest.raises(ValueError, match=str(bad).replace(".", r"\.")):
            load_any(bad)
        if name != "good.keras" and not name.endswith(".weights.h5"):
            with pytest.raises(ValueError, match="cut_"):
                small_cnn().load_weights(bad)


def test_corrupted_bytes_never_crash(tmp_path):
    rng = np.random.default_rng(0)
    for name in good_files(tmp_path):
        blob = bytearray((tmp_path / name).read_bytes())
        for trial in range(6):
            damaged = bytearray(blob)
            for pos in rng.integers(0, len(blob), 8):
                damaged[pos] ^= 0xFF
            bad = tmp_path / f"bad{trial}_{name}"
            bad.write_bytes(bytes(damaged))
            try:
                load_any(bad)
            except ValueError as exc:  # the only acceptable failure
                assert str(bad) in str(exc)


def test_foreign_files_under_keras_names(tmp_path):
    (tmp_path / "text.h5").write_text("not a model")
    (tmp_path / "text.keras").write_text("not a model")
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f.create_dataset("data", data=np.zeros(3))
    with zipfile.ZipFile(tmp_path / "other.keras", "w") as z:
        z.writestr("config.json", "{}")
    for name, word in [("text.h5", "not a readable"), ("text.keras", "not a readable"),
                       ("other.h5", "neither of Keras's layouts"), ("other.keras", "without")]:
        with pytest.raises(ValueError, match=word):
            load_model(tmp_path / name)
        with pytest.raises(ValueError, match=name):
            small_cnn().load_weights(tmp_path / name)


def _edit_v3(path, edit):
    with h5py.File(path, "a") as f:
        edit(f)


@pytest.mark.parametrize("edit, word", [
    (lambda f: f["layers/dense/vars"].__delitem__("1"), "holds variables"),
    (lambda f: (f["layers/dense/vars"].__delitem__("0"),
                f["layers/dense/vars"].create_dataset("0", data=np.zeros((5, 36), np.float32))),
     r"layers/dense/vars/0 .* shape \(5, 36\), expected \(36, 5\)"),
    (lambda f: (f["layers/conv2d/vars"].__delitem__("1"),
                f["layers/conv2d/vars"].create_dataset("1", data=np.zeros(4, np.float64))), "dtype float64"),
    (lambda f: (f["layers/conv2d/vars"].__delitem__("1"),
                f["layers/conv2d/vars"].create_dataset("1", data=np.array([b"x"] * 4, dtype=object),
                                                       dtype=h5py.string_dtype())), "dtype object"),
    (lambda f: f["layers/dense_1/vars"].create_dataset("2", data=np.zeros(3, np.float32)), "holds variables"),
    (lambda f: f["layers"].__delitem__("dense_1"), "missing group '/layers/dense_1'"),
    (lambda f: f["layers"].create_group("lstm"), r"layers \['lstm'\] that this model does not have"),
    (lambda f: (f["layers/dense/vars"].__delitem__("1"),
                f["layers/dense/vars"].__setitem__("1", h5py.ExternalLink("/etc/other.h5", "/x"))),
     "ExternalLink, not stored in this file"),
    (lambda f: (f["layers/dense/vars"].__delitem__("1"), f["layers/dense/vars"].__setitem__("1", h5py.SoftLink(
        "/layers/dense_1/vars/1"))), "SoftLink"),
])
def test_tampered_keras3_weights(tmp_path, edit, word):
    path = tmp_path / "w.weights.h5"
    K.write_v3_weights(path, K.arrays())
    _edit_v3(path, edit)
    model = small_cnn()
    before = model.get_weights()
    with pytest.raises(ValueError, match=word):
        model.load_weights(path)
    for a, b in zip(before, model.get_weights()):  # nothing half-loaded
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("edit, word", [
    (lambda f: f["dense"].__delitem__("dense/kernel:0"), "missing dataset '/dense/dense/kernel:0'"),
    (lambda f: f["dense"].attrs.__setitem__("weight_names", np.asarray([b"dense/kernel:0"])),
     "weight count mismatch for layer #2"),
    (lambda f: f.attrs.__setitem__("layer_names", np.asarray([b"conv2d", b"dense"])), "layer count mismatch"),
    (lambda f: f.attrs.__setitem__("layer_names", np.asarray([b"conv2d", b"nope", b"dense", b"dense_1"])),
     "missing group '/nope'"),
    (lambda f: (f["conv2d"].__delitem__("conv2d/kernel:0"),
                f["conv2d"].create_dataset("conv2d/kernel:0", data=np.zeros((4, 2, 3, 3), np.float32))),
     r"shape \(4, 2, 3, 3\), expected \(3, 3, 2, 4\)"),
])
def test_tampered_keras2_weights(tmp_path, edit, word):
    path = tmp_path / "w.hdf5"
    K.write_legacy_weights(path, K.arrays())
    _edit_v3(path, edit)
    with pytest.raises(ValueError, match=word):
        small_cnn().load_weights(path)


def _layers_with(index, **changes):
    layers = copy.deepcopy(K.layer_configs_keras2())
    layers[index]["config"].update(changes)
    return layers


@pytest.mark.parametrize("layers, word", [
    (K.layer_configs_keras2()[:6] + [{"class_name": "LSTM", "config": {"name": "lstm", "units": 3}}],
     "layer class 'LSTM' is not supported"),
    (K.layer_configs_keras2()[:6] + [{"class_name": "Lambda", "config": {"name": "l", "function": "4wEAAAAA"}}],
     "Lambda layers hold Python code and are never loaded"),
    (_layers_with(1, dilation_rate=[2, 2]), r"dilation_rate: only 1 is supported, got \[2, 2\]"),
    (_layers_with(1, groups=2), "option groups=2 is not supported"),
    (_layers_with(6, activity_regularizer={"class_name": "L1", "config": {"l1": 0.1}}), "activity_regularizer"),
    (_layers_with(6, activation="selu"), "activation 'selu' is not supported"),
    (_layers_with(6, kernel_initializer={"class_name": "Orthogonal", "config": {}}), "initializer 'Orthogonal'"),
    (_layers_with(1, kernel_regularizer={"class_name": "L1", "config": {"l1": 0.1}}), "regularizer L1"),
    (_layers_with(2, renorm=True), "option renorm=True"),
    (_layers_with(1, data_format="channels_first"), "channels_last"),
    (_layers_with(6, dtype="mixed_float16"), "dtype 'mixed_float16' is not supported"),
    (_layers_with(6, brand_new_option=3), "option 'brand_new_option'"),
])
def test_unsupported_layers_and_options_are_refused_by_name(tmp_path, layers, word):
    for name, config in (("m.h5", K.model_config_keras2(layers)), ("m.keras", K.model_config_keras3(layers))):
        if name == "m.keras":
            K.write_keras_archive(tmp_path / name, K.arrays(), config)
        else:
            K.write_legacy_model(tmp_path / name, K.arrays(), config)
        with pytest.raises(ValueError, match=word):
            load_model(tmp_path / name)


def test_custom_objects_functional_models_and_bad_json_are_refused(tmp_path):
    config = K.model_config_keras3()
    config["config"]["layers"][1]["module"] = "my_package.layers"
    K.write_keras_archive(tmp_path / "custom.keras", K.arrays(), config)
    with pytest.raises(ValueError, match="module 'my_package.layers', not Keras"):
        load_model(tmp_path / "custom.keras")
    config = K.model_config_keras3()
    config["config"]["layers"][1]["registered_name"] = "Custom>MyConv"
    K.write_keras_archive(tmp_path / "registered.keras", K.arrays(), config)
    with pytest.raises(ValueError, match="custom object 'Custom>MyConv'"):
        load_model(tmp_path / "registered.keras")
    K.write_legacy_model(tmp_path / "functional.h5", K.arrays(), {"class_name": "Functional", "config": {}})
    with pytest.raises(ValueError, match="'Functional' is not supported"):
        load_model(tmp_path / "functional.h5")
    K.write_legacy_model(tmp_path / "json.h5", K.arrays())
    with h5py.File(tmp_path / "json.h5", "a") as f:
        f.attrs["model_config"] = b'{"class_name": "Sequential", "config": '
    with pytest.raises(ValueError, match="json.h5"):
        load_model(tmp_path / "json.h5")
    K.write_keras_archive(tmp_path / "extra.keras", K.arrays(), extra={"evil.py": "import os"})
    with pytest.raises(ValueError, match=r"unexpected members \['evil.py'\]"):
        load_model(tmp_path / "extra.keras")


def test_weights_files_hold_no_architecture(tmp_path):
    K.write_v3_weights(tmp_path / "w.weights.h5", K.arrays())
    K.write_legacy_weights(tmp_path / "w.hdf5", K.arrays())
    for name in ("w.weights.h5", "w.hdf5"):
        with pytest.raises(ValueError, match="holds no architecture"):
            load_model(tmp_path / name)


def test_compile_config_we_cannot_honour_is_refused_and_compile_false_loads(tmp_path):
    training = dict(K.TRAINING_KERAS2, loss={"class_name": "MyLoss", "config": {}})
    K.write_legacy_model(tmp_path / "m.h5", K.arrays(), training=training)
    with pytest.raises(ValueError, match="compile=False"):
        load_model(tmp_path / "m.h5")
    assert load_model(tmp_path / "m.h5", compile=False).optimizer is None


@pytest.mark.parametrize("name, seam", [("m.keras", "keras_v3"), ("w.weights.h5", "keras_v3"), ("m.h5", "legacy"),
                                        ("model.weights.best.hdf5", "legacy")])
def test_failed_write_keeps_the_previous_file(tmp_path, monkeypatch, name, seam):
    model = small_cnn()
    save = model.save_weights if "weights" in name else model.save
    save(tmp_path / name)
    before = (tmp_path / name).read_bytes()
    model.set_weights([w + 1 for w in model.get_weights()])

    def dies_half_way(*args):
        raise OSError("disk full (injected)")

    if seam == "keras_v3":
        monkeypatch.setattr(keras_v3, "_write_weights_h5", lambda f, m: (f.create_group("layers"), dies_half_way()))
    else:
        monkeypatch.setattr(legacy_h5, "_write_weights_group", lambda g, m: (g.create_group("x"), dies_half_way()))
    with pytest.raises(OSError, match="injected"):
        save(tmp_path / name)
    assert (tmp_path / name).read_bytes() == before
    assert os.listdir(tmp_path) == [name]
