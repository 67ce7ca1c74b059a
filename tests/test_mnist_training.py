"""A short training of the textbook's MNIST CNN on a few thousand real MNIST images
(../shared/datasets/mnist or $CUDNN_LITE_DATA/mnist); skipped when they are absent."""
from __future__ import annotations

import os
import time

import numpy as np
import pytest

from cudnn_lite import callbacks, zoo
from cudnn_lite.datasets import mnist
from cudnn_lite.utils import to_categorical

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _mnist_dir():
    candidates = []
    if os.environ.get("CUDNN_LITE_DATA"):
        candidates.append(os.path.join(os.environ["CUDNN_LITE_DATA"], "mnist"))
    candidates.append(os.path.join(REPO_ROOT, "..", "shared", "datasets", "mnist"))
    for c in candidates:
        if os.path.isfile(os.path.join(c, "train-images-idx3-ubyte.gz")):
            return c
    pytest.skip("real MNIST not found (looked in $CUDNN_LITE_DATA/mnist and ../shared/datasets/mnist)")


def test_mnist_cnn_learns_on_real_images(tmp_path):
    (x, y), (xt, yt) = mnist.load_data(path=_mnist_dir())
    assert x.shape == (60000, 28, 28) and xt.shape == (10000, 28, 28)
    assert np.bincount(y).min() > 5000  # all ten digits, official counts
    n_train, n_test = 4000, 1000
    x = x[:n_train, :, :, None].astype(np.float32) / 255
    xt = xt[:n_test, :, :, None].astype(np.float32) / 255
    y, yt = to_categorical(y[:n_train], 10), to_categorical(yt[:n_test], 10)
    model = zoo.build("mnist_cnn", seed=0)
    ckpt = str(tmp_path / "best.weights.npz")
    cbs = [callbacks.ModelCheckpoint(ckpt, save_best_only=True, save_weights_only=True),
           callbacks.EarlyStopping(patience=1, restore_best_weights=True)]
    t0 = time.perf_counter()
    history = model.fit(x, y, batch_size=64, epochs=2, validation_split=0.1, callbacks=cbs,
                        verbose=0)
    seconds = time.perf_counter() - t0
    assert set(history.history) >= {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert history.history["loss"][-1] < history.history["loss"][0]
    model.load_weights(ckpt)
    loss, acc = model.evaluate(xt, yt, verbose=0)
    print(f"mnist_cnn on {n_train} images, 2 epochs: test accuracy {acc:.4f}, {seconds:.1f} s")
    assert acc > 0.85, f"accuracy {acc} is not far above chance (0.1)"
