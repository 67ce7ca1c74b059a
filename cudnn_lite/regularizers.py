"""Weight regularizers (Keras names). Only L2 is supported by the fused optimizer kernels.

``Dense(16, kernel_regularizer=regularizers.l2(1e-4))`` adds ``1e-4 * sum(w**2)``
to the loss (reported by fit/evaluate) and ``2 * 1e-4 * w`` to the gradient
(applied inside :func:`cudnn_lite.ops.optimizer_update`).
"""
from __future__ import annotations

import numbers

from . import unsupported

__all__ = ["Regularizer", "L2", "l2", "get", "serialize"]


class Regularizer:
    l2 = 0.0

    def __call__(self, w):
        raise NotImplementedError

    def get_config(self):
        return {}


class L2(Regularizer):
    """loss += l2 * sum(w ** 2)."""

    def __init__(self, l2=0.01):
        if isinstance(l2, bool) or not isinstance(l2, numbers.Real) or not l2 >= 0:
            raise ValueError(f"l2: expected a non-negative number, got {l2!r}")
        self.l2 = float(l2)

    def __call__(self, w):
        flat = w.reshape(-1)
        return self.l2 * (flat @ flat)  # stays on w's device

    def get_config(self):
        return {"l2": self.l2}

    def __repr__(self):
        return f"L2(l2={self.l2})"


def l2(l2=0.01, l=None):  # noqa: E741  (Keras spellings: regularizers.l2(0.0001), Keras 2's l2(l=0.0001))
    return L2(l2 if l is None else l)


def get(identifier):
    """None, an L2 instance, 'l2', or a {'class_name': 'L2', 'config': {...}} dict."""
    if identifier is None or isinstance(identifier, Regularizer):
        return identifier
    if isinstance(identifier, str) and identifier.lower() == "l2":
        return L2()
    if isinstance(identifier, dict) and identifier.get("class_name") in ("L2", "l2"):
        return L2(**identifier.get("config", {}))
    raise ValueError(f"kernel_regularizer: expected regularizers.l2(value) or None, got {identifier!r} "
                     "(only L2 is supported)")


def serialize(reg):
    return None if reg is None else {"class_name": "L2", "config": reg.get_config()}


_ONLY_L2 = "the optimizer kernels apply L2 penalties only (use regularizers.l2)"
__getattr__ = unsupported.module_getattr(__name__, "keras.regularizers", {
    name: _ONLY_L2 for name in ("l1", "L1", "l1_l2", "L1L2", "l1l2", "OrthogonalRegularizer", "orthogonal_regularizer")})
