"""Keras 2's `keras.backend` functions, the `keras` import alias, Keras 2 module paths, and the
clear errors for what cudnn_lite deliberately does not support."""
from __future__ import annotations

import copy
import importlib.util
import pickle
import sys

import numpy as np
import pytest

import cudnn_lite
from cudnn_lite import backend, config, keras_alias, optimizers, regularizers
from cudnn_lite.layers import Dense
from cudnn_lite.models import Sequential
from cudnn_lite.unsupported import UnsupportedFeatureError


@pytest.fixture
def no_keras(monkeypatch):
    """No `keras` module imported for one test: real Keras, if another test imported it, is set
    aside and comes back afterwards (the alias refuses to shadow an imported Keras)."""
    for name in [n for n in sys.modules if n == "keras" or n.startswith("keras.")]:
        monkeypatch.delitem(sys.modules, name)


@pytest.fixture
def alias(no_keras):
    """`keras` aliased to cudnn_lite for one test."""
    with keras_alias.aliased():
        yield


# -------------------------------------------------------------- settings

def test_settings_have_keras_values():
    assert backend.image_data_format() == "channels_last"
    assert backend.image_dim_ordering() == "tf"
    assert backend.epsilon() == 1e-7
    assert backend.floatx() == "float32"
    assert backend.backend() == "cudnn_lite"
    assert backend.learning_phase() == 0
    assert backend.epsilon is config.epsilon


def test_setters_accept_the_values_the_kernels_implement():
    backend.set_image_data_format("channels_last")
    backend.set_image_dim_ordering("tf")
    backend.set_epsilon(1e-7)
    backend.set_floatx("float32")
    backend.set_learning_phase(0)
    assert backend.image_data_format() == "channels_last" and backend.floatx() == "float32"


@pytest.mark.parametrize("call, words", [
    (lambda: backend.set_image_data_format("channels_first"), ["channels_first", "channels-last"]),
    (lambda: backend.set_image_dim_ordering("th"), ["channels_first"]),
    (lambda: backend.set_floatx("float16"), ["float16", "float32"]),
    (lambda: backend.set_floatx("float64"), ["float64"]),
    (lambda: backend.set_epsilon(1e-8), ["1e-08", "fixed"]),
    (lambda: backend.set_learning_phase(1), ["set_learning_phase(1)", "dropout"]),
])
def test_unsupported_settings_name_the_feature(call, words):
    with pytest.raises(NotImplementedError) as e:
        call()
    for w in words:
        assert w in str(e.value)
    assert backend.image_data_format() == "channels_last" and backend.epsilon() == 1e-7  # unchanged


@pytest.mark.parametrize("call, name", [
    (lambda: backend.set_image_data_format("nchw"), "data_format"),
    (lambda: backend.set_floatx("int8"), "floatx"),
    (lambda: backend.set_epsilon("small"), "epsilon"),
    (lambda: backend.set_learning_phase(2), "value"),
    (lambda: backend.set_learning_phase(True), "value"),
    (lambda: backend.set_image_dim_ordering("xy"), "dim_ordering"),
])
def test_bad_settings_are_value_errors_naming_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_clear_session_restarts_names_and_keeps_models_usable():
    backend.clear_session()
    m = Sequential([Dense(2, input_dim=3)])
    assert m.layers[0].name == "dense"
    backend.clear_session()
    assert Sequential([Dense(2, input_dim=3)]).layers[0].name == "dense"
    assert m.predict(np.ones((1, 3), np.float32)).shape == (1, 2)


# ---------------------------------------------------------------- values

def test_get_and_set_value_on_the_optimizer_learning_rate():
    opt = optimizers.RMSprop(lr=0.01)
    assert backend.get_value(opt.lr) == pytest.approx(0.01)
    assert type(backend.get_value(opt.lr)) is float
    backend.set_value(opt.lr, 0.002)
    assert opt.learning_rate == pytest.approx(0.002)
    backend.set_value(opt.learning_rate, np.float32(0.5))
    assert backend.eval(opt.lr) == pytest.approx(0.5)
    assert opt.current_learning_rate() == pytest.approx(0.5)
    backend.batch_set_value([(opt.lr, 0.25)])
    assert backend.batch_get_value([opt.lr]) == [pytest.approx(0.25)]


def test_learning_rate_reads_as_a_plain_float():
    opt = optimizers.Adam(learning_rate=0.001)
    lr = opt.learning_rate
    assert lr == 0.001 and lr * 2 == 0.002 and f"{lr:.3f}" == "0.001"
    assert type(pickle.loads(pickle.dumps(lr))) is float
    assert type(copy.deepcopy(lr)) is float
    assert opt.get_config()["learning_rate"] == 0.001 and type(opt.get_config()["learning_rate"]) is float


