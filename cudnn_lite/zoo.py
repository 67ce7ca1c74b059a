"""The textbook's networks by name, each with its training recipe.

    from cudnn_lite import zoo
    zoo.names()                           # ['perceptron', 'xor_mlp', ..., 'cifar10_improved']
    model = zoo.build('mnist-cnn')        # compiled Sequential ('-' or '_')
    zoo.RECIPES['mnist_cnn']              # optimizer, loss, batch size, epochs, data, ...
    result = zoo.train('mnist-cnn', epochs=2)   # what `cudnn-lite train` runs

Data and preprocessing per recipe:

- perceptron, xor_mlp: the four XOR points (train = validation = test).
- blobs_mlp: ``make_blobs(1000, centers=3, n_features=2, cluster_std=2,
  random_state=2)``, first 800 train, last 200 test (also the validation
  data, as in the book).
- mnist_*: pixels / 255; the last 10% of the training set (6,000 images,
  Keras's ``validation_split=0.1``) is the validation set that picks the
  best checkpoint; the 10,000 test images are only used for the final
  evaluation.
- cifar10_cnn: pixels / 255; cifar10_improved: (x - mean) / (std + 1e-7)
  with the mean and std of all training pixels, plus the book's
  augmentation. Both: the first 5,000 training images are the validation
  set, the other 45,000 the training set (the book's split).
"""
from __future__ import annotations

import dataclasses
import json
import os
import time
from typing import Callable, Optional

import numpy as np

from . import backend, distribute, metrics, regularizers
from .callbacks import Callback, ModelCheckpoint, TerminateOnNaN
from .datasets import cifar10, make_blobs, mnist
from .layers import Activation, BatchNormalization, Conv2D, Dense, Dropout, Flatten, MaxPooling2D
from .models import Sequential
from .optimizers import SGD, Adam
from .plotting import plot_history
from .preprocessing.image import ImageDataGenerator
from .files import atomic_write
from .utils import to_categorical

__all__ = ["Recipe", "RECIPES", "names", "canonical", "build", "recipe", "load_dataset", "train",
           "evaluate"]


@dataclasses.dataclass(frozen=True)
class Recipe:
    """How the textbook trains a network."""
    description: str
    optimizer: Callable[[], object]   # a fresh optimizer (or its name)
    optimizer_text: str               # the same, as the book writes it
    loss: str
    batch_size: int
    epochs: int
    dataset: str                      # 'xor', 'blobs', 'mnist', 'cifar10'
    preprocessing: str                # '/255', 'standardize', 'none'
    validation: str                   # how the validation split is made
    flat_input: bool = False          # MNIST as (28, 28) instead of (28, 28, 1)
    augmentation: Optional[dict] = None  # ImageDataGenerator arguments, or None
    metrics: tuple = ("accuracy",)
    params: Optional[int] = None      # total parameters, as the book reports


# --------------------------------------------------------------- builders

def _perceptron():
    model = Sequential(name="perceptron")
    model.add(Dense(1, activation="step", input_dim=2))
    return model


def _xor_mlp():
    model = Sequential(name="xor_mlp")
    model.add(Dense(8, activation="tanh", input_dim=2))
    model.add(Dense(1, activation="sigmoid"))
    return model


def _blobs_mlp():
    model = Sequential(name="blobs_mlp")
    model.add(Dense(25, input_dim=2, activation="relu"))
    model.add(Dense(3, activation="softmax"))
    return model


def _mnist_mlp():
    model = Sequential(name="mnist_mlp")
    model.add(Flatten(input_shape=(28, 28)))
    model.add(Dense(512, activation="relu"))
    model.add(Dense(512, activation="relu"))
    model.add(Dense(10, activation="softmax"))
    return model


def _mnist_cnn(dropout=False):
    model = Sequential(name="mnist_cnn_dropout" if dropout else "mnist_cnn")
    model.add(Conv2D(32, kernel_size=(3, 3), strides=1, padding="same", activation="relu",
                     input_shape=(28, 28, 1)))
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


