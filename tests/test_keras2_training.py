"""Keras 2's training API on cudnn_lite: lowercase optimizers and their arguments, the
*_generator methods and their queue arguments, losses and metrics as callables, the fused
softmax + cross-entropy behind a separate Activation('softmax'), the learning-rate callbacks,
and ImageDataGenerator.fit's statistics."""
from __future__ import annotations

import math

import numpy as np
import pytest

from cudnn_lite import backend, losses, metrics, ops, optimizers
from cudnn_lite.callbacks import Callback, LambdaCallback, LearningRateScheduler, ReduceLROnPlateau
from cudnn_lite.layers import Activation, Dense
from cudnn_lite.models import Sequential
from cudnn_lite.models import training as training_module
from cudnn_lite.preprocessing.image import ImageDataGenerator
from cudnn_lite.utils import Sequence

pytestmark = pytest.mark.usefixtures("on_device")  # every test on 'cpu', and on 'cuda' where usable


@pytest.fixture(autouse=True)
def _seeded():
    backend.clear_session()
    backend.set_random_seed(7)


def data(n=24, d=5, k=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)).astype(np.float32)
    labels = rng.integers(0, k, n)
    return x, np.eye(k, dtype=np.float32)[labels]


def mlp(d=5, k=3, separate_softmax=False):
    if separate_softmax:
        return Sequential([Dense(4, input_dim=d, activation="tanh"), Dense(k), Activation("softmax")])
    return Sequential([Dense(4, input_dim=d, activation="tanh"), Dense(k, activation="softmax")])


def same_weights(dst, src):
    dst.predict(np.zeros((1,) + tuple(src.input_shape[1:]), np.float32))
    dst.set_weights(src.get_weights())


# ------------------------------------------------------------ optimizers

@pytest.mark.parametrize("alias, cls", [("sgd", optimizers.SGD), ("rmsprop", optimizers.RMSprop),
                                        ("adagrad", optimizers.Adagrad), ("adadelta", optimizers.Adadelta),
                                        ("adam", optimizers.Adam), ("nadam", optimizers.Nadam)])
def test_lowercase_optimizers_are_the_classes(alias, cls):
    assert getattr(optimizers, alias) is cls
    opt = getattr(optimizers, alias)(lr=0.05, decay=0.5)
    assert opt.learning_rate == pytest.approx(0.05)
    opt.iterations = 2
    assert opt.current_learning_rate() == pytest.approx(0.05 / (1 + 0.5 * 2))


@pytest.mark.parametrize("cls", [optimizers.RMSprop, optimizers.Adagrad, optimizers.Adadelta, optimizers.Adam,
                                 optimizers.Nadam])
def test_epsilon_none_is_the_fuzz_factor(cls):
    assert cls(epsilon=None).epsilon == backend.epsilon() == 1e-7
    with pytest.raises(ValueError, match="epsilon"):
        cls(epsilon="tiny")


def test_keras3_defaults_are_kept():
    assert optimizers.Adadelta().learning_rate == 0.001   # Keras 2: 1.0
    assert optimizers.Adagrad().learning_rate == 0.001    # Keras 2: 0.01
    assert optimizers.Nadam().learning_rate == 0.001      # Keras 2: 0.002
    assert optimizers.Nadam().schedule_decay is None      # Keras 3's momentum schedule


def test_nadam_schedule_decay_is_keras2s_momentum_schedule():
    keras2 = optimizers.nadam(lr=0.002, schedule_decay=0.004)
    keras3 = optimizers.Nadam()
    for t in (1, 2, 50):
        assert keras2._mu(t) == pytest.approx(0.9 * (1 - 0.5 * 0.96 ** (t * 0.004)))
        assert keras3._mu(t) == pytest.approx(0.9 * (1 - 0.5 * 0.96 ** t))
    assert keras2.get_config()["schedule_decay"] == 0.004
    assert "schedule_decay" not in keras3.get_config()
    assert optimizers.Nadam.from_config(keras2.get_config())._mu(3) == keras2._mu(3)
    with pytest.raises(ValueError, match="schedule_decay"):
        optimizers.Nadam(schedule_decay=-1)


