"""Layers: summary tables and parameter counts of the textbook's networks, output shapes,
argument validation, get_config round trips, and every backward against finite differences
of the layer's own forward (float32, so tolerances are loose)."""
from __future__ import annotations

import numpy as np
import pytest

from cudnn_lite import backend, layers, regularizers
from cudnn_lite.layers import (Activation, AveragePooling2D, BatchNormalization, Conv2D, Dense, Dropout,
                               Flatten, GlobalAveragePooling2D, LeakyReLU, MaxPooling2D)
from cudnn_lite.models import Sequential
from helpers import to_device, to_host

pytestmark = pytest.mark.usefixtures("on_device")  # every test on 'cpu', and on 'cuda' where usable


@pytest.fixture(autouse=True)
def _fresh_names():
    backend.clear_session()
    backend.set_random_seed(0)


def summary_lines(model):
    lines = []
    model.summary(print_fn=lines.append)
    return lines


# ------------------------------------------------------ textbook networks

MLP_SUMMARY = """\
Model: "sequential"
_________________________________________________________________
 Layer (type)                Output Shape              Param #   
=================================================================
 flatten (Flatten)           (None, 784)               0         
                                                                 
 dense (Dense)               (None, 512)               401920    
                                                                 
 dense_1 (Dense)             (None, 512)               262656    
                                                                 
 dense_2 (Dense)             (None, 10)                5130      
                                                                 
=================================================================
Total params: 669,706
Trainable params: 669,706
Non-trainable params: 0
_________________________________________________________________"""


def test_mnist_mlp_summary_is_keras_table():
    model = Sequential()
    model.add(Flatten(input_shape=(28, 28)))
    model.add(Dense(512, activation="relu"))
    model.add(Dense(512, activation="relu"))
    model.add(Dense(10, activation="softmax"))
    assert "\n".join(summary_lines(model)) == MLP_SUMMARY
    assert model.count_params() == 669706


def rows(model):
    """(name (Type), output shape, params) per layer, parsed from the summary."""
    out = []
    for layer in model.layers:
        out.append((f"{layer.name} ({type(layer).__name__})", layer.output_shape, layer.count_params()))
    return out


def mnist_cnn(dropout=False):
    model = Sequential()
    model.add(Conv2D(32, kernel_size=(3, 3), strides=1, padding="same", activation="relu", input_shape=(28, 28, 1)))
    model.add(MaxPooling2D(pool_size=(2, 2)))
    model.add(Conv2D(64, (3, 3), strides=1, padding="same", activation="relu"))
    model.add(MaxPooling2D(pool_size=(2, 2)))
    model.add(Flatten())
    if dropout:
        model.add(Dropout(rate=0.3))
    model.add(Dense(64, activation="relu"))
    if dropout:
        model.add(Dropout(rate=0.5))
    model.add(Dense(10, activation="softmax"))
    return model


def test_mnist_cnn_shapes_and_params():
    model = mnist_cnn()
    assert rows(model) == [
        ("conv2d (Conv2D)", (None, 28, 28, 32), 320),
        ("max_pooling2d (MaxPooling2D)", (None, 14, 14, 32), 0),
        ("conv2d_1 (Conv2D)", (None, 14, 14, 64), 18496),
        ("max_pooling2d_1 (MaxPooling2D)", (None, 7, 7, 64), 0),
        ("flatten (Flatten)", (None, 3136), 0),
        ("dense (Dense)", (None, 64), 200768),
        ("dense_1 (Dense)", (None, 10), 650)]
    lines = summary_lines(model)
    assert "Total params: 220,234" in lines
    assert any(l.startswith(" conv2d (Conv2D)") and "(None, 28, 28, 32)" in l and "320" in l for l in lines)
    backend.clear_session()
    assert mnist_cnn(dropout=True).count_params() == 220234


