"""Sequential: training behaviour (XOR, blobs), fit/evaluate/predict/train_on_batch contracts,
callbacks and History, generators, Keras-style output, determinism with a seed."""
from __future__ import annotations

import numpy as np
import pytest

from cudnn_lite import backend, optimizers, regularizers
from cudnn_lite.callbacks import Callback
from cudnn_lite.layers import Activation, BatchNormalization, Conv2D, Dense, Dropout, Flatten, MaxPooling2D
from cudnn_lite.models import Sequential

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
XOR_Y = np.array([0, 1, 1, 0], dtype=np.float32)


pytestmark = pytest.mark.usefixtures("on_device")  # every test on 'cpu', and on 'cuda' where usable


@pytest.fixture(autouse=True)
def _seeded():
    backend.clear_session()
    backend.set_random_seed(1234)


def blobs(n=600, seed=2):
    rng = np.random.default_rng(seed)
    centers = np.array([[-4.0, 2.0], [3.0, 5.0], [0.0, -4.0]])
    labels = rng.integers(0, 3, n)
    x = (centers[labels] + rng.normal(0, 2.0, (n, 2))).astype(np.float32)
    return x, np.eye(3, dtype=np.float32)[labels], labels


# --------------------------------------------------------------- learning

def test_xor_is_learned_by_an_mlp():
    model = Sequential([Dense(8, input_dim=2, activation="tanh"), Dense(1, activation="sigmoid")])
    model.compile(optimizer=optimizers.Adam(learning_rate=0.1), loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(XOR_X, XOR_Y, batch_size=4, epochs=200, verbose=0)
    pred = model.predict(XOR_X)
    assert pred.shape == (4, 1)
    np.testing.assert_array_equal((pred[:, 0] > 0.5).astype(np.float32), XOR_Y)
    loss, acc = model.evaluate(XOR_X, XOR_Y, verbose=0)
    assert acc == 1.0 and loss < 0.1


@pytest.mark.parametrize("activation", ["sigmoid", "step"])
def test_xor_is_not_learned_by_a_single_perceptron(activation):
    model = Sequential([Dense(1, input_dim=2, activation=activation)])
    model.compile(optimizer=optimizers.Adam(learning_rate=0.1), loss="mse", metrics=["accuracy"])
    model.fit(XOR_X, XOR_Y, batch_size=4, epochs=200, verbose=0)
    pred = (model.predict(XOR_X)[:, 0] > 0.5).astype(np.float32)
    assert (pred == XOR_Y).mean() <= 0.75  # a line separates at most 3 of the 4 points


def test_blobs_mlp_learns():
    x, y, _ = blobs()
    model = Sequential([Dense(25, input_dim=2, activation="relu"), Dense(3, activation="softmax")])
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    hist = model.fit(x[:480], y[:480], validation_data=(x[480:], y[480:]), epochs=40, verbose=0)
    assert list(hist.history) == ["loss", "accuracy", "val_loss", "val_accuracy"]
    assert len(hist.history["loss"]) == 40 and hist.epoch == list(range(40))
    assert hist.history["loss"][-1] < hist.history["loss"][0]
    _, test_acc = model.evaluate(x[480:], y[480:], verbose=0)
    assert test_acc > 0.8


def test_small_cnn_with_batchnorm_dropout_and_l2_trains():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 6, 6, 1)).astype(np.float32)
    labels = (x[:, :3].sum(axis=(1, 2, 3)) > x[:, 3:].sum(axis=(1, 2, 3))).astype(int)
    y = np.eye(2, dtype=np.float32)[labels]
    model = Sequential()
    model.add(Conv2D(4, 3, padding="same", kernel_regularizer=regularizers.l2(1e-3), input_shape=(6, 6, 1)))
    model.add(Activation("relu"))
    model.add(BatchNormalization())
    model.add(MaxPooling2D())
    model.add(Dropout(0.2))
    model.add(Flatten())
    model.add(Dense(2, activation="softmax"))
    model.compile(loss="categorical_crossentropy", optimizer=optimizers.Adam(0.01), metrics=["accuracy"])
    hist = model.fit(x, y, batch_size=16, epochs=15, verbose=0)
    assert hist.history["loss"][-1] < hist.history["loss"][0]
    assert hist.history["accuracy"][-1] > 0.8


