"""Determinism on each device: with backend.set_random_seed, two runs of the same training give
identical weights and losses (bit for bit), on the CPU at a fixed thread count; a different
seed gives different weights. What is and is not deterministic on the GPU is in SECURITY.md."""
from __future__ import annotations

import numpy as np
import pytest

import cudnn_lite
from cudnn_lite import backend
from cudnn_lite.layers import (BatchNormalization, Conv2D, Dense, Dropout, Flatten, GlobalAveragePooling2D,
                               MaxPooling2D)
from cudnn_lite.models import Sequential


pytestmark = pytest.mark.usefixtures("on_device")  # every test on 'cpu', and on 'cuda' where usable


@pytest.fixture(autouse=True)
def _restore_threads():
    threads = cudnn_lite.get_num_threads()
    yield
    cudnn_lite.set_num_threads(threads)


def data():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((64, 8, 8, 2)).astype(np.float32)
    labels = (x[..., 0].mean(axis=(1, 2)) > 0).astype(int) + (x[..., 1].mean(axis=(1, 2)) > 0).astype(int)
    return x, np.eye(3, dtype=np.float32)[labels]


def train(seed, threads=None):
    if threads is not None:
        cudnn_lite.set_num_threads(threads)
    backend.set_random_seed(seed)
    model = Sequential([
        Conv2D(8, 3, padding="same", activation="relu", input_shape=(8, 8, 2)),
        BatchNormalization(),
        MaxPooling2D(2),
        Conv2D(16, 3, activation="relu"),
        GlobalAveragePooling2D(),
        Dropout(0.3),
        Dense(16, activation="relu"),
        Dropout(0.2),
        Dense(3, activation="softmax"),
    ])
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    x, y = data()
    history = model.fit(x, y, batch_size=16, epochs=3, verbose=0, shuffle=True, validation_split=0.25)
    return model.get_weights(), history.history


def test_same_seed_same_weights_and_losses():
    w1, h1 = train(42)
    w2, h2 = train(42)
    assert h1 == h2
    assert all(np.array_equal(a, b) for a, b in zip(w1, w2))


def test_different_seed_different_weights():
    w1, _ = train(1)
    w2, _ = train(2)
    assert not all(np.array_equal(a, b) for a, b in zip(w1, w2))


@pytest.mark.parametrize("threads", [1, 2])
def test_deterministic_at_a_fixed_thread_count(threads, device):
    if device != "cpu":
        pytest.skip("CPU by nature: the OpenMP thread count of the CPU kernels (the GPU's reductions do not "
                    "depend on it: test_same_seed_same_weights_and_losses covers them)")
    w1, h1 = train(5, threads=threads)
    w2, h2 = train(5, threads=threads)
    assert h1 == h2
    assert all(np.array_equal(a, b) for a, b in zip(w1, w2))


def test_same_weights_at_any_thread_count(device):
    if device != "cpu":
        pytest.skip("CPU by nature: the OpenMP thread count of the CPU kernels")
    # every CPU kernel cuts its work into chunks fixed by the shape (any thread takes the next
    # one) and adds partial sums in chunk order, so the thread count changes no bit
    w1, h1 = train(5, threads=1)
    for threads in (2, 3):
        w, h = train(5, threads=threads)
        assert h == h1, threads
        assert all(np.array_equal(a, b) for a, b in zip(w, w1)), threads


def test_dense_network_deterministic_with_generator_input():
    def run():
        backend.set_random_seed(9)
        model = Sequential([Dense(12, input_dim=5, activation="tanh"), Dropout(0.5), Dense(1, activation="sigmoid")])
        model.compile(loss="binary_crossentropy", optimizer="rmsprop")
        rng = np.random.default_rng(0)
        x = rng.standard_normal((40, 5)).astype(np.float32)
        y = (x[:, :1] > 0).astype(np.float32)
        model.fit(x, y, batch_size=8, epochs=2, verbose=0)
        return model.get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(run(), run()))