def test_set_value_on_a_layer_weight_and_plain_values():
    model = Sequential([Dense(2, input_dim=3)])
    model.predict(np.zeros((1, 3), np.float32))  # builds the weights
    kernel = model.trainable_weights[0]
    backend.set_value(kernel, np.full((3, 2), 0.5, np.float32))
    np.testing.assert_array_equal(backend.get_value(kernel), np.full((3, 2), 0.5, np.float32))
    assert backend.int_shape(kernel) == (3, 2) and backend.count_params(kernel) == 6
    with pytest.raises(ValueError, match="shape"):
        backend.set_value(kernel, np.zeros((2, 3), np.float32))
    with pytest.raises(TypeError, match="learning_rate"):
        backend.set_value(0.1, 0.2)
    with pytest.raises(TypeError, match="get_value"):
        backend.get_value("lr")
    assert backend.get_value(3) == 3
    np.testing.assert_array_equal(backend.get_value(np.arange(3)), np.arange(3))
    assert backend.int_shape(np.zeros((4, 5))) == (4, 5)
    assert backend.cast_to_floatx([1, 2]).dtype == np.float32


@pytest.mark.parametrize("name", ["function", "placeholder", "variable", "gradients", "get_session", "tf"])
def test_graph_functions_raise_naming_the_feature(name):
    with pytest.raises(UnsupportedFeatureError, match=f"keras.backend.{name} is not supported"):
        getattr(backend, name)


def test_names_keras_never_had_are_plain_attribute_errors():
    assert not hasattr(backend, "no_such_function")
    assert not hasattr(cudnn_lite.layers, "NoSuchLayer")
    assert not hasattr(optimizers, "no_such_optimizer")


# ----------------------------------------------------------------- alias

def test_alias_gives_the_cudnn_lite_modules(alias):
    import keras
    import keras.backend as K
    from keras.layers import Dense as KDense
    from keras.layers.convolutional import Conv2D, MaxPooling2D
    from keras.layers.core import Activation, Dropout, Flatten  # noqa: F401
    from keras.layers.normalization import BatchNormalization  # noqa: F401
    from keras.layers.advanced_activations import LeakyReLU
    from keras.preprocessing.image import ImageDataGenerator
    from keras.utils import np_utils, to_categorical
    from keras.utils.np_utils import to_categorical as np_to_categorical
    from keras.utils.data_utils import Sequence
    from keras.datasets import cifar10, mnist
    from keras.callbacks import EarlyStopping, LearningRateScheduler, ReduceLROnPlateau  # noqa: F401
    assert keras is cudnn_lite and K is cudnn_lite.backend
    assert KDense is cudnn_lite.layers.Dense and keras.Sequential is Sequential
    assert Conv2D is cudnn_lite.layers.Conv2D and MaxPooling2D is cudnn_lite.layers.MaxPooling2D
    assert LeakyReLU is cudnn_lite.layers.LeakyReLU
    assert ImageDataGenerator is cudnn_lite.preprocessing.ImageDataGenerator
    assert to_categorical is np_to_categorical is np_utils.to_categorical is keras.utils.to_categorical
    assert Sequence is cudnn_lite.utils.Sequence
    assert mnist is cudnn_lite.datasets.mnist and cifar10 is cudnn_lite.datasets.cifar10
    assert sys.modules["keras.layers.core"] is cudnn_lite.layers.core


def test_alias_leaves_the_modules_their_own_specs(alias):
    import keras.layers  # noqa: F401
    assert cudnn_lite.layers.__spec__.name == "cudnn_lite.layers"
    assert cudnn_lite.layers.__name__ == "cudnn_lite.layers"


def test_alias_uninstalls_cleanly(no_keras):
    with keras_alias.aliased():
        import keras
        assert keras is cudnn_lite and keras_alias.installed()
    assert not keras_alias.installed()
    assert not any(n == "keras" or n.startswith("keras.") for n in sys.modules)
    assert not any(isinstance(f, keras_alias.KerasAliasFinder) for f in sys.meta_path)
    spec = importlib.util.find_spec("keras")  # real Keras where installed, else nothing
    assert spec is None or not isinstance(spec.loader, keras_alias._AliasLoader)


def test_alias_refuses_when_keras_is_already_imported(no_keras, monkeypatch):
    monkeypatch.setitem(sys.modules, "keras", object())
    with pytest.raises(RuntimeError, match="already imported"):
        keras_alias.install()
    assert not keras_alias.installed()


def test_alias_other_name_and_bad_name():
    with keras_alias.aliased("tf_keras_alias_test"):
        import tf_keras_alias_test.layers as L
        assert L is cudnn_lite.layers
    with pytest.raises(ValueError, match="alias"):
        keras_alias.install("not a name")


def test_alias_main_runs_a_script(no_keras, tmp_path, capsys):
    script = tmp_path / "s.py"
    script.write_text("import keras\nfrom keras import backend as K\nprint('fmt', K.image_data_format())\n")
    try:
        keras_alias.main([str(script)])
    finally:
        keras_alias.uninstall()
    assert "fmt channels_last" in capsys.readouterr().out