# ------------------------------------------------------------ contracts

def test_reported_loss_includes_l2_term():
    model = Sequential([Dense(3, input_dim=4, kernel_regularizer=regularizers.l2(0.5), activation="softmax")])
    model.compile(loss="categorical_crossentropy", optimizer="sgd")
    x = np.ones((2, 4), dtype=np.float32)
    y = np.eye(3, dtype=np.float32)[[0, 1]]
    kernel = model.get_weights()[0]
    p = model.predict(x)
    data_loss = float(np.mean(-np.log(np.clip(p[np.arange(2), [0, 1]], 1e-7, 1))))
    assert model.evaluate(x, y, verbose=0) == pytest.approx(data_loss + 0.5 * float((kernel ** 2).sum()), rel=1e-5)


def test_train_on_batch_returns_loss_then_metrics_and_steps():
    x, y, _ = blobs(32)
    model = Sequential([Dense(4, input_dim=2, activation="relu"), Dense(3, activation="softmax")])
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    before = model.get_weights()
    out = model.train_on_batch(x, y)
    assert isinstance(out, list) and len(out) == 2 and 0 <= out[1] <= 1
    assert model.optimizer.iterations == 1
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    loss_only = Sequential([Dense(3, input_dim=2, activation="softmax")])
    loss_only.compile(loss="categorical_crossentropy", optimizer="sgd")
    assert isinstance(loss_only.train_on_batch(x, y), float)
    assert isinstance(loss_only.test_on_batch(x, y), float)


def test_fused_softmax_gradient_matches_separate_activation():
    """Dense(softmax) + CE uses the fused gradient; Dense + Activation('softmax') must agree."""
    x, y, _ = blobs(16)
    a = Sequential([Dense(3, input_dim=2, activation="softmax")])
    b = Sequential([Dense(3, input_dim=2), Activation("softmax")])
    b.set_weights(a.get_weights())
    for m in (a, b):
        m.compile(loss="categorical_crossentropy", optimizer=optimizers.SGD(0.5))
        m.train_on_batch(x, y)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-5, atol=1e-6)


def test_predict_evaluate_batching_and_partial_batches():
    x, y, _ = blobs(70)
    model = Sequential([Dense(5, input_dim=2, activation="relu"), Dense(3, activation="softmax")])
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    full = model.predict(x, batch_size=70)
    np.testing.assert_allclose(model.predict(x, batch_size=16), full, rtol=1e-6)
    np.testing.assert_allclose(model.predict(x), full, rtol=1e-6)
    r1 = model.evaluate(x, y, batch_size=7, verbose=0)
    r2 = model.evaluate(x, y, batch_size=70, verbose=0)
    np.testing.assert_allclose(r1, r2, rtol=1e-5)
    assert model.evaluate(x, y, verbose=0, return_dict=True).keys() == {"loss", "accuracy"}