def test_nadam_schedule_decay_steps_match_a_numpy_nadam():
    """One Keras 2 Nadam run (schedule_decay=0.004) against the update written out in NumPy."""
    rng = np.random.default_rng(3)
    w0 = rng.normal(size=(6,)).astype(np.float32)
    grads = [rng.normal(size=(6,)).astype(np.float32) for _ in range(4)]
    opt = optimizers.Nadam(learning_rate=0.01, schedule_decay=0.004)
    w = backend.to_device(w0.copy(), backend.get_device())
    for g in grads:
        opt.apply([w], [backend.to_device(g, backend.get_device())])
    b1, b2, eps, lr = 0.9, 0.999, 1e-7, 0.01
    m = np.zeros(6)
    v = np.zeros(6)
    ref = w0.astype(np.float64)
    prod = 1.0
    for t, g in enumerate(grads, start=1):
        mu_t = b1 * (1 - 0.5 * 0.96 ** (t * 0.004))
        mu_t1 = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * 0.004))
        prod *= mu_t
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat = mu_t1 * m / (1 - prod * mu_t1) + (1 - mu_t) * g / (1 - prod)
        v_hat = v / (1 - b2 ** t)
        ref -= lr * m_hat / (np.sqrt(v_hat) + eps)
    np.testing.assert_allclose(backend.to_numpy(w), ref, rtol=1e-5, atol=1e-6)


def test_compile_accepts_lowercase_optimizer_objects_and_names():
    x, y = data()
    for opt in (optimizers.rmsprop(lr=0.01, decay=1e-6), "RMSprop", "nadam"):
        model = mlp()
        model.compile(optimizer=opt, loss="categorical_crossentropy")
        before = model.evaluate(x, y, verbose=0)
        model.fit(x, y, epochs=3, batch_size=8, verbose=0)
        assert model.evaluate(x, y, verbose=0) < before


# ------------------------------------------------ losses and metrics as callables

def test_loss_and_metric_callables_match_the_names():
    x, y = data()
    results = []
    for loss, metric in (("categorical_crossentropy", "categorical_accuracy"),
                         (losses.categorical_crossentropy, metrics.categorical_accuracy)):
        backend.set_random_seed(11)
        model = mlp()
        model.compile(optimizer=optimizers.SGD(0.1), loss=loss, metrics=[metric])
        hist = model.fit(x, y, epochs=2, batch_size=8, verbose=0, shuffle=False)
        results.append((hist.history["loss"], hist.history["categorical_accuracy"], model.predict(x)))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-6)
    np.testing.assert_allclose(results[0][1], results[1][1])
    np.testing.assert_allclose(results[0][2], results[1][2], rtol=1e-6)


@pytest.mark.parametrize("loss, name", [(losses.mean_squared_error, "mse"), (losses.mse, "mse"),
                                        (losses.mean_absolute_error, "mae"),
                                        (losses.binary_crossentropy, "binary_crossentropy")])
def test_loss_functions_resolve_to_their_kernels(loss, name):
    assert losses.get(loss) == name


def test_a_loss_without_a_kernel_is_refused_by_name():
    def my_loss(y_true, y_pred):
        return (y_true - y_pred) ** 2
    with pytest.raises(ValueError, match="loss"):
        mlp().compile(optimizer="sgd", loss=my_loss)


# ----------------------------------------- Activation('softmax') after a linear Dense

def _count_calls(monkeypatch, name):
    calls = []
    real = getattr(ops, name)

    def counting(*args, **kwargs):
        calls.append(name)
        return real(*args, **kwargs)
    monkeypatch.setattr(training_module.ops, name, counting)
    return calls