def test_cifar10_cnn_params():
    model = Sequential()
    model.add(Conv2D(filters=16, kernel_size=2, padding="same", activation="relu", input_shape=(32, 32, 3)))
    model.add(MaxPooling2D(pool_size=2))
    model.add(Conv2D(filters=32, kernel_size=2, padding="same", activation="relu"))
    model.add(MaxPooling2D(pool_size=2))
    model.add(Conv2D(filters=64, kernel_size=2, padding="same", activation="relu"))
    model.add(MaxPooling2D(pool_size=2))
    model.add(Flatten())
    model.add(Dropout(0.3))
    model.add(Dense(500, activation="relu"))
    model.add(Dropout(0.4))
    model.add(Dense(10, activation="softmax"))
    assert [r[1:] for r in rows(model)] == [
        ((None, 32, 32, 16), 208), ((None, 16, 16, 16), 0), ((None, 16, 16, 32), 2080), ((None, 8, 8, 32), 0),
        ((None, 8, 8, 64), 8256), ((None, 4, 4, 64), 0), ((None, 1024), 0), ((None, 1024), 0),
        ((None, 500), 512500), ((None, 500), 0), ((None, 10), 5010)]
    assert "Total params: 528,054" in summary_lines(model)


def improved_cifar():
    model = Sequential()
    wd = 1e-4
    for i, filters in enumerate((32, 32, 64, 64, 128, 128)):
        kwargs = {"input_shape": (32, 32, 3)} if i == 0 else {}
        model.add(Conv2D(filters, kernel_size=3, padding="same", kernel_regularizer=regularizers.l2(wd), **kwargs))
        model.add(Activation("relu"))
        model.add(BatchNormalization())
        if i % 2 == 1:
            model.add(MaxPooling2D(pool_size=(2, 2)))
            model.add(Dropout(0.2 + 0.1 * (i // 2)))
    model.add(Flatten())
    model.add(Dense(10, activation="softmax"))
    return model


def test_improved_cifar_trainable_and_non_trainable():
    model = improved_cifar()
    lines = summary_lines(model)
    assert "Total params: 309,290" in lines
    assert "Trainable params: 308,394" in lines
    assert "Non-trainable params: 896" in lines
    bn = [l for l in model.layers if isinstance(l, BatchNormalization)][0]
    assert [w.name for w in bn.weights] == ["gamma", "beta", "moving_mean", "moving_variance"]
    assert [w.trainable for w in bn.weights] == [True, True, False, False]
    assert model.layers[2].name == "batch_normalization"


def test_blobs_mlp_params():
    model = Sequential()
    model.add(Dense(25, input_dim=2, activation="relu"))
    model.add(Dense(3, activation="softmax"))
    lines = summary_lines(model)
    assert "Total params: 153" in lines
    assert rows(model) == [("dense (Dense)", (None, 25), 75), ("dense_1 (Dense)", (None, 3), 78)]


def test_keras2_import_paths():
    from cudnn_lite.layers.normalization import BatchNormalization as BN
    from cudnn_lite.layers.core import Dense as D
    from cudnn_lite.layers.convolutional import Conv2D as C
    from cudnn_lite.layers.pooling import MaxPooling2D as M
    assert BN is BatchNormalization and D is Dense and C is Conv2D and M is MaxPooling2D


# ------------------------------------------------------------ shapes, args

@pytest.mark.parametrize("layer, in_shape, out_shape", [
    (lambda: Conv2D(4, 3), (None, 8, 9, 2), (None, 6, 7, 4)),
    (lambda: Conv2D(4, 3, strides=2, padding="same"), (None, 8, 9, 2), (None, 4, 5, 4)),
    (lambda: Conv2D(4, (2, 3), strides=(1, 2)), (None, 8, 9, 2), (None, 7, 4, 4)),
    (lambda: MaxPooling2D(), (None, 7, 9, 3), (None, 3, 4, 3)),
    (lambda: MaxPooling2D(3, strides=2, padding="same"), (None, 7, 9, 3), (None, 4, 5, 3)),
    (lambda: AveragePooling2D(2), (None, 8, 8, 3), (None, 4, 4, 3)),
    (lambda: GlobalAveragePooling2D(), (None, 5, 6, 7), (None, 7)),
    (lambda: Flatten(), (None, 2, 3, 4), (None, 24)),
    (lambda: Dense(5), (None, 3, 4), (None, 3, 5)),
    (lambda: BatchNormalization(), (None, 4, 4, 3), (None, 4, 4, 3)),
    (lambda: Dropout(0.5), (None, 10), (None, 10)),
    (lambda: Activation("tanh"), (None, 10), (None, 10)),
])
def test_output_shapes(layer, in_shape, out_shape, device):
    lay = layer()
    assert lay._build(in_shape, device) == out_shape
    assert lay.compute_output_shape(in_shape) == out_shape
    x = to_device(np.random.default_rng(0).standard_normal((2,) + in_shape[1:]).astype(np.float32), device)
    assert lay.forward(x, training=True).shape == (2,) + out_shape[1:]


def test_weight_layouts_follow_keras(device):
    conv = Conv2D(8, (3, 2))
    conv._build((None, 10, 10, 5), device)
    assert [w.shape for w in conv.weights] == [(3, 2, 5, 8), (8,)]
    dense = Dense(7, use_bias=False)
    dense._build((None, 4), device)
    assert [w.shape for w in dense.weights] == [(4, 7)]


@pytest.mark.parametrize("make, word", [
    (lambda: Dense(0), "units"), (lambda: Dense(3.5), "units"), (lambda: Dense(3, activation="swishy"), "activation"),
    (lambda: Conv2D(0, 3), "filters"), (lambda: Conv2D(4, (3, 0)), "kernel_size"),
    (lambda: Conv2D(4, 3, padding="full"), "padding"), (lambda: Conv2D(4, 3, strides="x"), "strides"),
    (lambda: MaxPooling2D(pool_size=0), "pool_size"), (lambda: Dropout(1.0), "rate"), (lambda: Dropout(-0.1), "rate"),
    (lambda: BatchNormalization(momentum=2.0), "momentum"), (lambda: BatchNormalization(epsilon=0), "epsilon"),
    (lambda: Dense(3, input_shape=(0,)), "input_shape"), (lambda: Dense(3, kernel_initializer="nope"), "initializer"),
    (lambda: Dense(3, kernel_regularizer=0.1), "kernel_regularizer"),
])
def test_invalid_arguments_name_the_argument(make, word):
    with pytest.raises(ValueError, match=word):
        make()


def test_unknown_keyword_is_a_type_error():
    with pytest.raises(TypeError):
        Dense(3, bogus=1)


def test_textbook_string_strides_are_converted_with_a_warning():
    with pytest.warns(UserWarning, match="strides"):
        conv = Conv2D(filters=16, kernel_size=2, strides="1", padding="same", activation="relu")
    assert conv.strides == (1, 1)


def test_auto_names_count_per_class():
    names = [Dense(1).name, Dense(1).name, Conv2D(1, 1).name, MaxPooling2D().name, LeakyReLU().name,
             BatchNormalization().name, GlobalAveragePooling2D().name]
    assert names == ["dense", "dense_1", "conv2d", "max_pooling2d", "leaky_re_lu", "batch_normalization",
                     "global_average_pooling2d"]


@pytest.mark.parametrize("make", [
    lambda: Dense(5, activation="leaky_relu", use_bias=False, kernel_regularizer=regularizers.l2(0.01),
                  input_shape=(3,)),
    lambda: Conv2D(3, (2, 3), strides=2, padding="same", activation="relu", kernel_initializer="he_normal"),
    lambda: MaxPooling2D((3, 3), strides=2, padding="same"),
    lambda: AveragePooling2D(), lambda: GlobalAveragePooling2D(), lambda: Flatten(),
    lambda: Dropout(0.25, seed=3), lambda: BatchNormalization(momentum=0.9, center=False),
    lambda: Activation("sigmoid"), lambda: LeakyReLU(alpha=0.2),
])
def test_get_config_round_trip(make):
    layer = make()
    config = layer.get_config()
    again = type(layer).from_config(config)
    assert again.get_config() == config
    clone = layers.deserialize(layers.serialize(layer))
    assert clone.get_config() == config


def test_activation_names_and_callables(device):
    from cudnn_lite import activations
    x = to_device(np.array([[-2.0, -0.5, 0.0, 0.5, 2.0]], dtype=np.float32), device)
    np.testing.assert_allclose(to_host(activations.step(x)), [[0, 0, 1, 1, 1]])
    np.testing.assert_allclose(to_host(activations.relu(x)), [[0, 0, 0, 0.5, 2]])
    np.testing.assert_allclose(to_host(activations.leaky_relu(x)), [[-0.02, -0.005, 0, 0.5, 2]], rtol=1e-6)
    np.testing.assert_allclose(to_host(activations.softmax(x)).sum(), 1.0, rtol=1e-6)
    layer = Dense(2, activation=activations.tanh)
    assert layer.get_config()["activation"] == "tanh"
    assert LeakyReLU().alpha == 0.3  # Keras's layer default


# --------------------------------------------------- finite differences

def _fd_check(layer, x, in_shape=None, reset=None, eps=1e-2, rtol=3e-2, atol=3e-3):
    """Compare backward (dx and every weight gradient) with central differences of
    L = sum(forward(x, training=True) * r), evaluated in float64 from float32 forwards, on the
    default device (the test's: x, the weights and r live there; the sums are taken on the host)."""
    rng = np.random.default_rng(1)
    device = backend.get_device()
    layer._build((None,) + x.shape[1:] if in_shape is None else in_shape, device)
    reset = reset or (lambda: None)
    x = to_device(x, device)

    def loss():
        reset()
        return float((to_host(layer.forward(x, training=True)).astype(np.float64) * r).sum())

    reset()
    y = layer.forward(x, training=True)
    r = rng.standard_normal(y.shape).astype(np.float32)
    dx = layer.backward(to_device(r.copy(), device))
    dx = None if dx is None else np.array(to_host(dx), dtype=np.float64)
    grads = [np.array(to_host(w.grad), dtype=np.float64) for w in layer.trainable_weights]

    def numeric(arr):
        g = np.zeros(arr.shape)
        flat = arr.reshape(-1)
        for i in range(flat.size):
            old = flat[i].copy()  # a scalar on the host; on the device flat[i] is a 0-d view
            flat[i] = old + eps
            up = loss()
            flat[i] = old - eps
            down = loss()
            flat[i] = old
            g.reshape(-1)[i] = (up - down) / (2 * eps)
        return g

    if dx is not None:
        np.testing.assert_allclose(dx, numeric(x), rtol=rtol, atol=atol, err_msg="dx")
    for w, g in zip(layer.trainable_weights, grads):
        np.testing.assert_allclose(g, numeric(w.value), rtol=rtol, atol=atol, err_msg=w.name)


def _x(shape, seed=0, distinct=False):
    rng = np.random.default_rng(seed)
    if distinct:  # values at least 0.05 apart: no max-pool ties or relu kinks within eps
        return (rng.permutation(int(np.prod(shape))).reshape(shape) * 0.05 - 1.0).astype(np.float32)
    return rng.standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("activation", ["linear", "tanh", "sigmoid", "softmax"])
def test_dense_backward(activation):
    _fd_check(Dense(3, activation=activation), _x((4, 5)))


def test_dense_relu_backward_away_from_kinks():
    layer = Dense(3, activation="relu", kernel_initializer="ones")
    _fd_check(layer, _x((2, 4), distinct=True) + 0.013)


@pytest.mark.parametrize("strides, padding, activation", [(1, "valid", "linear"), (2, "same", "tanh"),
                                                         (1, "same", "sigmoid")])
def test_conv2d_backward(strides, padding, activation):
    _fd_check(Conv2D(2, (3, 2), strides=strides, padding=padding, activation=activation), _x((2, 5, 4, 2)))


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_maxpool_backward(padding):
    _fd_check(MaxPooling2D(2, padding=padding), _x((2, 5, 5, 2), distinct=True))


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_avgpool_backward(padding):
    _fd_check(AveragePooling2D(2, strides=1, padding=padding), _x((1, 4, 3, 2)))


def test_global_avgpool_backward():
    _fd_check(GlobalAveragePooling2D(), _x((2, 3, 4, 3)))


def test_flatten_backward():
    _fd_check(Flatten(), _x((2, 3, 2, 2)))


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "softmax", "leaky_relu"])
def test_activation_backward(activation):
    x = _x((3, 4), distinct=True) + 0.013 if activation == "leaky_relu" else _x((3, 4))
    _fd_check(Activation(activation), x)


def test_batchnorm_backward_training():
    layer = BatchNormalization()
    x = _x((6, 2, 2, 3)) * 2 + 1
    _fd_check(layer, x)


def test_batchnorm_moving_statistics_and_inference(device):
    layer = BatchNormalization(momentum=0.5)
    x = _x((50, 3)) * 3 + 2
    layer._build((None, 3), device)
    layer.forward(to_device(x, device), training=True)
    np.testing.assert_allclose(to_host(layer.moving_mean.value), 0.5 * x.mean(0), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(to_host(layer.moving_variance.value), 0.5 + 0.5 * x.var(0), rtol=1e-4)
    y = to_host(layer.forward(to_device(x, device), training=False))
    mm, mv = to_host(layer.moving_mean.value), to_host(layer.moving_variance.value)
    np.testing.assert_allclose(y, (x - mm) / np.sqrt(mv + 1e-3), rtol=1e-4, atol=1e-5)


def test_dropout_backward_and_determinism(device):
    layer = Dropout(0.4, seed=7)
    x = _x((5, 8))
    x_dev = to_device(x, device)

    def reset():
        layer._offset = 0

    _fd_check(layer, x, reset=reset)
    reset()
    a = np.array(to_host(layer.forward(x_dev, training=True)))
    b = np.array(to_host(layer.forward(x_dev, training=True)))
    assert not np.array_equal(a, b)  # the counter advances: a new mask each call
    reset()
    np.testing.assert_array_equal(np.array(to_host(layer.forward(x_dev, training=True))), a)
    kept = a != 0
    np.testing.assert_allclose(a[kept], x[kept] / 0.6, rtol=1e-6)
    assert 0.3 < 1 - kept.mean() < 0.5 or x.size < 50
    np.testing.assert_array_equal(to_host(layer.forward(x_dev, training=False)), x)


def test_initializers_follow_keras_formulas():
    from cudnn_lite import initializers
    w = initializers.GlorotUniform(seed=1)((3, 3, 16, 32))
    limit = np.sqrt(6.0 / (3 * 3 * 16 + 3 * 3 * 32))
    assert w.dtype == np.float32 and np.abs(w).max() <= limit and np.abs(w).max() > 0.9 * limit
    h = initializers.HeNormal(seed=2)((400, 300))
    std = np.sqrt(2.0 / 400)
    assert np.abs(h).max() <= 2 * std / 0.87962566103423978 + 1e-6
    assert abs(h.std() - std) < 0.05 * std
    np.testing.assert_array_equal(initializers.get("zeros")((2,)), [0, 0])
    np.testing.assert_array_equal(initializers.GlorotUniform(seed=5)((4, 4)), initializers.GlorotUniform(seed=5)((4, 4)))


def test_frozen_batchnorm_uses_moving_statistics_and_passes_gradients(device):
    layer = BatchNormalization(trainable=False)
    x = _x((4, 3))
    layer._build((None, 3), device)
    layer.moving_variance.value[...] = to_device(np.array([1.0, 4.0, 9.0], np.float32), device)
    _fd_check(layer, x)
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 4
