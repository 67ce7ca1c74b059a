"""Self-checks of cudnn_lite/reference/ (NumPy only; no compiled extension needed):
direct formulas, worked examples, and every backward against finite differences."""
from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from helpers import Grad, check_finite_differences, quantised, randn, ref, REPO_ROOT_FOR_TESTS


# ------------------------------------------------------------ padding helpers

@pytest.mark.parametrize("size,k,s,want", [
    (5, 3, 1, (1, 1)), (5, 2, 1, (0, 1)), (6, 3, 2, (0, 1)), (7, 3, 2, (1, 1)),
    (4, 1, 1, (0, 0)), (5, 5, 2, (2, 2)), (28, 2, 2, (0, 0)), (7, 2, 2, (0, 1)),
    (3, 5, 1, (2, 2)), (2, 5, 3, (1, 2)),
])
def test_same_padding(size, k, s, want):
    t, b, l, r = ref.conv_padding((1, size, size, 1), k, s, "same")
    assert (t, b) == want and (l, r) == want
    n, oh, ow, _ = ref.conv_output_shape((1, size, size, 1), 4, k, s, "same")
    assert oh == ow == -(-size // s)


def test_output_shapes():
    assert ref.conv_output_shape((2, 28, 28, 1), 32, 3, 1, "same") == (2, 28, 28, 32)
    assert ref.pool_output_shape((2, 28, 28, 32), 2) == (2, 14, 14, 32)
    assert ref.pool_output_shape((2, 7, 7, 3), 2) == (2, 3, 3, 3)
    assert ref.pool_output_shape((2, 7, 7, 3), 2, padding="same") == (2, 4, 4, 3)
    assert ref.conv_output_shape((1, 5, 6, 1), 2, (3, 2), (2, 1), (0, 1, 2, 0)) == (1, 2, 7, 2)
    assert ref.conv_padding((9, 9), 3, 1, (1, 2, 3, 0)) == (1, 2, 3, 0)


# ---------------------------------------------------------------- convolution

def test_conv_textbook_worked_example():
    # /work/shared/textbook/textbook_ko.txt, "합성곱 연산": first output row 6, 9, 11
    x = np.array([[1, 2, 3, 4, 5], [2, 1, 0, 1, 2], [3, 0, 1, 1, 0], [1, 4, 1, 1, 2], [2, 1, 1, 0, 0]],
                 dtype=np.float64)
    k = np.array([[1, 0, 1], [1, 0, 1], [0, 1, 0]], dtype=np.float64)
    y = ref.conv2d_forward(x[None, :, :, None], k[:, :, None, None])
    assert y.shape == (1, 3, 3, 1)
    np.testing.assert_array_equal(y[0, 0, :, 0], [6, 9, 11])


def _conv_direct(x, w, b, sh, sw, pads):
    """y[n, i, j, o] = b[o] + sum_{p, q, c} xpad[n, i*sh + p, j*sw + q, c] w[p, q, c, o]."""
    t, bo, l, r = pads
    xp = np.pad(x, ((0, 0), (t, bo), (l, r), (0, 0)))
    kh, kw, c, k = w.shape
    oh = (xp.shape[1] - kh) // sh + 1
    ow = (xp.shape[2] - kw) // sw + 1
    y = np.zeros((x.shape[0], oh, ow, k))
    for n in range(x.shape[0]):
        for i in range(oh):
            for j in range(ow):
                for o in range(k):
                    y[n, i, j, o] = b[o] + np.sum(xp[n, i * sh:i * sh + kh, j * sw:j * sw + kw, :] * w[..., o])
    return y


@pytest.mark.parametrize("seed,shape,ksz,strides,padding", [
    (1, (2, 5, 6, 3), (3, 3), (1, 1), "valid"),
    (2, (1, 7, 5, 2), (3, 2), (2, 1), "same"),
    (3, (3, 6, 6, 1), (5, 5), (2, 2), "same"),
    (4, (2, 5, 7, 3), (2, 3), (1, 2), (0, 2, 1, 0)),
])
def test_conv_forward_direct_formula(seed, shape, ksz, strides, padding):
    rng = np.random.default_rng(seed)
    x = randn(rng, *shape)
    w = randn(rng, *ksz, shape[3], 4)
    b = randn(rng, 4)
    pads = ref.conv_padding(shape, ksz, strides, padding)
    y = ref.conv2d_forward(x, w, b, strides, padding)
    np.testing.assert_allclose(y, _conv_direct(x, w, b, *strides, pads), rtol=1e-12, atol=1e-12)


CONV_CASES = [
    (11, (2, 5, 5, 2), (3, 3, 2, 3), 1, "valid"),
    (12, (1, 7, 6, 3), (3, 2, 3, 2), (2, 1), "same"),
    (13, (2, 6, 5, 1), (2, 2, 1, 2), 2, "same"),
    (14, (1, 5, 7, 2), (3, 3, 2, 2), (2, 2), (0, 2, 1, 0)),
    (15, (1, 7, 7, 1), (5, 5, 1, 2), 2, (2, 1, 1, 2)),
]


@pytest.mark.parametrize("seed,xs,ws,strides,padding", CONV_CASES)
def test_conv_backward_finite_differences(seed, xs, ws, strides, padding):
    rng = np.random.default_rng(seed)
    x, w, b = randn(rng, *xs), randn(rng, *ws), randn(rng, ws[3])
    y = ref.conv2d_forward(x, w, b, strides, padding)
    dy = randn(rng, *y.shape)
    fwd = lambda x, w, b: ref.conv2d_forward(x, w, b, strides, padding)  # noqa: E731
    dx = ref.conv2d_backward_data(dy, w, xs, strides, padding)
    dw = ref.conv2d_backward_filter(x, dy, ws, strides, padding)
    db = ref.bias_backward(dy)
    check_finite_differences(Grad(fwd, dict(x=x, w=w, b=b), dy, ["x", "w", "b"]), (dx, dw, db),
                             "reference conv2d", seed)


def test_dense_and_sgemm_finite_differences():
    rng = np.random.default_rng(21)
    x, w, b = randn(rng, 3, 5), randn(rng, 5, 4), randn(rng, 4)
    dy = randn(rng, 3, 4)
    fwd = lambda x, w, b: ref.dense_forward(x, w, b, "tanh")  # noqa: E731
    y = fwd(x, w, b)
    dz = ref.activation_backward(x @ w + b, y, dy, "tanh")
    grads = ref.dense_backward(x, w, dz)
    check_finite_differences(Grad(fwd, dict(x=x, w=w, b=b), dy, ["x", "w", "b"]), grads, "dense", 21)
    a, bm, c = randn(rng, 4, 3), randn(rng, 5, 4), randn(rng, 3, 5)
    np.testing.assert_allclose(ref.sgemm(a, bm, True, True, 2.0, 0.5, c), 2 * a.T @ bm.T + 0.5 * c)
    assert np.isfinite(ref.sgemm(a, bm, True, True, 1.0, 0.0, np.full((3, 5), np.nan))).all()


# -------------------------------------------------------------------- pooling

POOL_CASES = [
    (31, (2, 5, 5, 2), 2, None, "valid"),
    (32, (1, 7, 6, 3), 3, 2, "same"),
    (33, (2, 5, 7, 1), (2, 3), (1, 2), "same"),
    (34, (1, 6, 5, 2), 3, 1, (1, 0, 2, 1)),
    (35, (1, 4, 4, 1), 1, 1, "valid"),
]


@pytest.mark.parametrize("seed,xs,pool,strides,padding", POOL_CASES)
def test_pool_backward_finite_differences(seed, xs, pool, strides, padding):
    rng = np.random.default_rng(seed)
    x = randn(rng, *xs)
    y = ref.maxpool2d_forward(x, pool, strides, padding)
    dy = randn(rng, *y.shape)
    fwd = lambda x: ref.maxpool2d_forward(x, pool, strides, padding)  # noqa: E731
    check_finite_differences(Grad(fwd, dict(x=x), dy, ["x"]),
                             ref.maxpool2d_backward(x, dy, pool, strides, padding), "maxpool", seed)
    fwd = lambda x: ref.avgpool2d_forward(x, pool, strides, padding)  # noqa: E731
    check_finite_differences(Grad(fwd, dict(x=x), dy, ["x"]),
                             ref.avgpool2d_backward(dy, xs, pool, strides, padding), "avgpool", seed)


def test_maxpool_first_max_rule():
    x = np.zeros((1, 2, 2, 1))
    x[0, :, :, 0] = [[1, 3], [3, 3]]
    dx = ref.maxpool2d_backward(x, np.ones((1, 1, 1, 1)))
    np.testing.assert_array_equal(dx[0, :, :, 0], [[0, 1], [0, 0]])
    x[0, :, :, 0] = [[2, 2], [2, 2]]
    dx = ref.maxpool2d_backward(x, np.full((1, 1, 1, 1), 5.0))
    np.testing.assert_array_equal(dx[0, :, :, 0], [[5, 0], [0, 0]])
    # 'same' padding: padded cells never win, even over negative values
    x = -np.ones((1, 3, 3, 1))
    y = ref.maxpool2d_forward(x, 2, 2, "same")
    np.testing.assert_array_equal(y, -np.ones((1, 2, 2, 1)))
    # quantised data: every output's gradient lands on exactly one cell, the first max
    rng = np.random.default_rng(3)
    x = quantised(rng, 2, 6, 6, 2)
    dx = ref.maxpool2d_backward(x, np.ones((2, 3, 3, 2)), 2)
    for n in range(2):
        for i in range(3):
            for j in range(3):
                for c in range(2):
                    win = x[n, 2 * i:2 * i + 2, 2 * j:2 * j + 2, c].reshape(-1)
                    first = int(np.argmax(win))  # argmax returns the first maximum
                    got = dx[n, 2 * i:2 * i + 2, 2 * j:2 * j + 2, c].reshape(-1)
                    assert got[first] == 1 and got.sum() == 1


def test_avgpool_counts_only_real_cells():
    x = np.arange(9, dtype=np.float64).reshape(1, 3, 3, 1)
    y = ref.avgpool2d_forward(x, 2, 2, "same")  # pads one row/col at bottom/right
    np.testing.assert_allclose(y[0, :, :, 0], [[(0 + 1 + 3 + 4) / 4, (2 + 5) / 2], [(6 + 7) / 2, 8]])


def test_global_avgpool_finite_differences():
    rng = np.random.default_rng(41)
    x = randn(rng, 2, 3, 4, 3)
    dy = randn(rng, 2, 3)
    check_finite_differences(Grad(ref.global_avgpool2d_forward, dict(x=x), dy, ["x"]),
                             ref.global_avgpool2d_backward(dy, x.shape), "global avgpool", 41)


# ------------------------------------------------ activations, softmax, losses

@pytest.mark.parametrize("act", ["linear", "relu", "sigmoid", "tanh", "leaky_relu", "step"])
def test_activation_finite_differences(act):
    rng = np.random.default_rng(51)
    x = randn(rng, 4, 5)
    x[np.abs(x) < 1e-3] = 0.5  # stay away from the kinks
    dy = randn(rng, 4, 5)
    y = ref.activation_forward(x, act, 0.1)
    dx = ref.activation_backward(x, y, dy, act, 0.1)
    check_finite_differences(Grad(lambda x: ref.activation_forward(x, act, 0.1), dict(x=x), dy, ["x"]),
                             dx, act, 51)


def test_activation_values():
    x = np.array([-2.0, -0.0, 0.0, 1.5])
    np.testing.assert_array_equal(ref.activation_forward(x, "step"), [0, 1, 1, 1])
    np.testing.assert_allclose(ref.activation_forward(x, "leaky_relu", 0.01), [-0.02, 0, 0, 1.5])
    np.testing.assert_allclose(ref.activation_forward(np.array([0.0]), "sigmoid"), [0.5])


def test_softmax_finite_differences():
    rng = np.random.default_rng(61)
    x = randn(rng, 3, 6, scale=3)
    y = ref.softmax_forward(x)
    np.testing.assert_allclose(y.sum(axis=-1), 1)
    np.testing.assert_allclose(ref.softmax_forward(x + 1000), y)
    dy = randn(rng, 3, 6)
    check_finite_differences(Grad(ref.softmax_forward, dict(x=x), dy, ["x"]),
                             ref.softmax_backward(y, dy), "softmax", 61)


def test_loss_worked_examples():
    # textbook: -log(0.3) = 1.2, -log(0.5) = 0.69
    p = np.array([[0.3, 0.7], [0.5, 0.5]])
    t = np.array([[1.0, 0.0], [1.0, 0.0]])
    np.testing.assert_allclose(ref.loss_forward(p, t), [-np.log(0.3), -np.log(0.5)])
    np.testing.assert_allclose(ref.loss_forward(p, t), [1.2, 0.69], atol=0.01)
    # categorical cross-entropy normalises p by its row sum
    np.testing.assert_allclose(ref.loss_forward(2 * p, t), ref.loss_forward(p, t))
    # clipping: p = 0 on the true class costs -log(1e-7)
    np.testing.assert_allclose(ref.loss_forward(np.array([[0.0, 1.0]]), np.array([[1.0, 0.0]])),
                               [-np.log(1e-7)])
    np.testing.assert_allclose(ref.loss_forward(p, t, "mse"), [(0.49 + 0.49) / 2, 0.25])
    np.testing.assert_allclose(ref.loss_forward(p, t, "mae"), [0.7, 0.5])
    np.testing.assert_allclose(ref.loss_forward(p, t, "binary_crossentropy"),
                               [-(np.log(0.3) + np.log(0.3)) / 2, -np.log(0.5)])


@pytest.mark.parametrize("loss", ["categorical_crossentropy", "binary_crossentropy", "mse", "mae"])
def test_loss_finite_differences(loss):
    rng = np.random.default_rng(71)
    p = rng.uniform(0.05, 0.95, size=(3, 4))
    t = rng.uniform(0, 1, size=(3, 4)) if loss != "categorical_crossentropy" else \
        np.eye(4)[rng.integers(0, 4, 3)]
    mean_loss = lambda p: np.mean(ref.loss_forward(p, t, loss))  # noqa: E731
    check_finite_differences(Grad(mean_loss, dict(p=p), np.array(1.0), ["p"]),
                             ref.loss_backward(p, t, loss), loss, 71)


def test_loss_gradient_zero_where_clipped():
    p = np.array([[0.0, 0.5, 1.0]])
    t = np.array([[0.3, 0.3, 0.3]])
    g = ref.loss_backward(p, t, "binary_crossentropy")
    assert g[0, 0] == 0 and g[0, 2] == 0 and g[0, 1] != 0


def test_softmax_cross_entropy_backward_matches_chain_rule():
    rng = np.random.default_rng(81)
    z = randn(rng, 3, 5)
    t = np.eye(5)[[0, 3, 2]]
    p = ref.softmax_forward(z)
    chain = ref.softmax_backward(p, ref.loss_backward(p, t))
    np.testing.assert_allclose(ref.softmax_cross_entropy_backward(p, t), chain, atol=1e-12)


# ----------------------------------------------------------------- batch norm

def test_batchnorm_train_and_finite_differences():
    rng = np.random.default_rng(91)
    x = randn(rng, 2, 3, 2, 3) * 2 + 1
    gamma, beta = randn(rng, 3), randn(rng, 3)
    mm, mv = randn(rng, 3), rng.uniform(0.5, 2, 3)
    y, mean, invstd, nm, nv = ref.batchnorm_forward_train(x, gamma, beta, mm, mv)
    x2 = x.reshape(-1, 3)
    np.testing.assert_allclose(mean, x2.mean(0))
    np.testing.assert_allclose(invstd, 1 / np.sqrt(x2.var(0) + 1e-3))
    np.testing.assert_allclose(nm, 0.99 * mm + 0.01 * x2.mean(0))
    np.testing.assert_allclose(nv, 0.99 * mv + 0.01 * x2.var(0))  # biased
    np.testing.assert_allclose(ref.batchnorm_forward_inference(x, gamma, beta, mean, 1 / invstd ** 2 - 1e-3), y)
    dy = randn(rng, *x.shape)
    fwd = lambda x, gamma, beta: ref.batchnorm_forward_train(x, gamma, beta, mm, mv)[0]  # noqa: E731
    check_finite_differences(Grad(fwd, dict(x=x, gamma=gamma, beta=beta), dy, ["x", "gamma", "beta"]),
                             ref.batchnorm_backward(x, dy, gamma, mean, invstd), "batchnorm", 91)


# -------------------------------------------------------------------- dropout

def test_philox_known_answer():
    # Random123 known-answer test: philox4x32_10(counter 0, key 0)
    words = ref.philox4x32_10(np.array([0], dtype=np.uint64), 0)[:, 0]
    assert [int(v) for v in words] == [0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8]


@pytest.mark.skipif(shutil.which("g++") is None, reason="g++ not available")
def test_philox_matches_header(tmp_path):
    src = tmp_path / "p.cpp"
    src.write_text('#include "common/philox.h"\n#include <cstdio>\nint main(){for(unsigned long long i=0;i<64;i++)'
                   'printf("%.17g\\n",(double)cudnn_lite::philox_uniform(0x123456789ULL,i+1000000007ULL));}\n')
    exe = tmp_path / "p"
    subprocess.run(["g++", "-std=c++17", "-I", str(REPO_ROOT_FOR_TESTS / "csrc"), str(src), "-o", str(exe)],
                   check=True)
    out = np.array([float(v) for v in subprocess.run([str(exe)], capture_output=True, text=True,
                                                     check=True).stdout.split()])
    want = ref.philox_uniform(0x123456789, np.arange(64, dtype=np.uint64) + np.uint64(1000000007))
    np.testing.assert_array_equal(out, want)


def test_dropout_reference():
    x = np.random.default_rng(5).uniform(1, 2, size=(100, 100))
    y = ref.dropout_forward(x, 0.3, seed=42, offset=3)
    keep = ref.dropout_mask(x.shape, 0.3, 42, 3)
    np.testing.assert_array_equal(y != 0, keep)
    np.testing.assert_allclose(y[keep], x[keep] / 0.7)
    assert abs(keep.mean() - 0.7) < 0.02
    # offset shifts the stream: mask(offset=1)[i] == mask(offset=0)[i + 1]
    m0 = ref.dropout_mask((50,), 0.5, 9, 0)
    m1 = ref.dropout_mask((49,), 0.5, 9, 1)
    np.testing.assert_array_equal(m0[1:], m1)
    np.testing.assert_array_equal(ref.dropout_backward(x, 0.3, 42, 3) != 0, keep)


# ----------------------------------------------------------------- optimizers

def test_optimizer_rules_by_hand():
    p, g = np.array([1.0, -2.0]), np.array([0.5, 0.25])
    np.testing.assert_allclose(ref.optimizer_update("sgd", p, g, lr=0.1)[0], p - 0.1 * g)
    np.testing.assert_allclose(ref.optimizer_update("sgd", p, g, lr=0.1, l2=0.01)[0], p - 0.1 * (g + 0.02 * p))
    new_p, m, _ = ref.optimizer_update("sgd", p, g, np.array([0.2, 0.2]), lr=0.1, momentum=0.9)
    np.testing.assert_allclose(m, 0.9 * 0.2 - 0.1 * g)
    np.testing.assert_allclose(new_p, p + m)
    new_p, m, _ = ref.optimizer_update("sgd", p, g, np.array([0.2, 0.2]), lr=0.1, momentum=0.9, nesterov=True)
    np.testing.assert_allclose(new_p, p + 0.9 * m - 0.1 * g)
    # adam, t=1, zero slots: m = 0.1 g, v = 0.001 g^2, step = c1 * 0.1 g / (sqrt(0.001) |g| + eps)
    c1 = ref.adam_scalars(0.001, 0.9, 0.999, 1)["c1"]
    new_p, m, v = ref.optimizer_update("adam", p, g, np.zeros(2), np.zeros(2), lr=0.001, c1=c1)
    np.testing.assert_allclose(new_p, p - 0.001 * np.sign(g), rtol=1e-5)  # first Adam step ~ lr * sign(g)
    # the inputs are never modified
    s = np.array([0.2, 0.2])
    ref.optimizer_update("adagrad", p, g, s, lr=0.1)
    assert s.tolist() == [0.2, 0.2] and p.tolist() == [1.0, -2.0]


def test_nadam_scalars_first_step():
    s = ref.nadam_scalars(0.9, 0.999, 1)
    mu1 = 0.9 * (1 - 0.5 * 0.96 ** 1)  # Keras 3: mu_t = beta_1 (1 - 0.5 * 0.96^t)
    mu2 = 0.9 * (1 - 0.5 * 0.96 ** 2)
    np.testing.assert_allclose(s["c1"], mu2 / (1 - mu1 * mu2))
    np.testing.assert_allclose(s["c2"], (1 - mu1) / (1 - mu1))
    np.testing.assert_allclose(s["c3"], 1 / 0.001)
