"""CUDA-only checks of the kernel paths written without a GPU (skipped cleanly without one).

What the blind author asked to scrutinise on a GPU, each against the CPU path
(NumPy arrays through the C++ kernels) and cudnn_lite.reference (float64):
    conv2d with c/k in {3, 5, 6, 8, 64}, split-K backward-filter
    sgemm: transposes, odd sizes, offset (unaligned) pointers, beta != 0,
           split-K with small m*n and large k
    maxpool forward/backward on ties and NaN: bit-identical to the CPU
    batchnorm: small c with many rows (and the reverse)
    dropout: odd offsets, n % 4 != 0: bit-identical to the CPU
    softmax: cols > 1024, rows holding NaN / -inf / +inf
Every GPU output is allocated poisoned (NaN) with guard cells around it: every
element must be written (no NaN left where the CPU has none) and no guard cell
touched; every GPU op runs twice and must give bit-identical results (a
difference is a race). Most tests run twice: 'fast' (the default kernels) and
'simple' (CUDNN_LITE_CUDA_SIMPLE=1, the *_kernel1 reference kernels; the
library reads the variable at every call). Tests whose name contains 'small'
are the compute-sanitizer subset (benchmarks/device_check.sh).

Tolerances: helpers.f32_rtol(reduction) against the reference and against the
CPU path (both float32 kernels summing in different orders); bit-identity where
the contract promises it (dropout masks, maxpool selections, run-to-run).
CUDNN_LITE_TEST_NO_CUPY_POOL=1 turns CuPy's memory pool off (each array its own
cudaMalloc) so compute-sanitizer memcheck sees out-of-bounds accesses.

``cp`` (tests/conftest.py) is the device's array module: CuPy on a GPU, cudnn_lite.emulator
in the emulated build (CUDNN_LITE_CUDA=EMULATE), where these tests run on the host SIMT
emulator without a GPU. What only real hardware can show (two GPUs, streams that overlap)
is skipped there, saying so.

The op setups (data, poisoned outputs, the comparisons) are the op table's CUDA-path cases:
the `cuda_*_case` functions and `CUDA_*` lists of tests/opinfo/<family>.py, with the machinery
in tests/opinfo/gpu.py; this file parametrises them and holds the layer-API and stream checks.
"""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from helpers import REPO_ROOT_FOR_TESTS, assert_close, f32_rtol, ops, package, randn
from opinfo.activation import CUDA_ACTS, CUDA_SOFTMAX_COLS, cuda_activation_case, cuda_softmax_case
from opinfo.batchnorm import CUDA_BN_CASES, cuda_batchnorm_case
from opinfo.conv import CUDA_CONV_CHANNELS, CUDA_CONV_GEOMETRIES, CUDA_SPLITK_CONV, cuda_conv_case
from opinfo.dropout import CUDA_DROPOUT_N, CUDA_DROPOUT_OFFSETS, cuda_dropout_case
from opinfo.gpu import assert_bitwise, dev
from opinfo.loss import CUDA_LOSS_SIZES, cuda_loss_case
from opinfo.matmul import (CUDA_DENSE_EPILOGUES, CUDA_SGEMM_SIZES, CUDA_TRANS, cuda_bias_backward_case,
                           cuda_dense_forward_case, cuda_sgemm_case)
from opinfo.optimizer import CUDA_OPTIMIZERS, cuda_optimizer_case
from opinfo.pool import CUDA_POOL_CASES, cuda_avgpool_case, cuda_maxpool_case


# ---------------------------------------------------------------- fixtures

@pytest.fixture(params=["fast", "simple"])
def path(request, monkeypatch, cp):
    """'fast' (default kernels) or 'simple' (CUDNN_LITE_CUDA_SIMPLE=1, read per call)."""
    if request.param == "simple":
        monkeypatch.setenv("CUDNN_LITE_CUDA_SIMPLE", "1")
    else:
        monkeypatch.delenv("CUDNN_LITE_CUDA_SIMPLE", raising=False)
    return request.param


# ------------------------------------------------------------ convolution