def test_validation_split_takes_the_last_samples():
    x, y, _ = blobs(100)
    model = Sequential([Dense(3, input_dim=2, activation="softmax")])
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["acc"])
    seen = []

    class Sizes(Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(self.params["steps"])

    hist = model.fit(x, y, batch_size=10, epochs=1, validation_split=0.2, verbose=0, callbacks=[Sizes()])
    assert seen == [8]
    assert set(hist.history) == {"loss", "acc", "val_loss", "val_acc"}
    val = model.evaluate(x[80:], y[80:], verbose=0)
    assert hist.history["val_loss"][0] == pytest.approx(val[0], rel=1e-5)


def test_callbacks_hooks_and_stop_training():
    x, y, _ = blobs(40)
    model = Sequential([Dense(3, input_dim=2, activation="softmax")])
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    calls = []

    class Recorder(Callback):
        def on_train_begin(self, logs=None):
            calls.append(("train_begin", self.model is model, self.params["epochs"]))

        def on_epoch_begin(self, epoch, logs=None):
            calls.append(("epoch_begin", epoch))

        def on_train_batch_end(self, batch, logs=None):
            calls.append(("batch_end", batch, float(logs["loss"]) > 0))

        def on_epoch_end(self, epoch, logs=None):
            calls.append(("epoch_end", epoch, sorted(logs)))
            if epoch == 1:
                self.model.stop_training = True

        def on_train_end(self, logs=None):
            calls.append(("train_end",))

    hist = model.fit(x, y, batch_size=20, epochs=10, verbose=0, callbacks=[Recorder()])
    assert hist.epoch == [0, 1]
    assert calls[0] == ("train_begin", True, 10)
    assert calls[1:5] == [("epoch_begin", 0), ("batch_end", 0, True), ("batch_end", 1, True),
                          ("epoch_end", 0, ["accuracy", "loss"])]
    assert calls[-1] == ("train_end",)
    assert model.stop_training is True
    model.fit(x, y, epochs=1, verbose=0)
    assert model.stop_training is False


class _Seq:
    """A Keras-Sequence-like object: __len__ and __getitem__ -> (x, y)."""

    def __init__(self, x, y, batch):
        self.x, self.y, self.batch = x, y, batch
        self.epochs_ended = 0

    def __len__(self):
        return -(-len(self.x) // self.batch)

    def __getitem__(self, i):
        s = slice(i * self.batch, (i + 1) * self.batch)
        return self.x[s], self.y[s]

    def on_epoch_end(self):
        self.epochs_ended += 1


def test_fit_with_a_sequence_and_a_generator():
    x, y, _ = blobs(60)
    model = Sequential([Dense(8, input_dim=2, activation="relu"), Dense(3, activation="softmax")])
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    seq = _Seq(x, y, 16)
    hist = model.fit(seq, epochs=3, verbose=0, validation_data=(x, y))
    assert len(hist.history["loss"]) == 3 and seq.epochs_ended == 3

    def forever():
        while True:
            for i in range(0, 60, 20):
                yield x[i:i + 20], y[i:i + 20]

    with pytest.raises(ValueError, match="steps_per_epoch"):
        model.fit(forever(), epochs=1, verbose=0)
    hist = model.fit_generator(forever(), steps_per_epoch=3, epochs=2, verbose=0, validation_data=(x, y))
    assert len(hist.history["val_accuracy"]) == 2
    assert model.evaluate(seq, verbose=0)[1] >= 0
    assert model.predict(seq).shape == (60, 3)


def test_verbose_2_prints_keras_epoch_lines(capsys):
    x, y, _ = blobs(64)
    model = Sequential([Dense(3, input_dim=2, activation="softmax")])
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    model.fit(x, y, epochs=2, verbose=2, validation_data=(x, y))
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2"
    import re
    pattern = (r"^2/2 - \d+s - loss: \d\.\d{4} - accuracy: \d\.\d{4} - val_loss: \d\.\d{4} - "
               r"val_accuracy: \d\.\d{4} - \d+s/epoch - \d+(ms|us|s)/step$")
    assert re.match(pattern, lines[1]), lines[1]


def test_verbose_1_prints_a_final_progress_line(capsys):
    x, y, _ = blobs(64)
    model = Sequential([Dense(3, input_dim=2, activation="softmax")])
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    model.fit(x, y, epochs=1, verbose=1)
    out = capsys.readouterr().out
    assert "Epoch 1/1" in out and "2/2 [==============================] - " in out and "accuracy: " in out
    model.evaluate(x, y)
    assert "2/2 [==============================]" in capsys.readouterr().out


def test_same_seed_same_run():
    def run():
        backend.clear_session()
        backend.set_random_seed(7)
        x, y, _ = blobs(50)
        model = Sequential([Dense(6, input_dim=2, activation="relu"), Dropout(0.3), Dense(3, activation="softmax")])
        model.compile(loss="categorical_crossentropy", optimizer="adam")
        model.fit(x, y, batch_size=8, epochs=3, verbose=0, shuffle=True)
        return model.get_weights()

    a, b = run(), run()
    for wa, wb in zip(a, b):
        np.testing.assert_array_equal(wa, wb)
    backend.set_random_seed(8)
    c = Sequential([Dense(6, input_dim=2)]).get_weights()
    assert not np.array_equal(c[0], a[0])


def test_clear_errors():
    model = Sequential([Dense(3, input_dim=2, activation="softmax")])
    x = np.zeros((4, 2), np.float32)
    with pytest.raises(RuntimeError, match="compile"):
        model.fit(x, np.zeros((4, 3)), verbose=0)
    model.compile(loss="categorical_crossentropy", optimizer="adam")
    with pytest.raises(ValueError, match="to_categorical"):
        model.fit(x, np.zeros(4), verbose=0)
    with pytest.raises(ValueError, match="input shape"):
        model.predict(np.zeros((4, 5), np.float32))
    with pytest.raises(ValueError, match="loss"):
        model.compile(loss="hinge", optimizer="adam")
    with pytest.raises(ValueError, match="not yet been built"):
        Sequential([Dense(2)]).summary()
    with pytest.raises(ValueError, match="device"):
        backend.set_device("tpu")
    with pytest.raises(ValueError, match="unique"):
        Sequential([Dense(2, name="a", input_dim=2), Dense(2, name="a")])


def test_deferred_build_from_data_and_get_set_weights():
    x, y, _ = blobs(20)
    model = Sequential()
    model.add(Dense(4, activation="relu"))
    model.add(Dense(3, activation="softmax"))
    assert not model.built
    model.compile(loss="categorical_crossentropy", optimizer="rmsprop")
    model.fit(x, y, epochs=1, verbose=0)
    assert model.built and model.input_shape == (None, 2) and model.output_shape == (None, 3)
    weights = model.get_weights()
    assert [w.shape for w in weights] == [(2, 4), (4,), (4, 3), (3,)]
    new = [np.full_like(w, 0.1) for w in weights]
    model.set_weights(new)
    np.testing.assert_array_equal(model.get_weights()[2], new[2])
    with pytest.raises(ValueError, match="shape"):
        model.set_weights([np.zeros((3, 4), np.float32)] + new[1:])


def test_backend_device_helpers(device):
    if device != "cpu":
        pytest.skip("checks the 'cpu' helpers (the device's are in test_emulator_arrays and test_cuda_paths)")
    assert backend.get_device() == "cpu"
    assert backend.xp("cpu") is np
    a = backend.to_device(np.arange(3), "cpu", np.float32)
    assert a.dtype == np.float32 and backend.to_numpy(a) is a
    import cudnn_lite
    if not cudnn_lite.cuda_available():
        with pytest.raises(RuntimeError, match="cuda"):
            backend.set_device("cuda")


def _train_small_cnn(device):
    backend.set_device(device)
    backend.clear_session()
    backend.set_random_seed(3)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((40, 6, 6, 2)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 40)]
    model = Sequential()
    model.add(Conv2D(4, 3, padding="same", activation="relu", kernel_regularizer=regularizers.l2(1e-3),
                     input_shape=(6, 6, 2)))
    model.add(BatchNormalization())
    model.add(MaxPooling2D())
    model.add(Dropout(0.3))
    model.add(Flatten())
    model.add(Dense(3, activation="softmax"))
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    hist = model.fit(x, y, batch_size=16, epochs=2, verbose=0, validation_data=(x, y))
    return model, hist, model.predict(x)


def test_training_on_each_device_matches_cpu(device):
    """Same seed, same data: the run on `device` follows the CPU run (cuda: within float tolerance)."""
    _, hist_cpu, pred_cpu = _train_small_cnn("cpu")
    model, hist, pred = _train_small_cnn(device)
    assert model.device == device
    assert backend.device_of(model.layers[0].kernel.value) == device
    assert isinstance(pred, np.ndarray)
    np.testing.assert_allclose(pred, pred_cpu, rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(hist.history["loss"], hist_cpu.history["loss"], rtol=1e-4)


def test_a_built_layer_moves_to_the_device_of_the_model_it_joins(device):
    """Called on an array, a layer is built on that array's device; added to a model on the other
    device, its weights and gradients move to the model's (they used to stay where they were)."""
    import cudnn_lite
    if not cudnn_lite.cuda_available():
        pytest.skip("needs both devices: 'cuda' is not usable here (a GPU with CuPy, or the emulated build)")
    model_device, layer_device = device, "cpu" if device == "cuda" else "cuda"
    x, y, _ = blobs(16)
    layer = Dense(3, activation="softmax")
    layer(backend.to_device(x, layer_device))
    assert layer.device == layer_device
    model = Sequential([layer])
    model.build((None, 2))
    assert model.device == model_device and layer.device == model_device
    assert {backend.device_of(a) for w in model.weights for a in (w.value, w.grad)} == {model_device}
    model.compile(loss="categorical_crossentropy", optimizer="adam")
    model.fit(x, y, epochs=1, verbose=0)
    assert model.evaluate(x, y, verbose=0) > 0
