"""Elementwise activations and softmax against the reference."""
import numpy as np
import pytest

from helpers import Grad, check_finite_differences, check_op, randn, ref

ACTS = ["linear", "relu", "sigmoid", "tanh", "leaky_relu", "step"]


def _x(rng, shape):
    x = randn(rng, *shape, scale=3)
    x[np.abs(x) < 1e-3] = 0.25  # away from the kinks at 0 (finite differences)
    return x


@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("shape", [(1,), (7,), (3, 5), (2, 3, 4, 5), (1031,)])
def test_activation_forward(device, act, shape):
    seed = 1300 + ACTS.index(act) + sum(shape)
    rng = np.random.default_rng(seed)
    check_op("activation_forward", dict(x=_x(rng, shape)), dict(activation=act, alpha=0.1), device=device,
             seed=seed)


def test_activation_forward_at_zero(device):
    x = np.array([-1.0, -0.0, 0.0, 1.0])
    for act in ACTS:
        check_op("activation_forward", dict(x=x), dict(activation=act, alpha=0.1), device=device)


@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("shape", [(1,), (3, 5), (2, 3, 4, 5), (1031,)])
def test_activation_backward(device, act, shape):
    seed = 1400 + ACTS.index(act) + sum(shape)
    rng = np.random.default_rng(seed)
    x = _x(rng, shape)
    y = ref.activation_forward(x.astype(np.float32), act, 0.1).astype(np.float32).astype(np.float64)
    dy = randn(rng, *shape)
    # the kernel sees y rounded to float32 (so does the reference here); the finite differences
    # check the reference separately with the exact float64 y
    check_op("activation_backward", dict(x=x, y=y, dy=dy), dict(activation=act, alpha=0.1), device=device,
             seed=seed)
    grad = Grad(lambda x: ref.activation_forward(x, act, 0.1), dict(x=x), dy, ["x"])
    check_finite_differences(grad, ref.activation_backward(x, ref.activation_forward(x, act, 0.1), dy, act, 0.1),
                             f"activation_backward {act}", seed)


@pytest.mark.parametrize("shape", [(1, 1), (1, 10), (3, 7), (5, 1000), (2, 3, 5)])
def test_softmax_forward(device, shape):
    seed = 1500 + sum(shape)
    rng = np.random.default_rng(seed)
    check_op("softmax_forward", dict(x=randn(rng, *shape, scale=5)), device=device, seed=seed,
             reduction=shape[-1])
    # large logits must not overflow
    check_op("softmax_forward", dict(x=randn(rng, *shape, scale=5) + 500), device=device, seed=seed,
             reduction=shape[-1])


@pytest.mark.parametrize("shape", [(1, 1), (1, 10), (3, 7), (5, 100)])
def test_softmax_backward(device, shape):
    seed = 1600 + sum(shape)
    rng = np.random.default_rng(seed)
    x = randn(rng, *shape, scale=2)
    y = ref.softmax_forward(x).astype(np.float32).astype(np.float64)
    dy = randn(rng, *shape)
    grad = Grad(ref.softmax_forward, dict(x=x), dy, ["x"])
    # the finite differences are of softmax(x); y above is softmax(x) rounded to float32
    check_op("softmax_backward", dict(y=y, dy=dy), device=device, seed=seed, reduction=shape[-1],
             grad_of=None)
    from helpers import check_finite_differences
    check_finite_differences(grad, ref.softmax_backward(ref.softmax_forward(x), dy), "softmax_backward", seed)