@pytest.mark.parametrize("geom", CUDA_CONV_GEOMETRIES, ids=[g[0] for g in CUDA_CONV_GEOMETRIES])
@pytest.mark.parametrize("k", CUDA_CONV_CHANNELS, ids=[f"k{k}" for k in CUDA_CONV_CHANNELS])
@pytest.mark.parametrize("c", CUDA_CONV_CHANNELS, ids=[f"c{c}" for c in CUDA_CONV_CHANNELS])
def test_conv_channels(cp, path, c, k, geom):
    _, n, h, w, kernel, stride, padding = geom
    act = "relu" if (c + k) % 2 else "linear"
    cuda_conv_case(cp, n, h, w, c, kernel, k, stride, padding, act, seed=10 * c + k)


@pytest.mark.parametrize("case", CUDA_SPLITK_CONV, ids=[s[0] for s in CUDA_SPLITK_CONV])
def test_conv_splitk_backward_filter(cp, path, case):
    _, n, h, w, c, kernel, k, stride, padding = case
    cuda_conv_case(cp, n, h, w, c, kernel, k, stride, padding, "relu", seed=n + h + c + k)


@pytest.mark.parametrize("offsets", [(1, 0), (0, 3), (2, 1)], ids=["x+1", "out+3", "x+2-out+1"])
def test_conv_unaligned_pointers(cp, path, offsets):
    cuda_conv_case(cp, 2, 8, 8, 8, 3, 8, 1, "same", "relu", seed=77, x_off=offsets[0], out_off=offsets[1])


def test_small_conv(cp, path):
    for c, k in ((3, 5), (8, 8), (6, 64)):
        cuda_conv_case(cp, 1, 5, 5, c, 3, k, 1, "same", "relu", seed=c * k)
    cuda_conv_case(cp, 2, 5, 4, 5, 2, 6, 2, "same", "linear", seed=5)


def test_small_conv_splitk_backward_filter(cp, path):
    # P = 2*24*24 = 1152 >= 512 with one 128x128 output tile: split-K on any GPU
    cuda_conv_case(cp, 2, 24, 24, 4, 3, 8, 1, "same", "linear", seed=11)


# ----------------------------------------------------------------- sgemm

@pytest.mark.parametrize("offsets", [(0, 0, 0), (1, 2, 3)], ids=["aligned", "offset"])
@pytest.mark.parametrize("alpha,beta", [(1.0, 0.0), (-1.5, 0.75)], ids=["beta0", "beta.75"])
@pytest.mark.parametrize("ta,tb", CUDA_TRANS, ids=["NN", "NT", "TN", "TT"])
@pytest.mark.parametrize("size", CUDA_SGEMM_SIZES, ids=[f"{m}x{n}x{k}" for m, n, k in CUDA_SGEMM_SIZES])
def test_sgemm(cp, path, size, ta, tb, alpha, beta, offsets):
    m, n, k = size
    cuda_sgemm_case(cp, m, n, k, ta, tb, alpha, beta, offsets, seed=m * 7 + n * 3 + k)


def test_small_sgemm(cp, path):
    for (m, n, k) in ((33, 34, 35), (8, 8, 1024), (5, 70, 600)):   # (8, 8, 1024) is split-K
        for ta, tb in CUDA_TRANS:
            cuda_sgemm_case(cp, m, n, k, ta, tb, -1.5, 0.75, (1, 2, 3), seed=m + n + k)
            cuda_sgemm_case(cp, m, n, k, ta, tb, 1.0, 0.0, (0, 0, 0), seed=m + n + k + 1)


@pytest.mark.parametrize("rows,fan_in,fan_out,act", CUDA_DENSE_EPILOGUES)
def test_dense_forward_epilogue(cp, path, rows, fan_in, fan_out, act):
    cuda_dense_forward_case(cp, rows, fan_in, fan_out, act)


# ---------------------------------------------------------------- pooling

POOL_IDS = [f"x{c[0]}-p{c[1]}-s{c[2]}-{c[3]}" for c in CUDA_POOL_CASES]


@pytest.mark.parametrize("kind", ["ties", "all_equal", "nan", "nan_inf"])
@pytest.mark.parametrize("case", CUDA_POOL_CASES, ids=POOL_IDS)
def test_maxpool_bit_identical(cp, case, kind):
    cuda_maxpool_case(cp, *case, kind, seed=sum(case[0]) + len(kind))