def _cifar10_cnn():
    model = Sequential(name="cifar10_cnn")
    model.add(Conv2D(filters=16, kernel_size=2, padding="same", activation="relu",
                     input_shape=(32, 32, 3)))
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
    return model


def _cifar10_improved():
    base_hidden_units, weight_decay = 32, 1e-4
    model = Sequential(name="cifar10_improved")
    for block, (mult, drop) in enumerate(((1, 0.2), (2, 0.3), (4, 0.4))):
        for conv in range(2):
            extra = {"input_shape": (32, 32, 3)} if block == 0 and conv == 0 else {}
            model.add(Conv2D(base_hidden_units * mult, kernel_size=3, padding="same",
                             kernel_regularizer=regularizers.l2(weight_decay), **extra))
            model.add(Activation("relu"))
            model.add(BatchNormalization())
        model.add(MaxPooling2D(pool_size=(2, 2)))
        model.add(Dropout(drop))
    model.add(Flatten())
    model.add(Dense(10, activation="softmax"))
    return model


def _sgd(lr):
    def make():
        return SGD(learning_rate=lr)
    return make


def _adam(**kw):
    def make():
        return Adam(**kw)
    return make


def _named(name):
    return lambda: name


_MNIST_VALID = "last 10% of the 60,000 training images (Keras validation_split=0.1)"
_CIFAR_VALID = "first 5,000 training images (book: 45,000 train / 5,000 validation)"
_CIFAR_AUG = dict(rotation_range=15, width_shift_range=0.1, height_shift_range=0.1,
                  horizontal_flip=True, vertical_flip=False)

RECIPES = {
    "perceptron": Recipe("single perceptron, step activation (cannot learn XOR)",
                         _sgd(0.1), "SGD(learning_rate=0.1)", "mse", 4, 100, "xor", "none",
                         "the four XOR points", params=3),
    "xor_mlp": Recipe("2-8-1 MLP (tanh, sigmoid) that learns XOR",
                      _adam(learning_rate=0.05), "Adam(learning_rate=0.05)",
                      "binary_crossentropy", 4, 300, "xor", "none", "the four XOR points",
                      params=33),
    "blobs_mlp": Recipe("make_blobs MLP: Dense(25, relu) -> Dense(3, softmax)", _named("adam"),
                        "'adam'", "categorical_crossentropy", 32, 1000, "blobs", "none",
                        "the 200 test points (validation_data=(test_X, test_y), as the book)",
                        params=153),
    "mnist_mlp": Recipe("MNIST MLP: Flatten -> 512 relu -> 512 relu -> 10 softmax",
                        _named("adam"), "'adam'", "categorical_crossentropy", 128, 10, "mnist",
                        "/255", _MNIST_VALID, flat_input=True, params=669_706),
    "mnist_cnn": Recipe("MNIST CNN: conv32-pool-conv64-pool-dense64-dense10", _named("adam"),
                        "'adam'", "categorical_crossentropy", 128, 10, "mnist", "/255",
                        _MNIST_VALID, params=220_234),
    "mnist_cnn_dropout": Recipe("MNIST CNN with Dropout(0.3) and Dropout(0.5)", _named("adam"),
                                "'adam'", "categorical_crossentropy", 128, 10, "mnist", "/255",
                                _MNIST_VALID, params=220_234),
    "cifar10_cnn": Recipe("CIFAR-10 CNN (simplified AlexNet), book: test accuracy 0.68",
                          _named("rmsprop"), "'rmsprop'", "categorical_crossentropy", 32, 100,
                          "cifar10", "/255", _CIFAR_VALID, params=528_054),
    "cifar10_improved": Recipe("CIFAR-10: 6 conv + BN + L2 1e-4 + dropout + augmentation, "
                               "book: 90.26%", _adam(learning_rate=1e-4, decay=1e-6),
                               "Adam(lr=0.0001, decay=1e-6)", "categorical_crossentropy", 128,
                               125, "cifar10", "standardize", _CIFAR_VALID,
                               augmentation=_CIFAR_AUG, params=309_290),
}

