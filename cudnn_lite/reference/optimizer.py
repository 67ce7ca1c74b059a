"""One optimizer step (the rules of OptimizerStep in csrc/cudnn_lite.h); returns new arrays."""
from __future__ import annotations

import numpy as np

# -------------------------------------------------------------- optimizers

def optimizer_update(kind, param, grad, slot1=None, slot2=None, *, lr, momentum=0.0, nesterov=False,
                     rho=0.9, beta1=0.9, beta2=0.999, epsilon=1e-7, l2=0.0, c1=0.0, c2=0.0, c3=0.0):
    """One step of rule ``kind``; returns NEW (param, slot1, slot2) (None for unused slots)."""
    p = np.array(param, copy=True)
    s1 = None if slot1 is None else np.array(slot1, copy=True)
    s2 = None if slot2 is None else np.array(slot2, copy=True)
    g = grad + 2 * l2 * param
    if kind == "sgd":
        if momentum == 0:
            p = p - lr * g
        else:
            s1 = momentum * s1 - lr * g
            p = p + (momentum * s1 - lr * g if nesterov else s1)
    elif kind == "adagrad":
        s1 = s1 + g * g
        p = p - lr * g / np.sqrt(s1 + epsilon)
    elif kind == "rmsprop":
        s1 = rho * s1 + (1 - rho) * g * g
        inc = lr * g / np.sqrt(s1 + epsilon)
        if momentum == 0:
            p = p - inc
        else:
            s2 = momentum * s2 + inc
            p = p - s2
    elif kind == "adadelta":
        s1 = rho * s1 + (1 - rho) * g * g
        d = np.sqrt(s2 + epsilon) / np.sqrt(s1 + epsilon) * g
        s2 = rho * s2 + (1 - rho) * d * d
        p = p - lr * d
    elif kind == "adam":
        s1 = s1 + (g - s1) * (1 - beta1)
        s2 = s2 + (g * g - s2) * (1 - beta2)
        p = p - c1 * s1 / (np.sqrt(s2) + epsilon)
    elif kind == "nadam":
        s1 = s1 + (g - s1) * (1 - beta1)
        s2 = s2 + (g * g - s2) * (1 - beta2)
        m_hat = c1 * s1 + c2 * g
        v_hat = c3 * s2
        p = p - lr * m_hat / (np.sqrt(v_hat) + epsilon)
    else:
        raise ValueError(f"kind: unknown {kind!r}")
    return p, s1, s2


def adam_scalars(lr, beta1, beta2, t):
    """c1 of step t (1-based) for optimizer_update('adam', ...)."""
    return {"c1": lr * np.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)}


def nadam_scalars(beta1, beta2, t, decay=0.96):
    """c1, c2, c3 of step t (1-based) for optimizer_update('nadam', ...), Keras 3 schedule."""
    mu = lambda s: beta1 * (1 - 0.5 * decay ** s)  # noqa: E731  (Keras 3; Keras 2 had decay ** (0.004 * s))
    prod_t = np.prod([mu(s) for s in range(1, t + 1)])
    prod_t1 = prod_t * mu(t + 1)
    return {"c1": mu(t + 1) / (1 - prod_t1), "c2": (1 - mu(t)) / (1 - prod_t), "c3": 1 / (1 - beta2 ** t)}