def test_small_pool(cp):
    for kind in ("ties", "nan_inf"):
        cuda_maxpool_case(cp, (1, 5, 5, 3), 3, 2, "same", kind, seed=3)
        cuda_maxpool_case(cp, (2, 4, 4, 2), 2, 1, "valid", kind, seed=4)


@pytest.mark.parametrize("case", CUDA_POOL_CASES, ids=POOL_IDS)
def test_avgpool_and_global(cp, case):
    cuda_avgpool_case(cp, case)


# ------------------------------------------------------------- batch norm

@pytest.mark.parametrize("offset", [0.0, 100.0], ids=["centered", "mean100"])
@pytest.mark.parametrize("rows,c", CUDA_BN_CASES, ids=[f"rows{r}-c{c}" for r, c in CUDA_BN_CASES])
def test_batchnorm(cp, rows, c, offset):
    cuda_batchnorm_case(cp, rows, c, offset, seed=rows + c)


def test_small_batchnorm(cp):
    cuda_batchnorm_case(cp, 1031, 3, 0.0, seed=1)
    cuda_batchnorm_case(cp, 5, 70, 100.0, seed=2)


# --------------------------------------------------------------- dropout

@pytest.mark.parametrize("offset", CUDA_DROPOUT_OFFSETS)
@pytest.mark.parametrize("n", CUDA_DROPOUT_N)
def test_dropout_bit_identical(cp, path, n, offset):
    for rate in (0.3, 0.5):
        cuda_dropout_case(cp, n, offset, rate, seed=12345, x_off=offset % 4)


@pytest.mark.parametrize("rate", [0.0, 0.1, 0.9])
def test_dropout_rates(cp, path, rate):
    cuda_dropout_case(cp, 4099, 3, rate, seed=2**63 + 5)


def test_small_dropout(cp, path):
    for n, offset in ((5, 3), (13, 2**32 - 1), (1001, 6)):
        cuda_dropout_case(cp, n, offset, 0.3, seed=7, x_off=1)


# --------------------------------------------------------------- softmax

@pytest.mark.parametrize("cols", CUDA_SOFTMAX_COLS)
def test_softmax_wide_and_special_rows(cp, path, cols):
    cuda_softmax_case(cp, cols, seed=cols)


def test_small_softmax(cp, path):
    for cols in (3, 33, 1500):
        cuda_softmax_case(cp, cols, seed=cols)


@pytest.mark.parametrize("rows,cols", CUDA_LOSS_SIZES)
@pytest.mark.parametrize("loss", ["categorical_crossentropy", "binary_crossentropy", "mse", "mae"])
def test_losses(cp, rows, cols, loss):
    cuda_loss_case(cp, rows, cols, loss)


# ------------------------------------------------- elementwise, bias, optimizer

@pytest.mark.parametrize("off", [0, 1, 2, 3])
@pytest.mark.parametrize("n", [1, 3, 4, 5, 1001, 65539])
@pytest.mark.parametrize("act", CUDA_ACTS)
def test_activations_odd_sizes_offsets(cp, path, act, n, off):
    cuda_activation_case(cp, act, n, off, seed=n + off)


@pytest.mark.parametrize("rows,cols", [(1, 1), (3, 7), (100003, 3), (128 * 28 * 28, 32), (5, 4099)])
def test_bias_backward(cp, path, rows, cols):
    cuda_bias_backward_case(cp, rows, cols)


@pytest.mark.parametrize("n", [1, 5, 1001, 65539])
@pytest.mark.parametrize("kind,hyper", CUDA_OPTIMIZERS, ids=[f"{k}-{i}" for i, (k, _) in enumerate(CUDA_OPTIMIZERS)])
def test_optimizer_update(cp, kind, hyper, n):
    cuda_optimizer_case(cp, kind, hyper, n, seed=n)


def test_small_misc(cp, path):
    for act in ("relu", "sigmoid"):
        cuda_activation_case(cp, act, 13, 1, seed=1)
    cuda_optimizer_case(cp, "adam", dict(c1=0.0031), 13, seed=2)
    cuda_bias_backward_case(cp, 37, 5)


# --------------------------------------------- fast kernels vs the simple ones

def _both_paths(monkeypatch, fn):
    monkeypatch.delenv("CUDNN_LITE_CUDA_SIMPLE", raising=False)
    fast = fn()
    monkeypatch.setenv("CUDNN_LITE_CUDA_SIMPLE", "1")
    simple = fn()
    monkeypatch.delenv("CUDNN_LITE_CUDA_SIMPLE", raising=False)
    return fast, simple