def test_separate_softmax_takes_the_fused_path(monkeypatch):
    x, y = data()
    model = mlp(separate_softmax=True)
    model.compile(optimizer=optimizers.SGD(0.1), loss="categorical_crossentropy")
    fused = _count_calls(monkeypatch, "softmax_cross_entropy_backward")
    unfused = _count_calls(monkeypatch, "loss_backward")
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    assert model._fused()
    assert len(fused) == 3 and unfused == []


def test_separate_softmax_trains_like_dense_softmax_and_like_the_unfused_gradient(monkeypatch):
    x, y = data()
    together = mlp()
    separate = mlp(separate_softmax=True)
    unfused = mlp(separate_softmax=True)
    same_weights(separate, together)
    same_weights(unfused, together)
    for m in (together, separate, unfused):
        m.compile(optimizer=optimizers.SGD(0.5), loss="categorical_crossentropy")
    together.fit(x, y, epochs=2, batch_size=8, verbose=0, shuffle=False)
    separate.fit(x, y, epochs=2, batch_size=8, verbose=0, shuffle=False)
    # the same model trained through the softmax's own backward and the loss's gradient
    monkeypatch.setattr(unfused, "_fused", lambda: False)
    calls = _count_calls(monkeypatch, "loss_backward")
    unfused.fit(x, y, epochs=2, batch_size=8, verbose=0, shuffle=False)
    assert len(calls) == 6
    for a, b, c in zip(together.get_weights(), separate.get_weights(), unfused.get_weights()):
        np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(c, a, rtol=1e-4, atol=1e-5)
    assert not np.allclose(together.get_weights()[0], mlp().get_weights()[0])  # it did train


# ----------------------------------------------------------- generators

class Batches(Sequence):
    def __init__(self, x, y, batch_size):
        self.x, self.y, self.batch_size = x, y, batch_size

    def __len__(self):
        return math.ceil(len(self.x) / self.batch_size)

    def __getitem__(self, i):
        sl = slice(i * self.batch_size, (i + 1) * self.batch_size)
        return self.x[sl], self.y[sl]


def forever(x, y, batch_size):
    while True:
        for i in range(0, len(x), batch_size):
            yield x[i:i + batch_size], y[i:i + batch_size]


def compiled(metrics_=("accuracy",)):
    model = mlp()
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=list(metrics_))
    return model


def test_evaluate_generator_and_predict_generator_match_the_array_calls():
    x, y = data()
    model = compiled()
    expected = model.evaluate(x, y, batch_size=8, verbose=0)
    np.testing.assert_allclose(model.evaluate_generator(forever(x, y, 8), steps=3), expected, rtol=1e-6)
    np.testing.assert_allclose(model.evaluate_generator(Batches(x, y, 8)), expected, rtol=1e-6)
    np.testing.assert_allclose(model.evaluate(Batches(x, y, 8), steps=2),
                               model.evaluate(x[:16], y[:16], verbose=0), rtol=1e-6)
    np.testing.assert_allclose(model.evaluate(x, y, batch_size=8, steps=2, verbose=0),
                               model.evaluate(x[:16], y[:16], verbose=0), rtol=1e-6)
    p = model.predict(x)
    np.testing.assert_allclose(model.predict_generator(forever(x, y, 8), steps=3), p, rtol=1e-6)
    np.testing.assert_allclose(model.predict_generator(Batches(x, y, 8)), p, rtol=1e-6)
    xs_only = (x[i:i + 8] for i in range(0, 24, 8))
    np.testing.assert_allclose(model.predict_generator(xs_only, steps=3, workers=4, use_multiprocessing=True), p,
                               rtol=1e-6)


def test_fit_generator_with_a_generator_for_validation():
    x, y = data()
    model = compiled()
    hist = model.fit_generator(forever(x, y, 8), steps_per_epoch=3, epochs=2, verbose=0,
                               validation_data=forever(x, y, 8), validation_steps=3,
                               workers=4, use_multiprocessing=True, max_queue_size=2)
    assert len(hist.history["val_loss"]) == 2
    assert hist.history["val_loss"][-1] == pytest.approx(model.evaluate(x, y, batch_size=8, verbose=0)[0], rel=1e-6)


