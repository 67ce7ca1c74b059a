"""conv2d forward / backward data / backward filter against the reference (and finite differences)."""
import numpy as np
import pytest

from helpers import Grad, check_op, randn, ref

# (n, h, w, c), (kh, kw, k), strides, padding
CASES = [
    ((1, 5, 5, 1), (3, 3, 1), 1, "valid"),
    ((3, 7, 6, 3), (3, 3, 4), 1, "same"),
    ((3, 7, 7, 3), (1, 1, 2), 1, "valid"),
    ((1, 9, 7, 3), (5, 5, 2), 2, "same"),
    ((3, 6, 9, 1), (2, 2, 3), 2, "valid"),
    ((1, 8, 5, 3), (2, 3, 3), (2, 1), "same"),
    ((3, 7, 9, 3), (3, 2, 2), (1, 2), (0, 2, 1, 0)),
    ((1, 11, 11, 1), (5, 5, 1), 2, (2, 1, 0, 3)),
    ((3, 5, 5, 3), (5, 5, 3), 1, "same"),
    ((1, 6, 6, 3), (2, 2, 5), 1, "same"),
    ((3, 9, 9, 3), (3, 3, 4), 2, "same"),
    ((1, 13, 10, 1), (5, 2, 3), (2, 2), "valid"),
    ((2, 28, 28, 1), (3, 3, 8), 1, "same"),
]
IDS = [f"x{c[0]}-k{c[1]}-s{c[2]}-{c[3]}" for c in CASES]


@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize("activation", ["linear", "relu"])
def test_conv2d_forward(device, case, activation):
    xs, (kh, kw, k), strides, padding = case
    seed = 500 + CASES.index(case)
    rng = np.random.default_rng(seed)
    inputs = dict(x=randn(rng, *xs), w=randn(rng, kh, kw, xs[3], k), b=randn(rng, k))
    check_op("conv2d_forward", inputs, dict(strides=strides, padding=padding, activation=activation),
             device=device, seed=seed, reduction=kh * kw * xs[3])


def test_conv2d_forward_textbook(device):
    x = np.array([[1, 2, 3, 4, 5], [2, 1, 0, 1, 2], [3, 0, 1, 1, 0], [1, 4, 1, 1, 2], [2, 1, 1, 0, 0]], float)
    k = np.array([[1, 0, 1], [1, 0, 1], [0, 1, 0]], float)
    got, _ = check_op("conv2d_forward", dict(x=x[None, :, :, None], w=k[:, :, None, None]), device=device)
    np.testing.assert_array_equal(got[0][0, 0, :, 0], [6, 9, 11])


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_conv2d_backward_data(device, case):
    xs, (kh, kw, k), strides, padding = case
    seed = 600 + CASES.index(case)
    rng = np.random.default_rng(seed)
    x, w = randn(rng, *xs), randn(rng, kh, kw, xs[3], k)
    dy = randn(rng, *ref.conv2d_forward(x, w, None, strides, padding).shape)
    grad = Grad(lambda x: ref.conv2d_forward(x, w, None, strides, padding), dict(x=x), dy, ["x"])
    check_op("conv2d_backward_data", dict(dy=dy, w=w), dict(x_shape=xs, strides=strides, padding=padding),
             device=device, seed=seed, reduction=kh * kw * k, grad_of=grad)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_conv2d_backward_filter(device, case):
    xs, (kh, kw, k), strides, padding = case
    seed = 700 + CASES.index(case)
    rng = np.random.default_rng(seed)
    x, w = randn(rng, *xs), randn(rng, kh, kw, xs[3], k)
    dy = randn(rng, *ref.conv2d_forward(x, w, None, strides, padding).shape)
    grad = Grad(lambda w: ref.conv2d_forward(x, w, None, strides, padding), dict(w=w), dy, ["w"])
    check_op("conv2d_backward_filter", dict(x=x, dy=dy), dict(w_shape=w.shape, strides=strides, padding=padding),
             device=device, seed=seed, reduction=int(np.prod(dy.shape[:3])), grad_of=grad)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "leaky_relu"])
@pytest.mark.parametrize("case", [CASES[1], CASES[6]], ids=[IDS[1], IDS[6]])
def test_conv2d_forward_epilogues(device, case, activation):
    xs, (kh, kw, k), strides, padding = case
    seed = 550 + CASES.index(case)
    rng = np.random.default_rng(seed)
    inputs = dict(x=randn(rng, *xs), w=randn(rng, kh, kw, xs[3], k), b=randn(rng, k))
    check_op("conv2d_forward", inputs, dict(strides=strides, padding=padding, activation=activation, alpha=0.2),
             device=device, seed=seed, reduction=kh * kw * xs[3])
