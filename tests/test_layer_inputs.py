"""Bad input at the layer and model level: every layer's constructor arguments, the data
given to fit/predict/evaluate/train_on_batch, compile arguments and to_categorical. Each
must raise a clear exception (ValueError/TypeError/RuntimeError) whose message starts with
or names the argument; never a crash, a recursion error or a silently wrong result."""
from __future__ import annotations

import numpy as np
import pytest

from cudnn_lite import backend
from cudnn_lite import layers as L
from cudnn_lite.models import Sequential
from cudnn_lite.utils import to_categorical

NAN, INF = float("nan"), float("inf")


pytestmark = pytest.mark.usefixtures("on_device")  # every test on 'cpu', and on 'cuda' where usable


LAYER_CASES = [
    (lambda: L.Dense(0), "units"), (lambda: L.Dense(-3), "units"), (lambda: L.Dense(2.5), "units"),
    (lambda: L.Dense("a"), "units"), (lambda: L.Dense(True), "units"), (lambda: L.Dense(None), "units"),
    (lambda: L.Dense(3, activation="swishy"), "activation"), (lambda: L.Dense(3, activation=7), "activation"),
    (lambda: L.Dense(3, kernel_initializer="nope"), "initializer"),
    (lambda: L.Dense(3, input_dim=0), "input_dim"), (lambda: L.Dense(3, input_dim=-1), "input_dim"),
    (lambda: L.Dense(3, input_shape=(-1,)), "input_shape"), (lambda: L.Dense(3, input_shape=()), "input_shape"),
    (lambda: L.Conv2D(0, 3), "filters"), (lambda: L.Conv2D(-4, 3), "filters"),
    (lambda: L.Conv2D(4, 0), "kernel_size"), (lambda: L.Conv2D(4, (-1, 3)), "kernel_size"),
    (lambda: L.Conv2D(4, (3, 3, 3)), "kernel_size"), (lambda: L.Conv2D(4, "3x3"), "kernel_size"),
    (lambda: L.Conv2D(4, 3, strides=0), "strides"), (lambda: L.Conv2D(4, 3, strides=(1, -1)), "strides"),
    (lambda: L.Conv2D(4, 3, padding="full"), "padding"), (lambda: L.Conv2D(4, 3, padding=1), "padding"),
    (lambda: L.Conv2D(4, 3, dilation_rate=2), "dilation_rate"),
    (lambda: L.MaxPooling2D(0), "pool_size"), (lambda: L.MaxPooling2D(-2), "pool_size"),
    (lambda: L.MaxPooling2D(2, strides=0), "strides"), (lambda: L.AveragePooling2D(2, padding=3), "padding"),
    (lambda: L.AveragePooling2D((2, 0)), "pool_size"),
    (lambda: L.Dropout(1.0), "rate"), (lambda: L.Dropout(-0.1), "rate"), (lambda: L.Dropout(NAN), "rate"),
    (lambda: L.Dropout("0.5"), "rate"), (lambda: L.Dropout(0.5, seed=-1), "seed"),
    (lambda: L.Dropout(0.5, noise_shape=(1, 2)), "noise_shape"),
    (lambda: L.BatchNormalization(momentum=2), "momentum"), (lambda: L.BatchNormalization(momentum=NAN), "momentum"),
    (lambda: L.BatchNormalization(epsilon=0), "epsilon"), (lambda: L.BatchNormalization(epsilon=NAN), "epsilon"),
    (lambda: L.BatchNormalization(epsilon=-1e-3), "epsilon"), (lambda: L.BatchNormalization(axis="x"), "axis"),
    (lambda: L.LeakyReLU(NAN), "alpha"), (lambda: L.LeakyReLU(-1), "alpha"), (lambda: L.LeakyReLU(INF), "alpha"),
    (lambda: L.Activation("nope"), "activation"),
    (lambda: L.Flatten(data_format="channels_first"), "data_format"),
]


@pytest.mark.parametrize("make,arg", LAYER_CASES, ids=[f"{i}-{a}" for i, (_, a) in enumerate(LAYER_CASES)])
def test_layer_constructor_arguments(make, arg):
    with pytest.raises((ValueError, TypeError), match=arg):
        make()


