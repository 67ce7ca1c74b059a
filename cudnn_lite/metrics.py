"""Metrics: the per-sample training metrics ``compile(metrics=[...])`` uses, and
plain-NumPy evaluation functions (accuracy, confusion matrix, precision,
recall, F1) with scikit-learn's definitions.

Training metrics: ``get(name, loss_name) -> (display_name, fn)`` where
``fn(y_true, y_pred)`` returns one value per sample, shape (batch,), computed
with the arrays' own module (NumPy, or the CUDA device's: CuPy, or
cudnn_lite.emulator in the emulated build), so the model can
average them over an epoch without leaving the device. Like Keras, 'accuracy'
(or 'acc') picks its flavour from the loss and the shapes:

- binary_crossentropy, or a single output unit: binary accuracy (threshold 0.5);
- integer targets (shape (batch,) or (batch, 1)) against several outputs:
  sparse categorical accuracy;
- otherwise (one-hot targets): categorical accuracy (argmax match).
"""
from __future__ import annotations

import numpy as np

from . import backend

__all__ = [
    "get", "categorical_accuracy", "sparse_categorical_accuracy", "binary_accuracy",
    "mean_squared_error", "mean_absolute_error", "mse", "mae",
    "accuracy_score", "confusion_matrix", "precision", "recall", "f1_score",
]


def _xp(*arrays):
    """The array module (numpy, or the CUDA device's) that owns the arrays."""
    return backend.array_module(*arrays)


def _per_sample_mean(xp, values):
    """Mean over every axis but the first: (batch, ...) -> (batch,)."""
    values = values.astype(xp.float32)
    if values.ndim <= 1:
        return values
    return values.reshape(values.shape[0], -1).mean(axis=1)


# ----------------------------------------------------------- training metrics

def categorical_accuracy(y_true, y_pred):
    """1.0 where argmax(y_pred) == argmax(y_true) (one-hot targets), per sample."""
    xp = _xp(y_true, y_pred)
    return (xp.argmax(y_true, axis=-1) == xp.argmax(y_pred, axis=-1)).astype(xp.float32)


def sparse_categorical_accuracy(y_true, y_pred):
    """1.0 where argmax(y_pred) equals the integer label y_true ((batch,) or (batch, 1))."""
    xp = _xp(y_true, y_pred)
    labels = y_true.reshape(y_true.shape[0], -1)[:, 0] if y_true.ndim > 1 else y_true
    return (xp.argmax(y_pred, axis=-1) == labels.astype(xp.int64)).astype(xp.float32)


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """Mean over outputs of (y_pred > threshold) == y_true, per sample."""
    xp = _xp(y_true, y_pred)
    y_true = y_true.reshape(y_pred.shape) if y_true.size == y_pred.size else y_true
    hits = (y_pred > threshold).astype(xp.float32) == y_true.astype(xp.float32)
    return _per_sample_mean(xp, hits)


def mean_squared_error(y_true, y_pred):
    """Mean over outputs of (y_true - y_pred)^2, per sample."""
    xp = _xp(y_true, y_pred)
    d = y_pred.astype(xp.float32) - y_true.reshape(y_pred.shape).astype(xp.float32)
    return _per_sample_mean(xp, d * d)


def mean_absolute_error(y_true, y_pred):
    """Mean over outputs of |y_true - y_pred|, per sample."""
    xp = _xp(y_true, y_pred)
    d = y_pred.astype(xp.float32) - y_true.reshape(y_pred.shape).astype(xp.float32)
    return _per_sample_mean(xp, xp.abs(d))


mse = mean_squared_error
mae = mean_absolute_error


def _loss_name(loss):
    """A loss given as a name, function or object -> its lower-case name (or '')."""
    if loss is None:
        return ""
    if isinstance(loss, str):
        return loss.lower()
    name = getattr(loss, "name", None) or getattr(loss, "__name__", None) \
        or type(loss).__name__
    name = str(name)
    # CamelCase class names (BinaryCrossentropy) -> snake_case
    snake = "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")
    return snake


def _auto_accuracy(loss_name):
    """The accuracy Keras picks for 'accuracy' with this loss; resolved on shapes per call."""
    binary_loss = loss_name in ("binary_crossentropy", "bce")
    sparse_loss = loss_name == "sparse_categorical_crossentropy"

    def accuracy(y_true, y_pred):
        n_out = y_pred.shape[-1] if y_pred.ndim > 1 else 1
        if binary_loss or n_out == 1:
            return binary_accuracy(y_true, y_pred)
        if sparse_loss or y_true.ndim == y_pred.ndim - 1 or \
                (y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1):
            return sparse_categorical_accuracy(y_true, y_pred)
        return categorical_accuracy(y_true, y_pred)

    return accuracy


_BY_NAME = {
    "categorical_accuracy": categorical_accuracy,
    "sparse_categorical_accuracy": sparse_categorical_accuracy,
    "binary_accuracy": binary_accuracy,
    "mse": mean_squared_error, "mean_squared_error": mean_squared_error,
    "mae": mean_absolute_error, "mean_absolute_error": mean_absolute_error,
}