@pytest.mark.parametrize("statement, words", [
    ("from keras.layers import LSTM", ["keras.layers.LSTM", "no kernels"]),
    ("from keras.layers import Input", ["keras.layers.Input", "functional API"]),
    ("from keras.layers import Lambda", ["keras.layers.Lambda", "arbitrary Python"]),
    ("from keras.models import Model", ["keras.models.Model", "Sequential"]),
    ("import keras; keras.Model", ["keras.Model", "functional API"]),
    ("from keras.optimizers import Adamax", ["keras.optimizers.Adamax", "no update kernel"]),
    ("from keras.callbacks import TensorBoard", ["keras.callbacks.TensorBoard"]),
    ("from keras.datasets import fashion_mnist", ["keras.datasets.fashion_mnist"]),
    ("from keras.preprocessing.text import Tokenizer", ["keras.preprocessing.text", "Tokenizer"]),
    ("from keras.preprocessing.image import load_img", ["keras.preprocessing.image.load_img", "Pillow"]),
    ("from keras.utils import multi_gpu_model", ["keras.utils.multi_gpu_model"]),
    ("from keras.regularizers import l1_l2", ["keras.regularizers.l1_l2", "L2 penalties only"]),
    ("from keras.losses import hinge", ["keras.losses.hinge"]),
    ("from keras.backend import tensorflow_backend", ["keras.backend.tensorflow_backend"]),
    ("import keras.backend as K; K.function([], [])", ["keras.backend.function"]),
    ("from keras.preprocessing.image import ImageDataGenerator; ImageDataGenerator().flow_from_directory('d')",
     ["flow_from_directory", "flow(x, y)"]),
])
def test_unsupported_keras_features_raise_naming_them(alias, statement, words):
    with pytest.raises(UnsupportedFeatureError) as e:
        exec(statement, {})
    for w in words:
        assert w in str(e.value)


def test_a_keras_module_that_does_not_exist_names_it(alias):
    with pytest.raises(ModuleNotFoundError, match="keras.no_such_module"):
        import keras.no_such_module  # noqa: F401
    with pytest.raises(UnsupportedFeatureError, match="keras.engine"):
        import keras.engine.topology  # noqa: F401
    with pytest.raises(UnsupportedFeatureError, match="keras.layers.recurrent"):
        from keras.layers.recurrent import LSTM  # noqa: F401


# --------------------------------------------------------- array functions

def test_backend_array_functions_follow_keras():
    x = np.array([[0.2, -1.5, 2.5], [0.5, 3.0, -0.5]], np.float32)
    K = backend
    assert K.sum(x) == pytest.approx(x.sum())
    np.testing.assert_array_equal(K.sum(x, axis=1, keepdims=True), x.sum(axis=1, keepdims=True))
    np.testing.assert_array_equal(K.argmax(x), [2, 1])                 # the last axis by default
    np.testing.assert_array_equal(K.round(np.array([0.5, 1.5, 2.5, -0.5])), [0, 2, 2, -0])  # half to even
    np.testing.assert_array_equal(K.clip(x, 0, 1), np.clip(x, 0, 1))
    np.testing.assert_array_equal(K.clip(x, 1, 0), np.ones_like(x))   # max below min -> min
    np.testing.assert_array_equal(K.clip(x, None, 0), np.minimum(x, 0))
    assert K.mean(np.array([True, False, True, True])) == pytest.approx(0.75)
    assert K.mean(np.array([True, False])).dtype == np.float32
    np.testing.assert_array_equal(K.sqrt(np.array([4.0, -1.0])), [2.0, 0.0])  # negatives clipped to 0
    assert K.cast(K.equal(K.argmax(x), np.array([2, 0])), "float32").tolist() == [1.0, 0.0]
    assert K.batch_flatten(np.zeros((2, 3, 4))).shape == (2, 12) and K.flatten(x).shape == (6,)
    assert K.expand_dims(x).shape == (2, 3, 1) and K.squeeze(K.expand_dims(x), -1).shape == (2, 3)
    np.testing.assert_allclose(K.sigmoid(np.array([0.0])), [0.5])
    np.testing.assert_array_equal(K.relu(x, max_value=1.0), np.minimum(np.maximum(x, 0), 1.0))
    assert K.pow(np.array([3.0]), 2)[0] == 9.0 and K.std(x) == pytest.approx(x.std())
    assert K.any(np.array([0, 0, 1])) and not K.all(np.array([0, 1]))


def test_backend_array_functions_accept_lists_and_numbers():
    assert backend.sum([1, 2, 3]) == 6
    assert backend.max([[1, 5], [3, 2]], axis=0).tolist() == [3, 5]


def test_keras2_l2_spelling():
    assert regularizers.l2(l=1e-4).l2 == 1e-4 and regularizers.l2(1e-3).l2 == 1e-3
