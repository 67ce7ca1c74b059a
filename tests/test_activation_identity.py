"""One activation function everywhere, bit for bit (csrc/common/activation_math.h).

* fused vs separate: a producer op with a fused activation (dense_forward, conv2d_forward)
  gives exactly the bits of the same op with activation='linear' followed by
  activation_forward, on every device and on every kernel path of the producer (the CPU's
  narrow-C GEMM, blocked GEMM, direct, small-channel and implicit-GEMM convolutions; the
  CUDA tiles, split-K and the simple *_kernel1 kernels);
* CPU vs CUDA: activation_forward and activation_backward give the same bits on the 'cuda'
  device as on the CPU for the same input (NaN where the CPU has NaN: a GPU may return
  another NaN payload), over a sweep of values with the special ones (+-0, the tanh branch
  point 0.625, the exp clamp at 104, subnormals, +-inf, NaN);
* the layer API: Dense(activation=a) predicts the bits of Dense followed by Activation(a).
Accuracy against the float64 reference is tested in test_ops_activation.py.
"""
from __future__ import annotations

import numpy as np
import pytest

from helpers import ops, to_device, to_host

ACTS = ["linear", "relu", "sigmoid", "tanh", "leaky_relu", "step"]


def _bits(a):
    return np.ascontiguousarray(to_host(a), dtype=np.float32).view(np.uint32)


def assert_same_bits(got, want, what, nan_payload=True):
    """Every element has the same bits (with nan_payload=False: any NaN matches any NaN)."""
    got, want = np.asarray(to_host(got), np.float32), np.asarray(to_host(want), np.float32)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    diff = _bits(got) != _bits(want)
    if not nan_payload:
        diff &= ~(np.isnan(got) & np.isnan(want))
    if diff.any():
        i = int(np.flatnonzero(diff.ravel())[0])
        raise AssertionError(f"{what}: {int(diff.sum())}/{diff.size} elements differ; first at flat index "
                             f"{i}: {got.ravel()[i]!r} vs {want.ravel()[i]!r}")


@pytest.fixture(params=["cpu", "cuda", "cuda-simple"])
def where(request, monkeypatch):
    """The device, and on 'cuda' the default kernels or the simple *_kernel1 ones
    (CUDNN_LITE_CUDA_SIMPLE=1, read at every call). Skips 'cuda' where it is not usable."""
    if request.param == "cpu":
        return "cpu"
    request.getfixturevalue("cp")  # skips without a usable CUDA device
    if request.param == "cuda-simple":
        monkeypatch.setenv("CUDNN_LITE_CUDA_SIMPLE", "1")
    else:
        monkeypatch.delenv("CUDNN_LITE_CUDA_SIMPLE", raising=False)
    return "cuda"


