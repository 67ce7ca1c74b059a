"""The zoo builds the textbook's networks exactly (parameter counts of the book's
tables) with their recipes; zoo.train runs end to end on a tiny problem."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

from cudnn_lite import zoo

PARAMS = {  # total, trainable, non-trainable (the book's / Keras's counts)
    "perceptron": (3, 3, 0),
    "xor_mlp": (33, 33, 0),
    "blobs_mlp": (153, 153, 0),
    "mnist_mlp": (669_706, 669_706, 0),
    "mnist_cnn": (220_234, 220_234, 0),
    "mnist_cnn_dropout": (220_234, 220_234, 0),
    "cifar10_cnn": (528_054, 528_054, 0),
    "cifar10_improved": (309_290, 308_394, 896),
}


def _count(weights):
    return int(sum(int(np.prod(w.shape)) for w in weights))


def test_names_and_canonical():
    assert zoo.names() == list(PARAMS)
    assert zoo.canonical("mnist-cnn") == "mnist_cnn"
    assert zoo.canonical("CIFAR10-Improved") == "cifar10_improved"
    with pytest.raises(ValueError, match="unknown model 'resnet'.*mnist_cnn"):
        zoo.canonical("resnet")


@pytest.mark.parametrize("name", list(PARAMS))
def test_parameter_counts(name):
    model = zoo.build(name, seed=0)
    total, trainable, non_trainable = PARAMS[name]
    assert model.count_params() == total
    assert _count(model.trainable_weights) == trainable
    assert _count(model.non_trainable_weights) == non_trainable
    assert zoo.RECIPES[name].params == total


def test_mnist_cnn_shapes_match_the_book():
    model = zoo.build("mnist_cnn")
    shapes = [tuple(layer.output_shape) for layer in model.layers]
    assert shapes == [(None, 28, 28, 32), (None, 14, 14, 32), (None, 14, 14, 64), (None, 7, 7, 64),
                      (None, 3136), (None, 64), (None, 10)]


def test_cifar10_improved_structure():
    model = zoo.build("cifar10_improved")
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds.count("Conv2D") == 6 and kinds.count("BatchNormalization") == 6
    assert kinds.count("Dropout") == 3 and kinds[-1] == "Dense"
    rates = [layer.rate for layer in model.layers if type(layer).__name__ == "Dropout"]
    assert rates == [0.2, 0.3, 0.4]
    r = zoo.recipe("cifar10-improved")
    assert (r.batch_size, r.epochs, r.preprocessing) == (128, 125, "standardize")
    assert r.augmentation["rotation_range"] == 15 and r.augmentation["horizontal_flip"]
    opt = zoo.build("cifar10_improved").optimizer
    assert opt.learning_rate == pytest.approx(1e-4) and opt.decay == pytest.approx(1e-6)


def test_recipes():
    assert zoo.recipe("cifar10_cnn").batch_size == 32
    assert zoo.recipe("cifar10_cnn").optimizer() == "rmsprop"
    assert zoo.recipe("blobs_mlp").epochs == 1000
    assert zoo.recipe("mnist_cnn").dataset == "mnist"


def test_same_seed_same_initial_weights():
    a = zoo.build("blobs_mlp", seed=3).get_weights()
    b = zoo.build("blobs_mlp", seed=3).get_weights()
    for wa, wb in zip(a, b):
        np.testing.assert_array_equal(wa, wb)


def test_blobs_dataset_split():
    (x, y), (xv, yv), (xt, yt) = zoo.load_dataset("blobs_mlp")
    assert x.shape == (800, 2) and y.shape == (800, 3) and xt.shape == (200, 2)
    np.testing.assert_array_equal(xv, xt)


def test_train_writes_checkpoint_history_and_reports(tmp_path, capsys):
    result = zoo.train("xor-mlp", epochs=300, out_dir=str(tmp_path), verbose=0, seed=0)
    out = capsys.readouterr().out
    assert "test accuracy: " in out and "test loss: " in out
    assert result["test_accuracy"] == 1.0  # the MLP learns XOR
    assert os.path.exists(result["checkpoint"])
    with open(result["history_path"]) as f:
        saved = json.load(f)
    assert len(saved["history"]["loss"]) == 300 and "val_accuracy" in saved["history"]
    assert result["plot_path"] is None or os.path.exists(result["plot_path"])
    umask = os.umask(0o022)
    os.umask(umask)
    for path in (result["checkpoint"], result["history_path"]):  # the user's umask, not 0600
        assert os.stat(path).st_mode & 0o777 == 0o666 & ~umask


def test_perceptron_cannot_learn_xor(tmp_path, capsys):
    result = zoo.train("perceptron", epochs=50, out_dir=str(tmp_path), verbose=0, seed=0)
    assert result["test_accuracy"] <= 0.75  # a single linear threshold unit cannot separate XOR


def test_train_with_augmentation_recipe(tmp_path, monkeypatch, capsys):
    """cifar10_improved's path (ImageDataGenerator.flow into fit) on a few random images."""
    rng = np.random.default_rng(0)

    def tiny(name, data_dir=None):
        x = rng.standard_normal((48, 32, 32, 3)).astype(np.float32)
        y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 48)]
        return (x[:32], y[:32]), (x[32:40], y[32:40]), (x[40:], y[40:])
    monkeypatch.setattr(zoo, "load_dataset", tiny)
    result = zoo.train("cifar10_improved", epochs=1, batch_size=16, out_dir=str(tmp_path),
                       verbose=2, seed=1)
    out = capsys.readouterr().out
    assert "Epoch 1: val_loss improved from inf to" in out
    assert "2/2 - " in out  # steps_per_epoch = 32 // 16
    assert 0.0 <= result["test_accuracy"] <= 1.0 and result["epochs"] == 1