_BUILDERS = {
    "perceptron": _perceptron, "xor_mlp": _xor_mlp, "blobs_mlp": _blobs_mlp,
    "mnist_mlp": _mnist_mlp, "mnist_cnn": _mnist_cnn,
    "mnist_cnn_dropout": lambda: _mnist_cnn(dropout=True),
    "cifar10_cnn": _cifar10_cnn, "cifar10_improved": _cifar10_improved,
}


def names():
    """The zoo's model names, in the book's order."""
    return list(RECIPES)


def canonical(name):
    """'mnist-cnn' / 'MNIST_CNN' -> 'mnist_cnn'; a clear error for unknown names."""
    if not isinstance(name, str):
        raise TypeError(f"model name: expected a string, got {type(name).__name__}")
    key = name.strip().lower().replace("-", "_")
    if key not in RECIPES:
        raise ValueError(f"unknown model {name!r}; the zoo has: {', '.join(names())}")
    return key


def recipe(name):
    """The :class:`Recipe` of a zoo model."""
    return RECIPES[canonical(name)]


def build(name, seed=None, compile=True):
    """Build (and compile with the book's optimizer and loss) the zoo model ``name``.

    ``seed`` seeds cudnn_lite's generators first (same seed: same initial weights).
    """
    key = canonical(name)
    if seed is not None:
        backend.set_random_seed(seed)
    model = _BUILDERS[key]()
    if compile:
        r = RECIPES[key]
        model.compile(optimizer=r.optimizer(), loss=r.loss, metrics=list(r.metrics))
    return model


# ------------------------------------------------------------------- data

def _xor():
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    y = np.array([[0], [1], [1], [0]], dtype=np.float32)
    return (x, y), (x, y), (x, y)


def _blobs():
    X, y = make_blobs(n_samples=1000, centers=3, n_features=2, cluster_std=2, random_state=2)
    X, y = X.astype(np.float32), to_categorical(y)
    train, test = (X[:800], y[:800]), (X[800:], y[800:])
    return train, test, test


def _mnist(r, data_dir):
    (x, y), (xt, yt) = mnist.load_data(_sub(data_dir, "mnist"))
    x = x.astype(np.float32) / 255
    xt = xt.astype(np.float32) / 255
    if not r.flat_input:
        x, xt = x[..., None], xt[..., None]
    y, yt = to_categorical(y, 10), to_categorical(yt, 10)
    n_val = len(x) // 10
    return (x[:-n_val], y[:-n_val]), (x[-n_val:], y[-n_val:]), (xt, yt)


def _cifar10(r, data_dir):
    (x, y), (xt, yt) = cifar10.load_data(_sub(data_dir, "cifar10"))
    x, xt = x.astype(np.float32), xt.astype(np.float32)
    (x, xv), (y, yv) = (x[5000:], x[:5000]), (y[5000:], y[:5000])
    if r.preprocessing == "standardize":
        mean, std = np.mean(x), np.std(x)
        x, xv, xt = ((a - mean) / (std + 1e-7) for a in (x, xv, xt))
    else:
        x, xv, xt = x / 255, xv / 255, xt / 255
    return ((x, to_categorical(y, 10)), (xv, to_categorical(yv, 10)),
            (xt, to_categorical(yt, 10)))


def _sub(data_dir, name):
    """``data_dir`` may be the data-set folder itself or a folder holding '<name>/'."""
    if data_dir is None:
        return None
    sub = os.path.join(os.fspath(data_dir), name)
    return sub if os.path.isdir(sub) else os.fspath(data_dir)


def load_dataset(name, data_dir=None):
    """``(train, validation, test)`` pairs (x, y) for a zoo model, preprocessed per its recipe."""
    r = recipe(name)
    if r.dataset == "xor":
        return _xor()
    if r.dataset == "blobs":
        return _blobs()
    if r.dataset == "mnist":
        return _mnist(r, data_dir)
    return _cifar10(r, data_dir)


