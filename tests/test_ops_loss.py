"""Losses (forward per sample, backward of the batch mean) and the fused softmax + cross-entropy."""
import numpy as np
import pytest

from helpers import Grad, check_op, ref

LOSSES = ["categorical_crossentropy", "binary_crossentropy", "mse", "mae"]


def _data(rng, loss, rows, cols, normalised):
    p = rng.uniform(0.02, 0.98, size=(rows, cols))
    if loss == "categorical_crossentropy":
        if normalised:
            p /= p.sum(axis=1, keepdims=True)
        t = np.eye(cols)[rng.integers(0, cols, rows)]
    else:
        t = rng.uniform(0, 1, size=(rows, cols))
        if loss == "mae":  # away from the kink p == t
            t = np.where(np.abs(p - t) < 1e-3, t + 0.01, t)
    return p.astype(np.float32).astype(np.float64), t.astype(np.float32).astype(np.float64)


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("rows,cols", [(1, 1), (1, 10), (3, 7), (32, 10), (5, 513)])
@pytest.mark.parametrize("normalised", [True, False])
def test_loss_forward_backward(device, loss, rows, cols, normalised):
    if cols == 1 and loss == "categorical_crossentropy" and normalised:
        pytest.skip("a single normalised class is the constant 1 (clipped): covered by test_loss_clipping")
    seed = 1700 + LOSSES.index(loss) * 50 + rows + cols + normalised
    rng = np.random.default_rng(seed)
    p, t = _data(rng, loss, rows, cols, normalised)
    check_op("loss_forward", dict(p=p, t=t), dict(loss=loss), device=device, seed=seed, reduction=cols)
    grad = Grad(lambda p: np.mean(ref.loss_forward(p, t, loss)), dict(p=p), np.array(1.0), ["p"])
    check_op("loss_backward", dict(p=p, t=t), dict(loss=loss), device=device, seed=seed, reduction=cols,
             grad_of=grad)


@pytest.mark.parametrize("loss", ["categorical_crossentropy", "binary_crossentropy"])
def test_loss_clipping(device, loss):
    # p values of exactly 0 and 1 are clipped to [1e-7, 1 - 1e-7]; the clip's gradient is 0 there
    p = np.array([[0.0, 1.0, 0.5, 0.25], [1.0, 0.0, 0.0, 0.0], [0.2, 0.3, 0.0, 0.5]])
    t = np.array([[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]])
    if loss == "binary_crossentropy":
        t = np.array([[1.0, 0.0, 0.3, 0.6], [0.0, 1.0, 0.5, 0.2], [0.1, 0.9, 0.0, 1.0]])
    check_op("loss_forward", dict(p=p, t=t), dict(loss=loss), device=device, rtol=1e-4)
    # gradient magnitudes up to 1e7 where 1e-7 <= q: compare with a loose rtol on the big entries
    check_op("loss_backward", dict(p=p, t=t), dict(loss=loss), device=device, rtol=1e-4)


@pytest.mark.parametrize("rows,cols", [(1, 1), (1, 10), (3, 7), (64, 10)])
def test_softmax_cross_entropy_backward(device, rows, cols):
    seed = 1800 + rows + cols
    rng = np.random.default_rng(seed)
    p = ref.softmax_forward(rng.standard_normal((rows, cols)))
    t = np.eye(cols)[rng.integers(0, cols, rows)]
    check_op("softmax_cross_entropy_backward", dict(p=p, t=t), device=device, seed=seed)