def test_fast_matches_simple(cp, monkeypatch):
    rng = np.random.default_rng(0)
    x, w = dev(cp, randn(rng, 8, 14, 14, 32)), dev(cp, randn(rng, 3, 3, 32, 64, scale=0.2))
    dy = dev(cp, randn(rng, 8, 14, 14, 64))
    a, b = dev(cp, randn(rng, 300, 257), 1), dev(cp, randn(rng, 300, 129), 2)
    s = dev(cp, randn(rng, 9, 2000))
    d = dev(cp, randn(rng, 1001), 3)
    cases = {
        "conv2d_forward": (lambda: ops.conv2d_forward(x, w, padding="same", activation="relu"), 288, False),
        "conv2d_backward_data": (lambda: ops.conv2d_backward_data(dy, w, x.shape, padding="same"), 576, False),
        "conv2d_backward_filter": (lambda: ops.conv2d_backward_filter(x, dy, w.shape, padding="same"), 1568, False),
        "sgemm TN": (lambda: ops.sgemm(a, b, trans_a=True), 300, False),
        "softmax": (lambda: ops.softmax_forward(s), 2000, False),
        "dropout": (lambda: ops.dropout_forward(d, 0.3, 99, 3), 1, True),
        "relu": (lambda: ops.activation_forward(d, "relu"), 1, True),
    }
    for name, (fn, reduction, exact) in cases.items():
        fast, simple = _both_paths(monkeypatch, lambda: cp.asnumpy(fn()))
        if exact:
            assert_bitwise(fast, simple, f"{name}: fast vs simple kernel")
        else:
            assert_close(fast, simple, f32_rtol(reduction), f"{name}: fast vs simple kernel")


# ------------------------------------------------------- the layer API on the GPU

def _train(device, make, x, y, epochs, seed=3):
    from cudnn_lite import backend
    previous = backend._device
    try:
        backend.set_device(device)
        backend.set_random_seed(seed)
        model = make()
        hist = model.fit(x, y, batch_size=16, epochs=epochs, verbose=0, shuffle=True)
        return model, hist.history
    finally:
        backend._device = previous


def _cnn():
    from cudnn_lite.layers import Conv2D, Dense, Dropout, Flatten, MaxPooling2D
    from cudnn_lite.models import Sequential
    m = Sequential([Conv2D(6, 3, padding="same", activation="relu", input_shape=(10, 10, 3)),
                    MaxPooling2D(2), Flatten(), Dropout(0.3), Dense(5, activation="softmax")])
    m.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return m


def _bn_cnn():
    from cudnn_lite.layers import Activation, BatchNormalization, Conv2D, Dense, Flatten
    from cudnn_lite.models import Sequential
    from cudnn_lite.regularizers import l2
    m = Sequential([Conv2D(8, 3, padding="same", kernel_regularizer=l2(1e-4), input_shape=(8, 8, 2)),
                    Activation("relu"), BatchNormalization(), Flatten(), Dense(3, activation="softmax")])
    m.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])
    return m


@pytest.mark.parametrize("make,shape,classes", [(_cnn, (10, 10, 3), 5), (_bn_cnn, (8, 8, 2), 3)],
                         ids=["conv-pool-dropout-dense", "conv-bn-l2-dense"])
