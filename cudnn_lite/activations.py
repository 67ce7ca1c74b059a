"""Activation functions by name (Keras's names plus the textbook's 'step').

Each name maps to an :class:`ActivationFunction`, a callable usable on arrays
(``activations.relu(x)``) and by layers (``Dense(8, activation=activations.tanh)``).
Layers fuse it into the kernel's epilogue (Dense, Conv2D) or call the
elementwise kernels; 'softmax' runs over the last axis.
"""
from __future__ import annotations

import numbers

import numpy as np

from . import backend, ops

__all__ = ["ActivationFunction", "linear", "step", "sigmoid", "tanh", "relu", "leaky_relu",
           "softmax", "get", "serialize", "NAMES"]

NAMES = tuple(ops.ACTIVATIONS) + ("softmax",)  # the kernels' activations (csrc/cudnn_lite.h) and softmax
LEAKY_RELU_ALPHA = 0.01  # the textbook's slope; layers.LeakyReLU keeps Keras's 0.3


class ActivationFunction:
    """A named activation; ``alpha`` is the leaky_relu slope."""

    def __init__(self, name, alpha=None):
        if name not in NAMES:
            raise ValueError(f"activation: expected one of {list(NAMES)} or None, got {name!r}")
        if alpha is None:
            alpha = LEAKY_RELU_ALPHA if name == "leaky_relu" else 0.0
        if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real):
            raise ValueError(f"alpha: expected a number, got {alpha!r}")
        self.name = name
        self.__name__ = name
        self.alpha = float(alpha)

    def __call__(self, x, alpha=None):
        if not backend.is_device_array(x):
            x = np.ascontiguousarray(x, dtype=np.float32)
        if self.name == "softmax":
            return ops.softmax_forward(x)
        return ops.activation_forward(x, self.name, self.alpha if alpha is None else float(alpha))

    def __eq__(self, other):
        return isinstance(other, ActivationFunction) and (self.name, self.alpha) == (other.name, other.alpha)

    def __hash__(self):
        return hash((self.name, self.alpha))

    def __repr__(self):
        return f"<activation {self.name}>" if self.name != "leaky_relu" else f"<activation leaky_relu alpha={self.alpha}>"


linear = ActivationFunction("linear")
step = ActivationFunction("step")
sigmoid = ActivationFunction("sigmoid")
tanh = ActivationFunction("tanh")
relu = ActivationFunction("relu")
leaky_relu = ActivationFunction("leaky_relu")
softmax = ActivationFunction("softmax")

_ALIASES = {"linear": linear, "step": step, "sigmoid": sigmoid, "tanh": tanh, "relu": relu,
            "leaky_relu": leaky_relu, "softmax": softmax}


def get(identifier) -> ActivationFunction:
    """None/'linear' -> linear; a name; an ActivationFunction; {'name':..., 'alpha':...}."""
    if identifier is None:
        return linear
    if isinstance(identifier, ActivationFunction):
        return identifier
    if isinstance(identifier, str):
        key = identifier.lower()
        if key in _ALIASES:
            return _ALIASES[key]
    if isinstance(identifier, dict) and identifier.get("name") in NAMES:
        return ActivationFunction(identifier["name"], identifier.get("alpha"))
    raise ValueError(f"activation: expected one of {list(NAMES)}, None or an activations.* object, "
                     f"got {identifier!r}")


def serialize(fn: ActivationFunction):
    """The name, or {'name', 'alpha'} for a leaky_relu with a non-default slope."""
    if fn.name == "leaky_relu" and fn.alpha != LEAKY_RELU_ALPHA:
        return {"name": fn.name, "alpha": fn.alpha}
    return fn.name
