"""max / average / global-average pooling against the reference; ties pin the first-max rule."""
import numpy as np
import pytest

from helpers import Grad, check_op, quantised, randn, ref

# (n, h, w, c), pool_size, strides, padding
CASES = [
    ((1, 4, 4, 1), 2, None, "valid"),
    ((3, 7, 7, 3), 2, None, "valid"),
    ((3, 7, 7, 3), 2, None, "same"),
    ((1, 9, 8, 3), 3, 2, "same"),
    ((3, 5, 9, 1), 3, 1, "valid"),
    ((1, 7, 5, 3), (2, 3), (1, 2), "same"),
    ((3, 8, 7, 3), 5, 2, "same"),
    ((1, 6, 7, 3), 3, 2, (1, 0, 2, 1)),
    ((3, 5, 5, 1), 1, 1, "valid"),
    ((1, 11, 11, 3), 5, 3, (0, 2, 1, 0)),
]
IDS = [f"x{c[0]}-p{c[1]}-s{c[2]}-{c[3]}" for c in CASES]


def _kw(case):
    return dict(pool_size=case[1], strides=case[2], padding=case[3])


@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize("data", ["normal", "ties"])
def test_maxpool2d_forward(device, case, data):
    seed = 800 + CASES.index(case)
    rng = np.random.default_rng(seed)
    x = randn(rng, *case[0]) if data == "normal" else quantised(rng, *case[0])
    check_op("maxpool2d_forward", dict(x=x), _kw(case), device=device, seed=seed, rtol=0)


@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize("data", ["normal", "ties", "all_equal"])
def test_maxpool2d_backward(device, case, data):
    seed = 900 + CASES.index(case)
    rng = np.random.default_rng(seed)
    if data == "normal":
        x = randn(rng, *case[0])
    elif data == "ties":
        x = quantised(rng, *case[0])
    else:
        x = np.full(case[0], -0.5)
    dy = randn(rng, *ref.maxpool2d_forward(x, **_kw(case)).shape)
    grad = Grad(lambda x: ref.maxpool2d_forward(x, **_kw(case)), dict(x=x), dy, ["x"]) \
        if data == "normal" else None  # finite differences are one-sided at ties
    check_op("maxpool2d_backward", dict(x=x, dy=dy), _kw(case), device=device, seed=seed,
             reduction=25, grad_of=grad)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_avgpool2d_forward(device, case):
    seed = 1000 + CASES.index(case)
    rng = np.random.default_rng(seed)
    check_op("avgpool2d_forward", dict(x=randn(rng, *case[0])), _kw(case), device=device, seed=seed,
             reduction=25)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_avgpool2d_backward(device, case):
    seed = 1100 + CASES.index(case)
    rng = np.random.default_rng(seed)
    x = randn(rng, *case[0])
    dy = randn(rng, *ref.avgpool2d_forward(x, **_kw(case)).shape)
    grad = Grad(lambda x: ref.avgpool2d_forward(x, **_kw(case)), dict(x=x), dy, ["x"])
    check_op("avgpool2d_backward", dict(dy=dy), dict(x_shape=case[0], **_kw(case)), device=device,
             seed=seed, reduction=25, grad_of=grad)


@pytest.mark.parametrize("shape", [(1, 1, 1, 1), (3, 5, 7, 3), (1, 4, 4, 1), (3, 16, 16, 9)])
def test_global_avgpool2d(device, shape):
    seed = 1200 + sum(shape)
    rng = np.random.default_rng(seed)
    x = randn(rng, *shape)
    check_op("global_avgpool2d_forward", dict(x=x), device=device, seed=seed, reduction=shape[1] * shape[2])
    dy = randn(rng, shape[0], shape[3])
    grad = Grad(ref.global_avgpool2d_forward, dict(x=x), dy, ["x"])
    check_op("global_avgpool2d_backward", dict(dy=dy), dict(x_shape=shape), device=device, seed=seed,
             grad_of=grad)