def test_validation_freq():
    x, y = data()
    model = compiled()
    seen = []
    cb = LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append("val_loss" in logs))
    model.fit(x, y, epochs=4, batch_size=8, verbose=0, validation_data=(x, y), validation_freq=2, callbacks=[cb])
    assert seen == [False, True, False, True]
    seen.clear()
    model.fit(x, y, epochs=3, batch_size=8, verbose=0, validation_data=(x, y), validation_freq=[1, 3],
              callbacks=[cb])
    assert seen == [True, False, True]


@pytest.mark.parametrize("kwargs, name", [({"workers": -1}, "workers"), ({"max_queue_size": 0}, "max_queue_size"),
                                          ({"use_multiprocessing": "yes"}, "use_multiprocessing"),
                                          ({"validation_freq": 0}, "validation_freq")])
def test_bad_generator_arguments_name_themselves(kwargs, name):
    x, y = data()
    with pytest.raises(ValueError, match=name):
        compiled().fit_generator(forever(x, y, 8), steps_per_epoch=2, verbose=0, **kwargs)


def test_generator_calls_need_steps_and_batches():
    x, y = data()
    model = compiled()
    with pytest.raises(ValueError, match="steps"):
        model.evaluate_generator(forever(x, y, 8))
    with pytest.raises(ValueError, match="steps"):
        model.predict_generator(forever(x, y, 8))
    with pytest.raises(ValueError, match="validation_steps"):
        model.fit_generator(forever(x, y, 8), steps_per_epoch=2, verbose=0, validation_data=forever(x, y, 8))
    with pytest.raises(ValueError, match="array"):
        model.evaluate_generator(x)
    with pytest.raises(ValueError, match="stopped before 5 steps"):
        model.evaluate_generator(iter([(x, y)]), steps=5)
    with pytest.raises(ValueError, match="sample weights"):
        model.fit_generator(iter([(x, y, np.ones(24))] * 2), steps_per_epoch=2, verbose=0)


# ------------------------------------------------------------ callbacks

def test_keras2_batch_hooks_are_called():
    x, y = data()

    class LossHistory(Callback):
        def on_train_begin(self, logs=None):
            self.losses = []

        def on_batch_end(self, batch, logs=None):
            self.losses.append(float(logs["loss"]))
    cb = LossHistory()
    compiled().fit(x, y, epochs=2, batch_size=8, verbose=0, callbacks=[cb])
    assert len(cb.losses) == 6 and all(math.isfinite(v) for v in cb.losses)


def test_learning_rate_scheduler_with_get_and_set_value():
    x, y = data()
    model = compiled()
    seen = []

    def schedule(epoch):  # Keras 1/2 style: one argument, reads and writes through the backend
        lr = backend.get_value(model.optimizer.lr)
        if epoch == 2:
            backend.set_value(model.optimizer.lr, lr * 0.5)
        seen.append(backend.get_value(model.optimizer.lr))
        return backend.get_value(model.optimizer.lr)
    hist = model.fit(x, y, epochs=3, batch_size=8, verbose=0, callbacks=[LearningRateScheduler(schedule)])
    assert seen == [pytest.approx(0.001), pytest.approx(0.001), pytest.approx(0.0005)]
    assert hist.history["learning_rate"] == [pytest.approx(v) for v in seen]
    two_args = LearningRateScheduler(lambda epoch, lr: lr * 0.1)
    model.fit(x, y, epochs=2, batch_size=8, verbose=0, callbacks=[two_args])
    assert model.optimizer.learning_rate == pytest.approx(0.0005 * 0.01)
    with pytest.raises(ValueError, match="schedule"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[LearningRateScheduler(lambda epoch: "fast")])


