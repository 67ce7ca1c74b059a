"""The Keras 2-era corpus (tests/keras2_corpus/): each script runs unchanged with `keras`
aliased to cudnn_lite (cudnn_lite.keras_alias), on tiny MNIST and CIFAR-10 files in the
official formats (no real data sets, no network), with its epochs cut to one or two."""
from __future__ import annotations

import math
import os
import re
import runpy
import sys

import numpy as np
import pytest
from test_datasets import write_cifar, write_mnist

from cudnn_lite import backend, keras_alias
from cudnn_lite.datasets import _files

CORPUS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "keras2_corpus")
SCRIPTS = sorted(f for f in os.listdir(CORPUS) if f.endswith(".py"))

# what each script must print besides "Test loss: <finite number>"
EXPECTED = {
    "mnist_cnn.py": [r"x_train shape: \(64, 28, 28, 1\)"],
    "cifar10_cnn_augment.py": [r"Using real-time data augmentation", r"mean per channel: \[",
                               r"predicted classes: \["],
    "mnist_sgd_callbacks.py": [r"epochs run: 2", r"batch losses recorded: 8", r"final learning rate: 0\.1"],
    "layer_list_model.py": [r"input shape of the data: \(64, 28, 28, 1\)", r"output shape: \(None, 10\)",
                            r"trainable params: 26698 of 26698", r"weight arrays: 8"],
    "generator_training.py": [r"history keys: \['accuracy', 'loss', 'val_accuracy', 'val_loss'\]",
                              r"predictions: \(32, 10\)"],
    "binary_mlp_backend.py": [r"backend: cudnn_lite floatx: float32 epsilon: 1e-07",
                              r"image ordering: tf channels_last learning phase: 0",
                              r"channels_first refused: UnsupportedFeatureError|channels_first refused: NotImplementedError",
                              r"log keys: \['acc', 'loss'\]"],
    "cifar10_batchnorm.py": [r"csv log lines: 3", r"epoch losses seen by LambdaCallback: 2"],
    "custom_metrics.py": [r"log keys: \['acc', 'f1_m', 'loss', 'mean_pred', 'precision_m', 'recall_m'\]",
                          r"mean prediction matches: True", r"f1 \d\.\d{3} precision \d\.\d{3} recall \d\.\d{3}"],
    "optimizer_tour.py": [r"SGD +mse", r"Nadam +mse", r"adadelta +mse"],
}


@pytest.fixture
def tiny_datasets(tmp_path, monkeypatch):
    """$CUDNN_LITE_DATA holding 64/32 MNIST digits and 60/12 CIFAR-10 images; no network."""
    data = tmp_path / "data"
    write_mnist(str(data / "mnist"), n_train=64, n_test=32)
    write_cifar(str(data / "cifar10"), n=12)
    monkeypatch.setenv("CUDNN_LITE_DATA", str(data))
    monkeypatch.setenv("HOME", str(tmp_path))

    def offline(url, dst_file, timeout=60):
        raise OSError(f"network disabled in tests: {url}")
    monkeypatch.setattr(_files, "fetch_url", offline)
    monkeypatch.setenv("KERAS_CORPUS_EPOCHS", "2")
    return data


def test_corpus_has_the_scripts_it_documents():
    assert len(SCRIPTS) >= 8
    assert set(EXPECTED) <= set(SCRIPTS)
    with open(os.path.join(CORPUS, "README.md")) as f:
        readme = f.read()
    for script in SCRIPTS:
        assert f"`{script}`" in readme, f"{script} is not described in keras2_corpus/README.md"


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_is_plain_keras(script):
    """The scripts are Keras code: they never name cudnn_lite (the alias does all the work)."""
    with open(os.path.join(CORPUS, script)) as f:
        source = f.read()
    assert "cudnn_lite" not in source
    assert re.search(r"^(import keras|from keras[. ])", source, re.M)


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_runs_unchanged(script, tiny_datasets, capsys, monkeypatch):
    monkeypatch.setattr(backend, "_device", "cpu")  # CPU only: the emulated device would take minutes
    backend.set_random_seed(0)
    np.random.seed(0)
    backend.clear_session()
    for name in [n for n in sys.modules if n == "keras" or n.startswith("keras.")]:
        monkeypatch.delitem(sys.modules, name)  # real Keras, imported by another test: set aside
    with keras_alias.aliased():
        runpy.run_path(os.path.join(CORPUS, script), run_name="__main__")
    assert "keras" not in sys.modules  # the alias is gone after the block
    out = capsys.readouterr().out
    losses = re.findall(r"^Test loss: (\S+)$", out, re.M)
    assert len(losses) == 1, out
    assert math.isfinite(float(losses[0]))
    for pattern in EXPECTED.get(script, []):
        assert re.search(pattern, out), f"{script}: no {pattern!r} in its output:\n{out}"
