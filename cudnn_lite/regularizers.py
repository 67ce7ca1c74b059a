"""Weight regularizers (Keras names). Only L2 is supported by the fused optimizer kernels.

``Dense(16, kernel_regularizer=regularizers.l2(1e-4))`` adds ``1e-4 * sum(w**2)``
to the loss (reported by fit/evaluate) and ``2 * 1e-4 * w`` to the gradient
(applied inside :func:`cudnn_lite.ops.optimizer_update`).
"""
from __future__ import annotations

import numbers

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


def l2(l2=0.01):  # noqa: D103  (Keras spelling: regularizers.l2(0.0001))
    return L2(l2)


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
