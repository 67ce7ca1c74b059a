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


# Few input channels (first layers: c <= 4, kernel width 2 or 3) take dedicated kernels
# (csrc/cpu/conv2d_small.cpp): forward with stride 1, backward filter with any stride.
# Odd batches and sizes, 'same' with even kernels (extra row/column at the bottom/right),
# output channels around the SIMD widths (1, 5, 16, 17, 32, 33, 70).
SMALL_CASES = [
    ((1, 5, 5, 1), (2, 2, 16), 1, "same"),
    ((3, 7, 6, 1), (3, 3, 32), 1, "same"),
    ((2, 9, 4, 2), (3, 3, 5), 1, "valid"),
    ((3, 6, 7, 2), (2, 2, 17), 1, "same"),
    ((1, 8, 9, 3), (2, 2, 16), 1, "same"),
    ((3, 9, 7, 3), (3, 3, 33), 1, "same"),
    ((1, 5, 11, 3), (3, 2, 1), 1, "valid"),
    ((3, 7, 5, 4), (2, 3, 70), 1, "same"),
    ((1, 6, 6, 4), (3, 3, 32), 1, "valid"),
    ((5, 3, 3, 3), (3, 3, 8), 1, "same"),
    ((1, 2, 2, 1), (2, 2, 4), 1, "valid"),
    ((3, 9, 9, 3), (2, 2, 16), 2, "same"),
    ((1, 11, 8, 1), (3, 3, 32), (2, 1), "same"),
    ((3, 10, 7, 4), (3, 2, 20), (1, 3), "valid"),
    ((1, 7, 7, 2), (5, 3, 6), 1, "same"),
    ((3, 33, 31, 3), (3, 3, 32), 1, "same"),
]
SMALL_IDS = [f"x{c[0]}-k{c[1]}-s{c[2]}-{c[3]}" for c in SMALL_CASES]


@pytest.mark.parametrize("case", SMALL_CASES, ids=SMALL_IDS)
@pytest.mark.parametrize("activation", ["linear", "relu", "tanh"])
def test_conv2d_forward_few_channels(device, case, activation):
    xs, (kh, kw, k), strides, padding = case
    seed = 800 + SMALL_CASES.index(case)
    rng = np.random.default_rng(seed)
    inputs = dict(x=randn(rng, *xs), w=randn(rng, kh, kw, xs[3], k), b=randn(rng, k))
    check_op("conv2d_forward", inputs, dict(strides=strides, padding=padding, activation=activation),
             device=device, seed=seed, reduction=kh * kw * xs[3])


@pytest.mark.parametrize("case", SMALL_CASES, ids=SMALL_IDS)
def test_conv2d_backward_filter_few_channels(device, case):
    xs, (kh, kw, k), strides, padding = case
    seed = 900 + SMALL_CASES.index(case)
    rng = np.random.default_rng(seed)
    x, w = randn(rng, *xs), randn(rng, kh, kw, xs[3], k)
    dy = randn(rng, *ref.conv2d_forward(x, w, None, strides, padding).shape)
    grad = Grad(lambda w: ref.conv2d_forward(x, w, None, strides, padding), dict(w=w), dy, ["w"])
    check_op("conv2d_backward_filter", dict(x=x, dy=dy), dict(w_shape=w.shape, strides=strides, padding=padding),
             device=device, seed=seed, reduction=int(np.prod(dy.shape[:3])), grad_of=grad)


@pytest.mark.parametrize("case", SMALL_CASES[:6], ids=SMALL_IDS[:6])
def test_conv2d_backward_data_few_channels(device, case):
    xs, (kh, kw, k), strides, padding = case
    seed = 1000 + SMALL_CASES.index(case)
    rng = np.random.default_rng(seed)
    x, w = randn(rng, *xs), randn(rng, kh, kw, xs[3], k)
    dy = randn(rng, *ref.conv2d_forward(x, w, None, strides, padding).shape)
    grad = Grad(lambda x: ref.conv2d_forward(x, w, None, strides, padding), dict(x=x), dy, ["x"])
    check_op("conv2d_backward_data", dict(dy=dy, w=w), dict(x_shape=xs, strides=strides, padding=padding),
             device=device, seed=seed, reduction=kh * kw * k, grad_of=grad)


@pytest.mark.parametrize("shape", [((64, 28, 28, 1), (3, 3, 32)), ((40, 32, 32, 3), (2, 2, 16)),
                                   ((33, 32, 32, 3), (3, 3, 32))])
def test_conv2d_few_channels_thread_count_independent(shape):
    # the few-channel backward filter adds fixed blocks in a fixed order: the same bits at
    # any thread count (and the forward has no cross-thread reduction at all)
    import cudnn_lite
    from cudnn_lite import ops
    (n, h, wd, c), (kh, kw, k) = shape
    rng = np.random.default_rng(3)
    x = rng.standard_normal((n, h, wd, c)).astype(np.float32)
    w = rng.standard_normal((kh, kw, c, k)).astype(np.float32)
    dy = rng.standard_normal((n, h, wd, k)).astype(np.float32)
    before = cudnn_lite.get_num_threads()
    results = []
    try:
        for threads in (1, 2, 3):
            cudnn_lite.set_num_threads(threads)
            results.append((ops.conv2d_forward(x, w, padding="same", activation="relu"),
                            ops.conv2d_backward_filter(x, dy, w.shape, padding="same")))
    finally:
        cudnn_lite.set_num_threads(before)
    for y, dw in results[1:]:
        np.testing.assert_array_equal(y, results[0][0])
        np.testing.assert_array_equal(dw, results[0][1])


@pytest.mark.parametrize("shape", [((64, 16, 16, 32), (3, 3, 64)), ((32, 8, 8, 64), (3, 3, 128)),
                                   ((20, 9, 11, 24), (2, 2, 40)), ((48, 14, 14, 32), (3, 3, 64))])
def test_conv2d_thread_count_independent(shape):
    # the direct and im2col backward filters add partials of shape-fixed pixel blocks in
    # block order (any thread takes the next block): the same bits at any thread count
    import cudnn_lite
    from cudnn_lite import ops
    (n, h, wd, c), (kh, kw, k) = shape
    rng = np.random.default_rng(4)
    x = rng.standard_normal((n, h, wd, c)).astype(np.float32)
    w = rng.standard_normal((kh, kw, c, k)).astype(np.float32)
    dy = rng.standard_normal((n, h, wd, k)).astype(np.float32)
    before = cudnn_lite.get_num_threads()
    results = []
    try:
        for threads in (1, 2, 3):
            cudnn_lite.set_num_threads(threads)
            results.append((ops.conv2d_forward(x, w, padding="same", activation="relu"),
                            ops.conv2d_backward_filter(x, dy, w.shape, padding="same"),
                            ops.conv2d_backward_data(dy, w, x.shape, padding="same")))
    finally:
        cudnn_lite.set_num_threads(before)
    for got in results[1:]:
        for a, b in zip(got, results[0]):
            np.testing.assert_array_equal(a, b)