BUILD_CASES = [
    (lambda: Sequential([L.Conv2D(4, 9, input_shape=(5, 5, 1))]), "kernel_size"),
    (lambda: Sequential([L.Conv2D(4, 3, input_shape=(5, 5))]), "Conv2D expects"),
    (lambda: Sequential([L.MaxPooling2D(9, input_shape=(5, 5, 1))]), "pool_size"),
    (lambda: Sequential([L.Dense(3, input_shape=(4,)), L.BatchNormalization(axis=0)]), "axis"),
    (lambda: Sequential([3]), "add"),
    (lambda: Sequential([L.Dense(2, name="d"), L.Dense(2, name="d")]), "unique names"),
]


@pytest.mark.parametrize("make,word", BUILD_CASES)
def test_building_with_bad_geometry(make, word):
    with pytest.raises((ValueError, TypeError), match=word):
        make()


def model():
    backend.set_random_seed(0)
    m = Sequential([L.Dense(4, input_dim=3, activation="relu"), L.Dense(2, activation="softmax")])
    m.compile(loss="categorical_crossentropy", optimizer="sgd")
    return m


X = np.ones((5, 3), np.float32)
Y = np.eye(2, dtype=np.float32)[[0, 1, 0, 1, 0]]

FIT_CASES = [
    (dict(x=np.ones((5, 4)), y=Y), "input shape"),
    (dict(x=X, y=np.ones((5, 3))), "^y: shape"),
    (dict(x=X, y=np.array([0, 1, 0, 1, 0])), "to_categorical"),
    (dict(x=X, y=Y[:4]), "^y: 4 samples"),
    (dict(x=np.ones((0, 3)), y=np.ones((0, 2))), "empty"),
    (dict(x=np.array([["a"] * 3] * 5), y=Y), "^x: expected an array of numbers"),
    (dict(x=np.ones((5, 3), complex), y=Y), "^x: .*complex"),
    (dict(x=[[1, 2, 3], [1, 2]], y=Y[:2]), "^x: expected an array of numbers"),
    (dict(x=np.float32(1), y=Y), "^x: expected an array of samples"),
    (dict(x="abc", y=Y), "^x: expected an array of samples"),
    (dict(x=None, y=Y), "^x: expected an array of samples"),
    (dict(x=np.ones(5), y=Y), "input shape"),
    (dict(x=np.full((5, 3), NAN), y=Y), "^x: holds 15 NaN"),
    (dict(x=np.full((5, 3), 1e300), y=Y), "^x: holds 15 NaN or infinite"),  # inf after the float32 cast
    (dict(x=X, y=np.full((5, 2), NAN)), "^y: holds"),
    (dict(x=X, y=None), "y is required"),
    (dict(x=X, y=Y, batch_size=0), "^batch_size"), (dict(x=X, y=Y, batch_size=-2), "^batch_size"),
    (dict(x=X, y=Y, batch_size="8"), "^batch_size"), (dict(x=X, y=Y, batch_size=2.5), "^batch_size"),
    (dict(x=X, y=Y, epochs=-1), "^epochs"), (dict(x=X, y=Y, epochs=1.5), "^epochs"),
    (dict(x=X, y=Y, initial_epoch=-1), "^initial_epoch"),
    (dict(x=X, y=Y, validation_split=1.0), "^validation_split"),
    (dict(x=X, y=Y, validation_split=NAN), "^validation_split"),
    (dict(x=X, y=Y, validation_split=0.9), "leaves no training"),
    (dict(x=X, y=Y, validation_data=(X,)), "^validation_data"),
    (dict(x=X, y=Y, validation_data=(np.ones((2, 4)), Y[:2])), "input shape"),
    (dict(x=X, y=Y, verbose=3), "^verbose"),
    (dict(x=X, y=Y, sample_weight=np.ones(5)), "sample_weight"),
]


@pytest.mark.parametrize("kwargs,word", FIT_CASES, ids=[str(i) for i in range(len(FIT_CASES))])
def test_fit_bad_data(kwargs, word):
    m = model()
    before = [w.copy() for w in m.get_weights()]
    with pytest.raises(ValueError, match=word):
        m.fit(**{"verbose": 0, **kwargs})
    for a, b in zip(m.get_weights(), before):  # a rejected call never trains
        np.testing.assert_array_equal(a, b)