def test_blobs_recipe_reaches_the_books_accuracy(tmp_path, capsys):
    # book (1000 epochs): Train: 0.835, Test: 0.845; 100 epochs already get there
    result = zoo.train("blobs_mlp", epochs=100, out_dir=str(tmp_path), verbose=0, seed=0)
    assert result["test_accuracy"] >= 0.80
    assert not result["stopped_on_nan"]


def test_the_committed_cifar10_improved_model_loads_and_evaluates(tmp_path):
    """The 125-epoch run's best weights (benchmarks/results/reproduce/trained/) fit the zoo
    model, and zoo.evaluate runs them end to end (here on a small CIFAR-10 in the official
    layout: the full test split is `cudnn-lite evaluate`'s job, see RESULTS.md)."""
    import pickle
    here = os.path.dirname(os.path.abspath(__file__))
    weights = os.path.join(here, os.pardir, "benchmarks", "results", "reproduce", "trained",
                           "cifar10_improved-cudnn_lite-seed0", "best.weights.npz")
    if not os.path.exists(weights):
        pytest.skip("benchmarks/ is not beside tests/ (an installed test tree)")
    rng = np.random.default_rng(3)
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()

    def batch(name, n):
        data = {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                b"labels": [int(v) for v in rng.integers(0, 10, n)]}
        with open(folder / name, "wb") as f:
            pickle.dump(data, f)
    for i in range(1, 6):
        batch(f"data_batch_{i}", 1001)
    batch("test_batch", 37)
    result = zoo.evaluate("cifar10_improved", weights, data_dir=str(tmp_path))
    assert result["test_samples"] == 37
    assert np.isfinite(result["test_loss"]) and 0.0 <= result["test_accuracy"] <= 1.0
    assert sum(map(sum, result["confusion_matrix"])) == 37
    model = zoo.build("cifar10_improved")
    model.load_weights(weights)
    # trained, not initial: the first kernel differs from the seed-0 initialisation
    fresh = zoo.build("cifar10_improved", seed=0)
    assert not np.array_equal(model.get_weights()[0], fresh.get_weights()[0])


def test_evaluate_rejects_bad_arguments(tmp_path):
    weights = tmp_path / "w.npz"
    weights.write_bytes(b"unused: the arguments are checked first")
    with pytest.raises(ValueError, match="batch_size must be positive, got 0"):
        zoo.evaluate("blobs_mlp", weights, batch_size=0)
    with pytest.raises(ValueError, match="unknown model 'resnet50'"):
        zoo.evaluate("resnet50", weights)
    with pytest.raises(FileNotFoundError, match="weights: no such file"):
        zoo.evaluate("blobs_mlp", tmp_path / "missing.npz")