def test_reduce_lr_on_plateau():
    x, y = data()
    model = compiled()
    losses_ = iter([1.0, 0.9, 0.95, 0.96, 0.97, 0.5, 0.6, 0.7])
    cb = ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=2, cooldown=1, min_lr=0.0002)
    cb.set_model(model)
    cb.on_train_begin({})
    lrs = []
    for epoch in range(8):
        logs = {"val_loss": next(losses_)}
        cb.on_epoch_end(epoch, logs)
        lrs.append(logs["learning_rate"])
    # improves, improves, wait 1, wait 2 -> halve (cooldown 1), cooldown, improves, wait 1, wait 2 -> halve
    assert lrs == pytest.approx([0.001, 0.001, 0.001, 0.001, 0.0005, 0.0005, 0.0005, 0.0005])
    assert model.optimizer.learning_rate == pytest.approx(0.00025)
    with pytest.raises(ValueError, match="factor"):
        ReduceLROnPlateau(factor=1.5)
    assert ReduceLROnPlateau(epsilon=0.01).min_delta == 0.01  # Keras 2.1's name


def test_lambda_callback_rejects_unknown_hooks():
    with pytest.raises(TypeError, match="on_epoch_finish"):
        LambdaCallback(on_epoch_finish=print)
    with pytest.raises(ValueError, match="on_epoch_end"):
        LambdaCallback(on_epoch_end=3)


# ---------------------------------------------------- ImageDataGenerator.fit

def test_image_data_generator_fit_is_keras2s_statistics():
    rng = np.random.default_rng(5)
    x = rng.integers(0, 256, (10, 6, 5, 3)).astype(np.float32)
    gen = ImageDataGenerator(featurewise_center=True, featurewise_std_normalization=True, rescale=1 / 255.)
    gen.fit(x)
    scaled = x / 255.0
    mean = scaled.mean(axis=(0, 1, 2))
    std = (scaled - mean).std(axis=(0, 1, 2))
    np.testing.assert_allclose(gen.mean.reshape(-1), mean, rtol=1e-5)
    np.testing.assert_allclose(gen.std.reshape(-1), std, rtol=1e-5)
    out = gen.standardize(x[:2])
    np.testing.assert_allclose(out, (scaled[:2] - mean) / (std + 1e-6), rtol=1e-4, atol=1e-5)


# ------------------------------------------------------------ custom metrics

def test_a_batchwise_custom_metric_is_the_mean_of_its_batch_values():
    x, y = data(n=20)
    model = compiled(metrics_=[])

    def mean_pred(y_true, y_pred):  # of the first class (a softmax row's mean is always 1/3)
        return backend.mean(y_pred[:, 0])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=[mean_pred])
    got = model.evaluate(x, y, batch_size=8, verbose=0)[1]
    p = model.predict(x)
    batches = [p[0:8, 0].mean(), p[8:16, 0].mean(), p[16:20, 0].mean()]  # 8, 8, 4 rows: each counts once
    assert abs(np.mean(batches) - p[:, 0].mean()) > 1e-6  # the data tell the two averages apart
    assert got == pytest.approx(np.mean(batches), rel=1e-6)


def test_custom_metric_shapes_numbers_and_errors():
    x, y = data(n=16)
    model = compiled(metrics_=[])
    model.compile(optimizer="adam", loss="categorical_crossentropy",
                  metrics=[lambda t, p: 0.25,                                      # a number
                           lambda t, p: backend.abs(p - t),                        # (batch, k): averaged
                           lambda t, p: backend.max(p, axis=-1)])                  # (batch,)
    _, number, per_row, row_max = model.evaluate(x, y, batch_size=8, verbose=0)
    p = model.predict(x)
    assert number == pytest.approx(0.25)
    assert per_row == pytest.approx(np.abs(p - y).mean(), rel=1e-5)
    assert row_max == pytest.approx(p.max(axis=-1).mean(), rel=1e-5)
    bad = compiled(metrics_=[])
    bad.compile(optimizer="adam", loss="categorical_crossentropy", metrics=[lambda t, p: p[:3, 0]])
    with pytest.raises(ValueError, match="one value per sample"):
        bad.evaluate(x, y, batch_size=8, verbose=0)
    bad.compile(optimizer="adam", loss="categorical_crossentropy", metrics=[lambda t, p: "high"])
    with pytest.raises(TypeError, match="metric"):
        bad.evaluate(x, y, batch_size=8, verbose=0)