# ------------------------------------------------------------------ train

def _atomic_json(obj, path):
    text = json.dumps(obj, indent=2)

    def write(tmp):
        with open(tmp, "w") as f:
            f.write(text)

    atomic_write(path, write)  # permissions 0o666 & ~umask, like the model files


def _epoch_timer():

    class EpochTimer(Callback):
        def __init__(self):
            super().__init__()
            self.seconds = []

        def on_epoch_begin(self, epoch, logs=None):
            self._t = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self._t)

    return EpochTimer()


def train(name, epochs=None, batch_size=None, device=None, data_dir=None, out_dir="runs",
          verbose=2, seed=0, distributed=False):
    """Train a zoo model with its textbook recipe; returns a result dict.

    Loads the data (``data_dir`` or the datasets search order), builds the
    model, fits it with a best-only ModelCheckpoint on ``val_loss`` in
    ``out_dir``, reloads the best weights, evaluates on the test split and
    prints ``test accuracy: ...`` and ``test loss: ...``. Writes
    ``<name>.history.json`` and, with matplotlib, ``<name>.learning_curve.png``.

    ``distributed``: data-parallel over the ranks of ``mpirun`` (a
    :class:`cudnn_lite.distribute.DataParallel`; ``batch_size`` is the global batch). Every
    rank trains and evaluates its shard; rank 0 alone prints and writes the files.
    """
    key = canonical(name)
    r = RECIPES[key]
    epochs = r.epochs if epochs is None else int(epochs)
    batch_size = r.batch_size if batch_size is None else int(batch_size)
    if epochs < 1 or batch_size < 1:
        raise ValueError(f"epochs and batch_size must be positive, got {epochs} and {batch_size}")
    if device is not None:
        backend.set_device(device)
    if seed is not None:
        backend.set_random_seed(int(seed))
    strategy = distribute.DataParallel() if distributed else None
    chief = strategy is None or strategy.is_chief
    verbose = verbose if chief else 0
    (x, y), (xv, yv), (xt, yt) = load_dataset(key, data_dir)
    model = build(key)
    if chief:
        os.makedirs(out_dir, exist_ok=True)
    ckpt_path = os.path.join(out_dir, f"{key}.best.weights.npz")
    checkpoint = ModelCheckpoint(ckpt_path, monitor="val_loss", verbose=1 if verbose else 0,
                                 save_best_only=True, save_weights_only=True)
    timer = _epoch_timer()
    guard = TerminateOnNaN()
    if verbose:
        print(f"{key}: {r.description}")
        print(f"train {len(x)}, validation {len(xv)} ({r.validation}), test {len(xt)}; "
              f"optimizer {r.optimizer_text}, loss {r.loss}, batch {batch_size}, "
              f"epochs {epochs}, device {model.device}"
              + (f", {strategy.size} ranks ({strategy.engine})" if strategy is not None else ""))
    start = time.perf_counter()
    if r.augmentation:
        datagen = ImageDataGenerator(**r.augmentation)
        xf, yf = x, y
        if model.device == "cuda":
            # the training set lives on the GPU: batches are gathered, augmented and
            # standardised there (ops.affine_transform), never crossing the host
            xf, yf = backend.to_device(x, "cuda"), backend.to_device(y, "cuda")
        datagen.fit(xf)
        flow = datagen.flow(xf, yf, batch_size=batch_size, seed=seed)
        history = model.fit(flow, steps_per_epoch=max(1, len(x) // batch_size), epochs=epochs,
                            verbose=verbose, validation_data=(xv, yv),
                            callbacks=[checkpoint, timer, guard], distribute=strategy)
    else:
        history = model.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=verbose,
                            validation_data=(xv, yv), callbacks=[checkpoint, timer, guard],
                            shuffle=True, distribute=strategy)
    train_seconds = time.perf_counter() - start
    if checkpoint.last_saved is not None and os.path.exists(checkpoint.last_saved):
        model.load_weights(checkpoint.last_saved)
    if strategy is not None:  # rank 0 alone wrote (and reloaded) the best checkpoint: its weights
        for w in model.weights:
            strategy.comm.bcast(w.value, "broadcast of the best checkpoint's weights")
    score = model.evaluate(xt, yt, batch_size=max(batch_size, 128), verbose=0, distribute=strategy)
    score = [float(s) for s in np.ravel(score)]
    test_loss = score[0]
    test_acc = score[1] if len(score) > 1 else float("nan")
    if chief:
        print(f"test loss: {test_loss:.4f}")
        print(f"test accuracy: {test_acc:.4f}")
    hist = {k: [float(v) for v in vals] for k, vals in history.history.items()}
    history_path = os.path.join(out_dir, f"{key}.history.json")
    result = {
        "model": key, "epochs": len(timer.seconds), "batch_size": batch_size,
        "device": model.device, "seed": seed, "test_loss": test_loss,
        "test_accuracy": test_acc, "train_seconds": train_seconds,
        "epoch_seconds": timer.seconds, "checkpoint": checkpoint.last_saved,
        "history": hist, "history_path": history_path, "plot_path": None,
        "stopped_on_nan": guard.terminated_at is not None,
        "ranks": 1 if strategy is None else strategy.size, "rank": 0 if strategy is None else strategy.rank,
    }
    if not chief:
        result["checkpoint"] = result["history_path"] = None
        return result
    plot_path = os.path.join(out_dir, f"{key}.learning_curve.png")
    try:
        plot_history(hist, plot_path, title=key)
        result["plot_path"] = plot_path
        if verbose:
            print(f"learning curve: {plot_path}")
    except ImportError:
        print("note: matplotlib is not installed, so no learning-curve PNG was written "
              "(pip install 'cudnn_lite[plot]'); the history is in " + history_path)
    _atomic_json(result, history_path)
    if verbose:
        print(f"history: {history_path}; best checkpoint: {checkpoint.last_saved}")
    return result