def get(name, loss_name=None):
    """Resolve a metric for ``compile``: returns ``(display_name, fn)``.

    ``name`` is a string ('accuracy', 'acc', 'categorical_accuracy',
    'binary_accuracy', 'sparse_categorical_accuracy', 'mse', 'mae', ...)
    or a callable ``fn(y_true, y_pred) -> (batch,)``. ``loss_name`` is the
    compiled loss (name, function or object); it picks the accuracy flavour.
    """
    if callable(name) and not isinstance(name, str):
        display = getattr(name, "name", None) or getattr(name, "__name__", None) \
            or type(name).__name__
        return str(display), name
    if not isinstance(name, str):
        raise TypeError(f"metric: expected a name or a callable, got {type(name).__name__}")
    key = name.lower()
    if key in ("accuracy", "acc"):
        return name, _auto_accuracy(_loss_name(loss_name))
    if key in _BY_NAME:
        return name, _BY_NAME[key]
    raise ValueError(f"unknown metric {name!r}; known: "
                     f"{', '.join(['accuracy', 'acc', *sorted(_BY_NAME)])}")


# ------------------------------------------------- evaluation (plain NumPy)

def _labels(y, name):
    """Class labels from integer labels, (n, 1) labels, or one-hot / probability rows."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:
        return np.argmax(y, axis=1)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(f"{name}: expected labels of shape (n,), (n, 1) or one-hot (n, k), "
                         f"got shape {y.shape}")
    if y.dtype.kind == "f":
        if not np.all(y == np.round(y)):
            raise ValueError(f"{name}: expected integer class labels, got non-integer floats")
        y = y.astype(np.int64)
    elif y.dtype.kind not in "iub":
        raise ValueError(f"{name}: expected integer class labels, got dtype {y.dtype}")
    return y.astype(np.int64)


def _pair(y_true, y_pred):
    t, p = _labels(y_true, "y_true"), _labels(y_pred, "y_pred")
    if t.shape != p.shape:
        raise ValueError(f"y_true and y_pred hold {t.shape[0]} and {p.shape[0]} samples")
    return t, p


def accuracy_score(y_true, y_pred):
    """Fraction of samples whose predicted label equals the true label."""
    t, p = _pair(y_true, y_pred)
    return float(np.mean(t == p)) if t.size else 0.0


def confusion_matrix(y_true, y_pred, num_classes=None):
    """(k, k) int64 counts: row = true class, column = predicted class.

    ``k`` is ``num_classes`` or ``max(label) + 1``. Labels may also be given
    one-hot or as probability rows (argmax is taken).
    """
    t, p = _pair(y_true, y_pred)
    if t.size and min(t.min(), p.min()) < 0:
        raise ValueError("confusion_matrix: labels must be >= 0")
    k = int(num_classes) if num_classes is not None else \
        (int(max(t.max(), p.max())) + 1 if t.size else 0)
    if t.size and max(t.max(), p.max()) >= k:
        raise ValueError(f"confusion_matrix: a label is >= num_classes={k}")
    cm = np.zeros((k, k), dtype=np.int64)
    np.add.at(cm, (t, p), 1)
    return cm


def _counts(y_true, y_pred, labels):
    t, p = _pair(y_true, y_pred)
    if labels is None:
        labels = np.union1d(t, p)
    labels = np.asarray(labels, dtype=np.int64)
    tp = np.array([np.sum((t == c) & (p == c)) for c in labels], dtype=np.float64)
    fp = np.array([np.sum((t != c) & (p == c)) for c in labels], dtype=np.float64)
    fn = np.array([np.sum((t == c) & (p != c)) for c in labels], dtype=np.float64)
    return labels, tp, fp, fn


def _div(a, b):
    """a / b with 0 where b == 0 (scikit-learn's zero_division=0)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    out = np.zeros(np.broadcast(a, b).shape)
    np.divide(a, b, out=out, where=b != 0)
    return out


def _check_average(average):
    if average not in ("macro", "micro", "binary", "weighted", None):
        raise ValueError(f"average: expected 'macro', 'micro', 'weighted', 'binary' or None, "
                         f"got {average!r}")


def _score(kind, y_true, y_pred, average, labels, pos_label):
    _check_average(average)
    labels, tp, fp, fn = _counts(y_true, y_pred, labels)
    if average == "binary":
        if len(labels) > 2 or (len(labels) == 2 and pos_label not in labels):
            raise ValueError(f"average='binary' needs two classes with pos_label={pos_label}; "
                             f"found labels {labels.tolist()}: use average='macro' or 'micro'")
        sel = labels == pos_label
        tp, fp, fn = tp[sel].sum(), fp[sel].sum(), fn[sel].sum()
    elif average == "micro":
        tp, fp, fn = tp.sum(), fp.sum(), fn.sum()
    p, r = _div(tp, tp + fp), _div(tp, tp + fn)
    value = {"precision": p, "recall": r, "f1": _div(2 * p * r, p + r)}[kind]
    if average == "macro":
        return float(np.mean(value)) if value.size else 0.0
    if average == "weighted":
        support = tp + fn
        return float(np.sum(value * support) / support.sum()) if support.sum() else 0.0
    if average is None:
        return value
    return float(value)


def precision(y_true, y_pred, average="macro", labels=None, pos_label=1):
    """TP / (TP + FP). ``average``: 'macro' (mean over classes), 'micro' (global
    counts), 'weighted' (by support), 'binary' (class ``pos_label`` only) or
    None (one value per class, in sorted label order). 0 where undefined."""
    return _score("precision", y_true, y_pred, average, labels, pos_label)


def recall(y_true, y_pred, average="macro", labels=None, pos_label=1):
    """TP / (TP + FN), averaged like :func:`precision`."""
    return _score("recall", y_true, y_pred, average, labels, pos_label)


def f1_score(y_true, y_pred, average="macro", labels=None, pos_label=1):
    """2 p r / (p + r) per class, then averaged like :func:`precision` (macro
    F1 is the mean of the per-class F1 values, as in scikit-learn)."""
    return _score("f1", y_true, y_pred, average, labels, pos_label)


# Keras 2 aliases
precision_score = precision
recall_score = recall