def test_layer_api_cuda_matches_cpu(cp, make, shape, classes):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((64,) + shape).astype(np.float32)
    y = np.eye(classes, dtype=np.float32)[rng.integers(0, classes, 64)]
    m_cpu, h_cpu = _train("cpu", make, x, y, epochs=3)
    m_gpu, h_gpu = _train("cuda", make, x, y, epochs=3)
    assert m_gpu.device == "cuda"
    for w in m_gpu.weights:
        assert isinstance(w.value, cp.ndarray), f"weight {w.name} left the GPU: {type(w.value)}"
        if w.grad is not None:
            assert isinstance(w.grad, cp.ndarray), f"grad of {w.name} is {type(w.grad)}"
    for pair in m_gpu.optimizer._slots:
        for s in pair:
            assert s is None or isinstance(s, cp.ndarray), f"optimizer slot on {type(s)}"
    # float32 sums in another order: tiny per-op differences, amplified a little by Adam/RMSprop
    # (g / sqrt(v) ~ sign(g) early on), so relative-norm checks instead of elementwise ones
    np.testing.assert_allclose(h_gpu["loss"], h_cpu["loss"], rtol=1e-3, err_msg="loss trajectory cuda vs cpu")
    np.testing.assert_allclose(h_gpu["accuracy"], h_cpu["accuracy"], atol=2.5 / 64)
    for w, wc, wg in zip(m_gpu.weights, m_cpu.get_weights(), m_gpu.get_weights()):
        rel = np.linalg.norm(wg - wc) / max(np.linalg.norm(wc), 1e-12)
        assert rel < 1e-3, f"weight {w.name}: |gpu - cpu| / |cpu| = {rel:.3g} after 3 epochs"
    np.testing.assert_allclose(m_gpu.predict(x[:20]), m_cpu.predict(x[:20]), rtol=1e-2, atol=1e-4)
    np.testing.assert_allclose(m_gpu.evaluate(x, y, verbose=0), m_cpu.evaluate(x, y, verbose=0), rtol=1e-3,
                               atol=2.5 / 64)


def test_small_layer_step(cp):
    """One train_on_batch of a tiny CNN on the GPU (the sanitizer's view of a whole step)."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 10, 10, 3)).astype(np.float32)
    y = np.eye(5, dtype=np.float32)[[0, 1, 2, 3]]
    from cudnn_lite import backend
    previous = backend._device
    try:
        backend.set_device("cuda")
        backend.set_random_seed(0)
        m = _cnn()
        losses = [m.train_on_batch(x, y)[0] for _ in range(2)]
    finally:
        backend._device = previous
    assert all(np.isfinite(losses))


# ------------------------------------------- the benchmark script (no GPU needed)

def test_bench_cuda_dry_run(tmp_path):
    script = REPO_ROOT_FOR_TESTS / "benchmarks" / "bench_cuda.py"
    proc = subprocess.run([sys.executable, str(script), "--dry-run", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "cases:" in proc.stdout and "conv2d_forward" in proc.stdout
    assert (tmp_path / "bench_cuda_plan.json").exists()


# ------------------------------------------------- devices and streams of device arrays

def test_array_on_another_stream_is_waited_for(cp):
    """An input produced on a busy non-blocking stream, used on another stream: the op's
    stream waits for the producer (__cuda_array_interface__ v3 'stream'), so the result is
    that of the finished input, not of a half-written one."""
    if package.cuda_emulated:
        pytest.skip("needs a real GPU: the emulator finishes every launch before returning, so no "
                    "producer stream is ever still busy and the wait cannot be observed")
    rng = np.random.default_rng(11)
    host = rng.standard_normal((4096, 257)).astype(np.float32)
    producer, consumer = cp.cuda.Stream(non_blocking=True), cp.cuda.Stream(non_blocking=True)
    with producer:
        x = cp.asarray(host)
        for _ in range(20):              # keep the producer busy
            x = x * 1.0001
        x_on_producer = x                # its __cuda_array_interface__ names the producer
        cai = x_on_producer.__cuda_array_interface__
    expected = host.astype(np.float64) * 1.0001 ** 20
    with consumer:
        y = cp.empty_like(x_on_producer)
        # the interface is read inside the op call under the consumer stream; hand it the
        # producer's dict explicitly, as a foreign library (e.g. PyTorch) would
        class Foreign:
            __cuda_array_interface__ = cai
        package._C.activation_forward(Foreign(), y, ops.ACTIVATIONS["relu"], 0.0)
        consumer.synchronize()
    assert_close(cp.asnumpy(y), np.maximum(expected, 0), 1e-5, "relu of an array on another stream")


def test_array_on_another_gpu_is_refused(cp):
    if cp.cuda.runtime.getDeviceCount() < 2:
        pytest.skip("needs two GPUs (real hardware; the emulated build has one device)")
    with cp.cuda.Device(1):
        x = cp.ones((3, 4), dtype=cp.float32)
    with cp.cuda.Device(0):
        with pytest.raises(ValueError, match=r"x: lives on GPU 1, but the current CUDA device is GPU 0"):
            ops.activation_forward(x, "relu")