# --------------------------------------------------------------- evaluate

def evaluate(name, weights, data_dir=None, batch_size=None, device=None):
    """Evaluate trained weights of the zoo model ``name`` on its test split; returns a dict.

    ``weights`` is any file ``model.load_weights`` reads: the ``.best.weights.npz`` that
    ``train`` (and ``benchmarks/reproduce.py``) keep, a whole ``.npz``/``.keras``/``.h5`` model
    file, or Keras weights. The data is loaded and preprocessed exactly as for training (for
    cifar10_improved: standardised with the training split's mean and std). A file that does
    not fit the model's layers raises ``ValueError`` naming the file and the layer.

    The dict holds ``test_loss``, ``test_accuracy`` and, for the classifiers with more than
    one class, ``confusion_matrix`` (rows: true class) and macro ``precision``/``recall``/``f1``.
    """
    key = canonical(name)
    r = RECIPES[key]
    path = os.fspath(weights)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"weights: no such file: {path}")
    batch_size = max(r.batch_size, 128) if batch_size is None else int(batch_size)
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    if device is not None:
        backend.set_device(device)
    model = build(key)
    model.load_weights(path)
    _, _, (xt, yt) = load_dataset(key, data_dir)
    score = [float(s) for s in np.ravel(model.evaluate(xt, yt, batch_size=batch_size, verbose=0))]
    result = {"model": key, "weights": path, "device": model.device, "test_samples": int(len(xt)),
              "test_loss": score[0], "test_accuracy": score[1] if len(score) > 1 else float("nan")}
    if yt.ndim == 2 and yt.shape[1] > 1:
        probs = backend.to_numpy(model.predict(xt, batch_size=batch_size, verbose=0))
        k = yt.shape[1]
        result["confusion_matrix"] = metrics.confusion_matrix(yt, probs, num_classes=k).tolist()
        for kind in ("precision", "recall", "f1"):
            fn = metrics.f1_score if kind == "f1" else getattr(metrics, kind)
            result[kind] = fn(yt, probs, average="macro", labels=list(range(k)))
    return result
