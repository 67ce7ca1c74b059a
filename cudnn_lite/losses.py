"""Losses with Keras's names: functions ``fn(y_true, y_pred) -> per-sample losses``
and classes (``CategoricalCrossentropy()``); :func:`get` gives the kernel name.

The per-sample values come from :func:`cudnn_lite.ops.loss_forward`
(cross-entropies on probabilities clipped to [1e-7, 1 - 1e-7], like Keras); the
batch loss is their mean. Only these four losses are supported because the
training step needs the kernels' gradients.
"""
from __future__ import annotations

import numpy as np

from . import backend, ops, unsupported

__all__ = ["Loss", "CategoricalCrossentropy", "BinaryCrossentropy", "MeanSquaredError",
           "MeanAbsoluteError", "categorical_crossentropy", "binary_crossentropy",
           "mean_squared_error", "mean_absolute_error", "mse", "mae", "get", "serialize"]

# every accepted spelling -> the kernel's name (cudnn_lite.ops.LOSSES)
_ALIASES = {
    "categorical_crossentropy": "categorical_crossentropy",
    "binary_crossentropy": "binary_crossentropy",
    "mean_squared_error": "mse", "mse": "mse",
    "mean_absolute_error": "mae", "mae": "mae",
}


def _as_2d(y_true, y_pred):
    xp = backend.array_module(y_pred)
    p = xp.ascontiguousarray(xp.asarray(y_pred, dtype=np.float32))
    t = xp.ascontiguousarray(xp.asarray(y_true, dtype=np.float32))
    if p.ndim == 1:
        p = p.reshape(-1, 1)
    if t.ndim == 1 and p.shape[-1] == 1:
        t = t.reshape(-1, 1)
    p = p.reshape(p.shape[0], -1)
    t = t.reshape(t.shape[0], -1)
    if p.shape != t.shape:
        raise ValueError(f"y_true shape {tuple(t.shape)} does not match y_pred shape {tuple(p.shape)}")
    return t, p


def _per_sample(kind):
    def fn(y_true, y_pred):
        t, p = _as_2d(y_true, y_pred)
        return ops.loss_forward(p, t, kind)
    return fn


categorical_crossentropy = _per_sample("categorical_crossentropy")
categorical_crossentropy.__name__ = "categorical_crossentropy"
binary_crossentropy = _per_sample("binary_crossentropy")
binary_crossentropy.__name__ = "binary_crossentropy"
mean_squared_error = mse = _per_sample("mse")
mean_squared_error.__name__ = "mean_squared_error"
mean_absolute_error = mae = _per_sample("mae")
mean_absolute_error.__name__ = "mean_absolute_error"


class Loss:
    """A loss object: ``loss(y_true, y_pred)`` is the mean over the batch."""

    kind = ""
    default_name = ""

    def __init__(self, name=None, reduction="sum_over_batch_size"):
        if reduction not in ("sum_over_batch_size", "auto"):
            raise ValueError(f"reduction: only 'sum_over_batch_size' is supported, got {reduction!r}")
        self.name = name or self.default_name
        self.reduction = reduction

    def __call__(self, y_true, y_pred):
        per = _per_sample(self.kind)(y_true, y_pred)
        return per.mean()

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}


class CategoricalCrossentropy(Loss):
    kind, default_name = "categorical_crossentropy", "categorical_crossentropy"

    def __init__(self, from_logits=False, **kwargs):
        if from_logits:
            raise ValueError("from_logits=True is not supported: end the model with a softmax layer")
        super().__init__(**kwargs)


class BinaryCrossentropy(Loss):
    kind, default_name = "binary_crossentropy", "binary_crossentropy"

    def __init__(self, from_logits=False, **kwargs):
        if from_logits:
            raise ValueError("from_logits=True is not supported: end the model with a sigmoid layer")
        super().__init__(**kwargs)


class MeanSquaredError(Loss):
    kind, default_name = "mse", "mean_squared_error"


class MeanAbsoluteError(Loss):
    kind, default_name = "mae", "mean_absolute_error"


def get(identifier) -> str:
    """The kernel name ('categorical_crossentropy', 'binary_crossentropy', 'mse', 'mae') of
    a loss given by name, function, class or instance."""
    if isinstance(identifier, Loss):
        return identifier.kind
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier.kind
    name = identifier if isinstance(identifier, str) else getattr(identifier, "__name__", None)
    if isinstance(name, str) and name.lower() in _ALIASES:
        return _ALIASES[name.lower()]
    if isinstance(name, str) and name.lower() in ("sparse_categorical_crossentropy", "sparsecategoricalcrossentropy"):
        raise ValueError("loss: 'sparse_categorical_crossentropy' is not supported (no kernel); one-hot encode the "
                         "labels with utils.to_categorical(y, num_classes) and use 'categorical_crossentropy', "
                         "which gives the same loss")
    raise ValueError(f"loss: expected one of {sorted(_ALIASES)} (name, function or losses.* object), "
                     f"got {identifier!r}")


def serialize(identifier) -> str:
    """The name saved with a model (Keras's spelling as given, when it is a name)."""
    if isinstance(identifier, str):
        return identifier
    return get(identifier)


_NO_KERNEL = ("training needs its gradient kernel, and cudnn_lite has those of categorical_crossentropy, "
              "binary_crossentropy, mean_squared_error and mean_absolute_error only")
__getattr__ = unsupported.module_getattr(__name__, "keras.losses", {
    **{name: _NO_KERNEL for name in (
        "hinge", "squared_hinge", "categorical_hinge", "logcosh", "log_cosh", "kullback_leibler_divergence", "kld",
        "KLD", "poisson", "cosine_proximity", "cosine_similarity", "huber", "huber_loss",
        "mean_absolute_percentage_error", "mape", "MAPE", "mean_squared_logarithmic_error", "msle", "MSLE",
        "Hinge", "SquaredHinge", "CategoricalHinge", "LogCosh", "KLDivergence", "Poisson", "CosineSimilarity",
        "Huber", "MeanAbsolutePercentageError", "MeanSquaredLogarithmicError")},
    **{name: _NO_KERNEL + "; for integer labels, one-hot encode them (utils.to_categorical) and use "
                          "categorical_crossentropy, which gives the same loss"
       for name in ("sparse_categorical_crossentropy", "SparseCategoricalCrossentropy")},
})