def _data(seed, *shape, scale=1.0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(np.float32)


# --------------------------------------------------------- fused vs separate

DENSE_SHAPES = {  # (rows, in, out): which CPU GEMM path runs the epilogue
    "narrow": (37, 50, 10),          # out <= 16: gemm_small.h's narrow-C tiles
    "blocked": (70, 300, 129),       # gemm_driver.h's blocked GEMM, edge tiles included
    "threads": (256, 64, 512),       # big enough to split across threads
    "splitk": (4, 2048, 8),          # CUDA: small output, long k: split-K
    "k0": (5, 0, 20),                # in == 0: the epilogue of zeros (bias only)
}


@pytest.mark.parametrize("with_bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("shape", sorted(DENSE_SHAPES))
@pytest.mark.parametrize("act", ACTS)
def test_dense_fused_activation_is_bit_identical(where, act, shape, with_bias):
    device = where
    rows, fan_in, fan_out = DENSE_SHAPES[shape]
    seed = ACTS.index(act) * 10 + sorted(DENSE_SHAPES).index(shape)
    x = to_device(_data(seed, rows, fan_in), device)
    w = to_device(_data(seed + 1, fan_in, fan_out, scale=3.0 / np.sqrt(max(fan_in, 1))), device)
    b = to_device(_data(seed + 2, fan_out), device) if with_bias else None
    fused = ops.dense_forward(x, w, b, activation=act, alpha=0.1)
    separate = ops.activation_forward(ops.dense_forward(x, w, b), act, alpha=0.1)
    assert_same_bits(fused, separate, f"dense_forward[{device}] {shape} {act} fused vs separate")


CONV_CASES = {  # x shape, kernel (kh, kw, c, k), strides, padding: which CPU kernel runs
    "direct": ((2, 9, 8, 6), (3, 3, 6, 20), 1, "same"),
    "direct-strided": ((2, 11, 10, 8), (2, 2, 8, 5), 2, "valid"),
    "small": ((3, 12, 11, 3), (3, 3, 3, 16), 1, "same"),     # c <= 4, kw 2 or 3: conv2d_small.cpp
    "pointwise-narrow": ((2, 7, 7, 12), (1, 1, 12, 9), 1, "valid"),   # 1x1: a GEMM, narrow C
    "pointwise": ((2, 7, 7, 12), (1, 1, 12, 40), 1, "valid"),
    "implicit-gemm": ((1, 6, 5, 2), (3, 3, 2, 7), (64, 64), (2048, 2048, 2048, 2048)),  # padding too big to copy
}


@pytest.mark.parametrize("with_bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("case", sorted(CONV_CASES))
@pytest.mark.parametrize("act", ACTS)
def test_conv2d_fused_activation_is_bit_identical(where, act, case, with_bias):
    device = where
    x_shape, w_shape, strides, padding = CONV_CASES[case]
    seed = 100 + ACTS.index(act) * 10 + sorted(CONV_CASES).index(case)
    fan_in = w_shape[0] * w_shape[1] * w_shape[2]
    x = to_device(_data(seed, *x_shape), device)
    w = to_device(_data(seed + 1, *w_shape, scale=3.0 / np.sqrt(fan_in)), device)
    b = to_device(_data(seed + 2, w_shape[3]), device) if with_bias else None
    fused = ops.conv2d_forward(x, w, b, strides, padding, activation=act, alpha=0.1)
    separate = ops.activation_forward(ops.conv2d_forward(x, w, b, strides, padding), act, alpha=0.1)
    assert_same_bits(fused, separate, f"conv2d_forward[{device}] {case} {act} fused vs separate")


# ---------------------------------------------------------------- CPU vs CUDA

def _sweep():
    rng = np.random.default_rng(7)
    special = np.array([0.0, -0.0, 0.625, -0.625, np.nextafter(np.float32(0.625), np.float32(0)),
                        np.nextafter(np.float32(0.625), np.float32(1)), 1e-30, -1e-30, 1e-40, -1e-40,
                        88.7, -88.7, 103.9, -103.9, 104.0, -104.0, 200.0, -200.0, 1e30, -1e30,
                        np.inf, -np.inf, np.nan], np.float32)
    return np.concatenate([special, rng.uniform(-20, 20, 20000).astype(np.float32),
                           rng.uniform(-1, 1, 5000).astype(np.float32),
                           (rng.standard_normal(5000) * 1e-3).astype(np.float32),
                           rng.uniform(-120, 120, 2000).astype(np.float32)])


@pytest.mark.parametrize("simple", [False, True], ids=["fast", "simple"])
@pytest.mark.parametrize("act", ACTS)
def test_cuda_activation_is_bit_identical_to_cpu(cp, monkeypatch, act, simple):
    if simple:
        monkeypatch.setenv("CUDNN_LITE_CUDA_SIMPLE", "1")
    x = _sweep()
    dy = _data(8, x.size)
    dy[:4] = [np.nan, np.inf, -0.0, 0.0]
    y = ops.activation_forward(x, act, alpha=0.1)
    dx = ops.activation_backward(x, y, dy, act, alpha=0.1)
    gy = ops.activation_forward(cp.asarray(x), act, alpha=0.1)
    gdx = ops.activation_backward(cp.asarray(x), cp.asarray(y), cp.asarray(dy), act, alpha=0.1)
    assert_same_bits(gy, y, f"activation_forward {act} cuda vs cpu", nan_payload=False)
    assert_same_bits(gdx, dx, f"activation_backward {act} cuda vs cpu", nan_payload=False)
    # the odd tails and unaligned starts take the scalar kernels
    gy1 = ops.activation_forward(cp.asarray(x[1:]), act, alpha=0.1)
    assert_same_bits(gy1, y[1:], f"activation_forward {act} cuda (unaligned) vs cpu", nan_payload=False)


# ------------------------------------------------------------------ layer API

@pytest.mark.parametrize("act", ACTS)
def test_dense_layer_fused_activation_matches_activation_layer(act):
    from cudnn_lite.layers import Activation, Dense
    from cudnn_lite.models import Sequential
    x = _data(11, 64, 32)
    fused = Sequential([Dense(128, activation=act, input_shape=(32,))])
    separate = Sequential([Dense(128, input_shape=(32,)), Activation(act)])
    weights = [_data(12, 32, 128, scale=0.6), _data(13, 128)]
    fused.set_weights(weights)
    separate.set_weights(weights)
    assert_same_bits(fused.predict(x), separate.predict(x), f"Dense(activation={act!r}) vs Dense + Activation")