PREDICT_CASES = [
    (dict(x=np.ones((2, 4))), "input shape"), (dict(x="abc"), "^x: expected an array of samples"),
    (dict(x=None), "^x"), (dict(x=np.ones(3)), "input shape"), (dict(x=np.ones((2, 3, 1))), "input shape"),
    (dict(x=X, batch_size=0), "^batch_size"), (dict(x=X, batch_size="x"), "^batch_size"),
    (dict(x={"a": X}), "^x: expected an array of samples"), (dict(x=np.ones((2, 3), "U3")), "^x: expected"),
    (dict(x=np.float64(3.0)), "^x: expected an array of samples"), (dict(x=np.array(3.0)), "^x"),
]


@pytest.mark.parametrize("kwargs,word", PREDICT_CASES, ids=[str(i) for i in range(len(PREDICT_CASES))])
def test_predict_bad_data(kwargs, word):
    with pytest.raises(ValueError, match=word):
        model().predict(**kwargs)


def test_predict_empty_and_nan():
    m = model()
    assert m.predict(np.ones((0, 3))).shape == (0, 2)
    p = m.predict(np.array([[NAN, 0, 0], [1, 1, 1]], np.float32))
    assert np.isfinite(p[1]).all()  # NaN stays in its own row (what it becomes: SECURITY.md)


EVALUATE_CASES = [
    (dict(x=np.ones((2, 4)), y=Y[:2]), "input shape"), (dict(x=np.ones((0, 3)), y=np.ones((0, 2))), "no samples"),
    (dict(x=X, y=np.ones((5, 5))), "^y: shape"), (dict(x=None, y=None), "^x"),
    (dict(x=X, y=Y, batch_size=0), "^batch_size"), (dict(x=np.full((5, 3), INF), y=Y), "^x: holds"),
    (dict(x="abc", y=Y), "^x"),
]


@pytest.mark.parametrize("kwargs,word", EVALUATE_CASES, ids=[str(i) for i in range(len(EVALUATE_CASES))])
def test_evaluate_bad_data(kwargs, word):
    with pytest.raises(ValueError, match=word):
        model().evaluate(verbose=0, **kwargs)


def test_train_and_test_on_batch_bad_data():
    m = model()
    for call in (m.train_on_batch, m.test_on_batch):
        with pytest.raises(ValueError, match="^x: holds"):
            call(np.full((2, 3), NAN), Y[:2])
        with pytest.raises(ValueError, match="^y: holds"):
            call(X, np.full((5, 2), NAN))
        with pytest.raises(ValueError, match="^x: an empty batch"):
            call(np.ones((0, 3)), np.ones((0, 2)))
        with pytest.raises(ValueError, match="^x: expected an array of samples"):
            call("abc", Y)
        with pytest.raises(ValueError, match="input shape"):
            call(np.ones((2, 4)), Y[:2])


def test_compile_and_uncompiled_errors():
    m = model()
    with pytest.raises(ValueError, match="loss"):
        m.compile(loss="nope", optimizer="sgd")
    with pytest.raises(ValueError, match="optimizer"):
        m.compile(loss="mse", optimizer="nope")
    with pytest.raises(ValueError, match="metric"):
        m.compile(loss="mse", optimizer="sgd", metrics=["nope"])
    with pytest.raises(RuntimeError, match="compile"):
        Sequential([L.Dense(2, input_dim=3)]).fit(X, Y, verbose=0)
    with pytest.raises(ValueError, match="expected 4 arrays"):
        m.set_weights([np.ones((2, 2))])
    with pytest.raises(ValueError, match="kernel"):
        m.set_weights([np.ones((3, 5)), np.ones(4), np.ones((4, 2)), np.ones(2)])


TO_CATEGORICAL_CASES = [
    (dict(y=[0, -1, 2]), ">= 0"), (dict(y=[0.5, 1]), "integer"), (dict(y=[0, NAN]), "integer"),
    (dict(y=[0, 5], num_classes=3), "out of range"), (dict(y=[0], num_classes=0), "out of range"),
    (dict(y=["a"]), "integer"), (dict(y=[[0, -3]]), ">= 0"),
]


@pytest.mark.parametrize("kwargs,word", TO_CATEGORICAL_CASES, ids=[str(i) for i in range(len(TO_CATEGORICAL_CASES))])
def test_to_categorical_bad_labels(kwargs, word):
    with pytest.raises(ValueError, match=word):
        to_categorical(**kwargs)


def test_to_categorical_good_labels():
    np.testing.assert_array_equal(to_categorical([2, 0], 3), [[0, 0, 1], [1, 0, 0]])
    assert to_categorical(np.array([], int), 4).shape == (0, 4)