def test_image_data_generator_zca_whitening_is_keras():
    rng = np.random.default_rng(8)
    x = rng.normal(size=(40, 4, 3, 2)).astype(np.float32) * np.array([1.0, 3.0], np.float32) + 2.0
    with pytest.warns(UserWarning, match="overrides setting of `featurewise_center`"):
        gen = ImageDataGenerator(zca_whitening=True, zca_epsilon=1e-6)
    assert gen.featurewise_center and not gen.featurewise_std_normalization
    with pytest.raises(ValueError, match="fit"):
        gen.standardize(x[:2])
    gen.fit(x)
    # Keras 3's formula, in float64
    centred = x.astype(np.float64) - x.astype(np.float64).mean(axis=(0, 1, 2))
    flat = centred.reshape(40, -1)
    u, s, _ = np.linalg.svd(flat.T, full_matrices=False)
    matrix = (u * (np.sqrt(40) / (s + 1e-6))).dot(u.T)
    np.testing.assert_allclose(gen.zca_whitening_matrix, matrix, rtol=1e-3, atol=1e-3)
    assert gen.principal_components is gen.zca_whitening_matrix
    white = gen.standardize(x).reshape(40, -1).astype(np.float64)
    np.testing.assert_allclose(white.T @ white / 40, np.eye(24), atol=1e-2)  # whitened: identity covariance
    with pytest.raises(ValueError, match="24 values"):
        gen.standardize(np.zeros((1, 2, 2, 2), np.float32))
    with pytest.raises(ValueError, match="zca_epsilon"):
        ImageDataGenerator(zca_whitening=True, zca_epsilon=0)


def test_image_data_generator_std_normalisation_turns_centring_on():
    with pytest.warns(UserWarning, match="featurewise_std_normalization"):
        gen = ImageDataGenerator(featurewise_std_normalization=True)
    assert gen.featurewise_center
    with pytest.warns(UserWarning, match="samplewise_std_normalization"):
        assert ImageDataGenerator(samplewise_std_normalization=True).samplewise_center


def test_zca_whitening_on_the_device_matches_the_host(cp):
    rng = np.random.default_rng(9)
    x = rng.normal(size=(12, 3, 3, 2)).astype(np.float32)
    with pytest.warns(UserWarning):
        gen = ImageDataGenerator(zca_whitening=True)
    gen.fit(x)
    on_device = gen.standardize(cp.asarray(x[:3]))
    assert backend.is_device_array(on_device)
    np.testing.assert_allclose(backend.to_numpy(on_device), gen.standardize(x[:3]), rtol=1e-4, atol=1e-4)


# ------------------------------------------------ Keras 2's Sequential extras

def test_predict_classes_and_predict_proba():
    x, y = data()
    model = compiled()
    p = model.predict(x)
    np.testing.assert_array_equal(model.predict_classes(x), p.argmax(axis=-1))
    np.testing.assert_array_equal(model.predict_proba(x), p)
    binary = Sequential([Dense(1, input_dim=5, activation="sigmoid")])
    classes = binary.predict_classes(x)
    assert classes.shape == (24, 1) and classes.dtype == np.int32
    np.testing.assert_array_equal(classes, (binary.predict(x) > 0.5).astype(np.int32))
    linear = Sequential([Dense(1, input_dim=5, kernel_initializer="ones")])
    with pytest.warns(UserWarning, match="invalid probability"):
        linear.predict_proba(x * 10)


def test_sparse_categorical_crossentropy_is_refused_with_the_fix():
    with pytest.raises(ValueError, match="to_categorical"):
        mlp().compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    with pytest.raises(NotImplementedError, match="keras.losses.sparse_categorical_crossentropy"):
        losses.sparse_categorical_crossentropy  # noqa: B018
    with pytest.raises(NotImplementedError, match="keras.losses.hinge"):
        losses.hinge  # noqa: B018
