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
"""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from helpers import REPO_ROOT_FOR_TESTS, assert_close, f32_rtol, ops, package, quantised, randn, ref

GUARD = 8               # guard cells after every poisoned output
GUARD_VALUE = 7.25      # what the guard cells hold (and must still hold afterwards)


# ---------------------------------------------------------------- fixtures

@pytest.fixture(params=["fast", "simple"])
def path(request, monkeypatch, cp):
    """'fast' (default kernels) or 'simple' (CUDNN_LITE_CUDA_SIMPLE=1, read per call)."""
    if request.param == "simple":
        monkeypatch.setenv("CUDNN_LITE_CUDA_SIMPLE", "1")
    else:
        monkeypatch.delenv("CUDNN_LITE_CUDA_SIMPLE", raising=False)
    return request.param


# ---------------------------------------------------------------- helpers

def f32(a):
    return np.ascontiguousarray(a, dtype=np.float32)


def dev(cp, a, offset=0):
    """a (NumPy) copied to the GPU, starting `offset` floats into a NaN-guarded allocation
    (offset 1..3: a pointer that is not 16-byte aligned)."""
    a = f32(a)
    if offset == 0:
        return cp.asarray(a)
    base = cp.full(offset + a.size + GUARD, np.nan, dtype=cp.float32)
    view = base[offset:offset + a.size].reshape(a.shape)
    view[...] = cp.asarray(a)
    return view


class Out:
    """A poisoned GPU output: NaN inside (or `init`), GUARD_VALUE in the guard cells around it."""

    def __init__(self, cp, shape, offset=0, init=None):
        self.cp, self.shape, self.offset = cp, tuple(int(s) for s in shape), offset
        self.size = int(np.prod(self.shape, dtype=np.int64))
        self.base = cp.full(offset + self.size + GUARD, GUARD_VALUE, dtype=cp.float32)
        self.view = self.base[offset:offset + self.size].reshape(self.shape)
        if init is None:
            self.view.fill(np.nan)
        else:
            self.view[...] = cp.asarray(f32(init))

    def host(self, what):
        base = self.cp.asnumpy(self.base)
        guards = np.concatenate([base[:self.offset], base[self.offset + self.size:]])
        assert (guards == np.float32(GUARD_VALUE)).all(), f"{what}: wrote outside its output array"
        return base[self.offset:self.offset + self.size].reshape(self.shape)


def bits(a):
    return np.ascontiguousarray(a, dtype=np.float32).view(np.uint32)


def assert_bitwise(got, want, what):
    got, want = f32(got), f32(want)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    diff = bits(got) != bits(want)
    if diff.any():
        i = np.unravel_index(int(np.argmax(diff)), got.shape)
        raise AssertionError(f"{what}: {int(diff.sum())}/{got.size} elements differ bitwise; first at {i}: "
                             f"got {got[i]!r}, want {want[i]!r}")


def assert_written(got, want_cpu, what):
    """NaN only where the CPU result has NaN (a NaN left elsewhere is an element never written)."""
    extra = np.isnan(got) & ~np.isnan(want_cpu)
    assert not extra.any(), f"{what}: {int(extra.sum())}/{got.size} elements left unwritten (poison NaN)"


def gpu_twice(run, what):
    """run() -> tuple of host arrays from freshly poisoned outputs; runs it twice, demands
    bit-identical results (a difference is a race), returns the first."""
    first = run()
    second = run()
    for i, (a, b) in enumerate(zip(first, second)):
        assert_bitwise(a, b, f"{what} output {i}: second run differs from the first (race?)")
    return first


def compare(got, cpu, want, rtol, what):
    """GPU result against the CPU path and the float64 reference (None to skip it)."""
    assert_written(got, cpu, what)
    assert_close(got, cpu, rtol, f"{what} vs CPU")
    if want is not None:
        assert_close(got, want, rtol, f"{what} vs reference")


# ------------------------------------------------------------ convolution

CONV_CHANNELS = [3, 5, 6, 8, 64]
# (name, n, h, w, kernel, stride, padding)
CONV_GEOMETRIES = [
    ("3x3-s1-same", 2, 7, 7, 3, 1, "same"),
    ("2x2-s1-same", 2, 6, 6, 2, 1, "same"),      # Keras puts the extra pad row/col at the bottom/right
    ("3x3-s2-valid", 2, 9, 8, 3, 2, "valid"),
]


def _conv_case(cp, n, h, w, c, kernel, k, stride, padding, act, seed, x_off=0, out_off=0):
    """conv2d forward / backward-data / backward-filter on the GPU vs CPU vs reference."""
    rng = np.random.default_rng(seed)
    x = randn(rng, n, h, w, c)
    wt = randn(rng, kernel, kernel, c, k, scale=0.5)
    b = randn(rng, k)
    y_shape = ref.conv_output_shape(x.shape, k, kernel, stride, padding)
    dy = randn(rng, *y_shape)
    what = f"conv x{x.shape} w{wt.shape} s{stride} {padding} {act}"
    kw = dict(strides=stride, padding=padding)

    gx, gw, gb, gdy = dev(cp, x, x_off), dev(cp, wt), dev(cp, b), dev(cp, dy, x_off)

    def run():
        y, dx, dw = Out(cp, y_shape, out_off), Out(cp, x.shape, out_off), Out(cp, wt.shape, out_off)
        ops.conv2d_forward(gx, gw, gb, activation=act, out=y.view, **kw)
        ops.conv2d_backward_data(gdy, gw, x.shape, out=dx.view, **kw)
        ops.conv2d_backward_filter(gx, gdy, wt.shape, out=dw.view, **kw)
        return y.host(what + " forward"), dx.host(what + " backward_data"), dw.host(what + " backward_filter")

    y, dx, dw = gpu_twice(run, what)
    cpu_y = ops.conv2d_forward(f32(x), f32(wt), f32(b), activation=act, **kw)
    cpu_dx = ops.conv2d_backward_data(f32(dy), f32(wt), x.shape, **kw)
    cpu_dw = ops.conv2d_backward_filter(f32(x), f32(dy), wt.shape, **kw)
    compare(y, cpu_y, ref.conv2d_forward(x, wt, b, activation=act, **kw),
            f32_rtol(kernel * kernel * c), what + " forward")
    compare(dx, cpu_dx, ref.conv2d_backward_data(dy, wt, x.shape, **kw),
            f32_rtol(kernel * kernel * k), what + " backward_data")
    compare(dw, cpu_dw, ref.conv2d_backward_filter(x, dy, wt.shape, **kw),
            f32_rtol(int(np.prod(y_shape[:3]))), what + " backward_filter")


@pytest.mark.parametrize("geom", CONV_GEOMETRIES, ids=[g[0] for g in CONV_GEOMETRIES])
@pytest.mark.parametrize("k", CONV_CHANNELS, ids=[f"k{k}" for k in CONV_CHANNELS])
@pytest.mark.parametrize("c", CONV_CHANNELS, ids=[f"c{c}" for c in CONV_CHANNELS])
def test_conv_channels(cp, path, c, k, geom):
    _, n, h, w, kernel, stride, padding = geom
    act = "relu" if (c + k) % 2 else "linear"
    _conv_case(cp, n, h, w, c, kernel, k, stride, padding, act, seed=10 * c + k)


# split-K backward-filter: P = n*oh*ow is the reduction; few output tiles + P >= 512 splits it
SPLITK_CONV = [
    ("mnist_cnn-conv2-b32", 32, 14, 14, 32, 3, 64, 1, "same"),
    ("cifar10_improved-conv6-b32", 32, 8, 8, 128, 3, 128, 1, "same"),
    ("odd-P-tail", 3, 19, 19, 8, 3, 5, 1, "valid"),      # P = 867: last split shorter
    ("c3-2x2-same", 4, 33, 33, 3, 2, 16, 1, "same"),      # cifar10_cnn conv1-like, odd sizes
    ("c1-mnist_cnn-conv1-b16", 16, 28, 28, 1, 3, 32, 1, "same"),
]


@pytest.mark.parametrize("case", SPLITK_CONV, ids=[s[0] for s in SPLITK_CONV])
def test_conv_splitk_backward_filter(cp, path, case):
    _, n, h, w, c, kernel, k, stride, padding = case
    _conv_case(cp, n, h, w, c, kernel, k, stride, padding, "relu", seed=n + h + c + k)


@pytest.mark.parametrize("offsets", [(1, 0), (0, 3), (2, 1)], ids=["x+1", "out+3", "x+2-out+1"])
def test_conv_unaligned_pointers(cp, path, offsets):
    _conv_case(cp, 2, 8, 8, 8, 3, 8, 1, "same", "relu", seed=77, x_off=offsets[0], out_off=offsets[1])


def test_small_conv(cp, path):
    for c, k in ((3, 5), (8, 8), (6, 64)):
        _conv_case(cp, 1, 5, 5, c, 3, k, 1, "same", "relu", seed=c * k)
    _conv_case(cp, 2, 5, 4, 5, 2, 6, 2, "same", "linear", seed=5)


def test_small_conv_splitk_backward_filter(cp, path):
    # P = 2*24*24 = 1152 >= 512 with one 128x128 output tile: split-K on any GPU
    _conv_case(cp, 2, 24, 24, 4, 3, 8, 1, "same", "linear", seed=11)


# ----------------------------------------------------------------- sgemm

SGEMM_SIZES = [
    (1, 1, 1), (7, 5, 3), (33, 65, 129), (130, 129, 7), (1, 257, 513), (257, 1, 300),
    (64, 64, 8192),        # one tile, long k: split-K
    (10, 10, 100000),      # tiny m*n, huge k: split-K capped at 64 splits
    (129, 131, 1031),      # 4 tiles, split-K with a short last split
]
TRANS = [(False, False), (False, True), (True, False), (True, True)]


def _sgemm_case(cp, m, n, k, ta, tb, alpha, beta, offsets, seed):
    rng = np.random.default_rng(seed)
    a = randn(rng, *((k, m) if ta else (m, k)))
    b = randn(rng, *((n, k) if tb else (k, n)))
    c0 = randn(rng, m, n)
    what = f"sgemm m{m} n{n} k{k} ta{int(ta)} tb{int(tb)} alpha{alpha} beta{beta} offsets{offsets}"
    ga, gb = dev(cp, a, offsets[0]), dev(cp, b, offsets[1])

    def run():
        out = Out(cp, (m, n), offsets[2], init=c0 if beta != 0 else None)  # beta == 0: C is NaN, never read
        ops.sgemm(ga, gb, trans_a=ta, trans_b=tb, alpha=alpha, beta=beta, out=out.view)
        return (out.host(what),)

    (got,) = gpu_twice(run, what)
    cpu = f32(c0.copy())
    ops.sgemm(f32(a), f32(b), trans_a=ta, trans_b=tb, alpha=alpha, beta=beta, out=cpu)
    want = ref.sgemm(a, b, ta, tb, alpha, beta, c0 if beta != 0 else None)
    compare(got, cpu, want, f32_rtol(k), what)


@pytest.mark.parametrize("offsets", [(0, 0, 0), (1, 2, 3)], ids=["aligned", "offset"])
@pytest.mark.parametrize("alpha,beta", [(1.0, 0.0), (-1.5, 0.75)], ids=["beta0", "beta.75"])
@pytest.mark.parametrize("ta,tb", TRANS, ids=["NN", "NT", "TN", "TT"])
@pytest.mark.parametrize("size", SGEMM_SIZES, ids=[f"{m}x{n}x{k}" for m, n, k in SGEMM_SIZES])
def test_sgemm(cp, path, size, ta, tb, alpha, beta, offsets):
    m, n, k = size
    _sgemm_case(cp, m, n, k, ta, tb, alpha, beta, offsets, seed=m * 7 + n * 3 + k)


def test_small_sgemm(cp, path):
    for (m, n, k) in ((33, 34, 35), (8, 8, 1024), (5, 70, 600)):   # (8, 8, 1024) is split-K
        for ta, tb in TRANS:
            _sgemm_case(cp, m, n, k, ta, tb, -1.5, 0.75, (1, 2, 3), seed=m + n + k)
            _sgemm_case(cp, m, n, k, ta, tb, 1.0, 0.0, (0, 0, 0), seed=m + n + k + 1)


@pytest.mark.parametrize("rows,fan_in,fan_out,act", [
    (32, 3136, 64, "relu"), (128, 1024, 500, "relu"), (33, 2048, 10, "linear"), (7, 5, 3, "sigmoid"),
    (129, 131, 67, "leaky_relu"), (128, 512, 10, "tanh")])
def test_dense_forward_epilogue(cp, path, rows, fan_in, fan_out, act):
    rng = np.random.default_rng(rows + fan_in)
    x, w, b = randn(rng, rows, fan_in), randn(rng, fan_in, fan_out, scale=0.1), randn(rng, fan_out)
    what = f"dense_forward x{x.shape} w{w.shape} {act}"
    gx, gw, gb = dev(cp, x), dev(cp, w), dev(cp, b)

    def run():
        out = Out(cp, (rows, fan_out), 1)
        ops.dense_forward(gx, gw, gb, act, 0.01, out=out.view)
        return (out.host(what),)

    (got,) = gpu_twice(run, what)
    compare(got, ops.dense_forward(f32(x), f32(w), f32(b), act, 0.01),
            ref.dense_forward(x, w, b, act, 0.01), f32_rtol(fan_in), what)


# ---------------------------------------------------------------- pooling

POOL_CASES = [  # (n, h, w, c), pool, stride, padding
    ((2, 8, 8, 3), 2, 2, "valid"),
    ((2, 9, 9, 5), 3, 2, "same"),
    ((1, 7, 7, 6), 3, 1, "valid"),      # overlapping windows: several dy per dx
    ((3, 6, 5, 64), 2, 1, "same"),
    ((2, 28, 28, 32), 2, 2, "valid"),   # mnist_cnn pool1
]


def _pool_data(kind, shape, rng):
    if kind == "ties":
        return quantised(rng, *shape)
    if kind == "all_equal":
        return np.full(shape, -0.5)
    x = quantised(rng, *shape)
    x[rng.random(shape) < 0.15] = np.nan
    if kind == "nan_inf":
        x[rng.random(shape) < 0.15] = -np.inf
        x[rng.random(shape) < 0.05] = np.inf
    return x


def _pool_case(cp, shape, pool, stride, padding, kind, seed):
    rng = np.random.default_rng(seed)
    x = _pool_data(kind, shape, rng)
    kw = dict(pool_size=pool, strides=stride, padding=padding)
    y_shape = ref.pool_output_shape(shape, pool, stride, padding)
    dy = randn(rng, *y_shape)
    what = f"maxpool x{shape} p{pool} s{stride} {padding} {kind}"
    gx, gdy = dev(cp, x), dev(cp, dy)

    def run():
        y, dx = Out(cp, y_shape), Out(cp, shape)
        ops.maxpool2d_forward(gx, out=y.view, **kw)
        ops.maxpool2d_backward(gx, gdy, out=dx.view, **kw)
        return y.host(what + " forward"), dx.host(what + " backward")

    y, dx = gpu_twice(run, what)
    cpu_y = ops.maxpool2d_forward(f32(x), **kw)
    cpu_dx = ops.maxpool2d_backward(f32(x), f32(dy), **kw)
    assert_bitwise(y, cpu_y, what + " forward vs CPU")
    assert_bitwise(dx, cpu_dx, what + " backward vs CPU")
    if kind in ("ties", "all_equal"):
        assert_close(y, ref.maxpool2d_forward(x, **kw), 0, what + " forward vs reference")
        assert_close(dx, ref.maxpool2d_backward(x, dy, **kw), f32_rtol(pool * pool), what + " backward vs reference")


@pytest.mark.parametrize("kind", ["ties", "all_equal", "nan", "nan_inf"])
@pytest.mark.parametrize("case", POOL_CASES, ids=[f"x{c[0]}-p{c[1]}-s{c[2]}-{c[3]}" for c in POOL_CASES])
def test_maxpool_bit_identical(cp, case, kind):
    _pool_case(cp, *case, kind, seed=sum(case[0]) + len(kind))


def test_small_pool(cp):
    for kind in ("ties", "nan_inf"):
        _pool_case(cp, (1, 5, 5, 3), 3, 2, "same", kind, seed=3)
        _pool_case(cp, (2, 4, 4, 2), 2, 1, "valid", kind, seed=4)


@pytest.mark.parametrize("case", POOL_CASES, ids=[f"x{c[0]}-p{c[1]}-s{c[2]}-{c[3]}" for c in POOL_CASES])
def test_avgpool_and_global(cp, case):
    shape, pool, stride, padding = case
    rng = np.random.default_rng(sum(shape))
    x = randn(rng, *shape)
    kw = dict(pool_size=pool, strides=stride, padding=padding)
    y_shape = ref.pool_output_shape(shape, pool, stride, padding)
    dy, gdy2 = randn(rng, *y_shape), randn(rng, shape[0], shape[3])
    what = f"avgpool x{shape} p{pool} s{stride} {padding}"
    gx, gdy, gg = dev(cp, x), dev(cp, dy), dev(cp, gdy2)

    def run():
        y, dx, gy, gdx = Out(cp, y_shape), Out(cp, shape), Out(cp, (shape[0], shape[3])), Out(cp, shape)
        ops.avgpool2d_forward(gx, out=y.view, **kw)
        ops.avgpool2d_backward(gdy, shape, out=dx.view, **kw)
        ops.global_avgpool2d_forward(gx, out=gy.view)
        ops.global_avgpool2d_backward(gg, shape, out=gdx.view)
        return y.host(what), dx.host(what), gy.host(what), gdx.host(what)

    y, dx, gy, gdx = gpu_twice(run, what)
    compare(y, ops.avgpool2d_forward(f32(x), **kw), ref.avgpool2d_forward(x, **kw), f32_rtol(pool * pool),
            what + " forward")
    compare(dx, ops.avgpool2d_backward(f32(dy), shape, **kw), ref.avgpool2d_backward(dy, shape, **kw),
            f32_rtol(pool * pool), what + " backward")
    compare(gy, ops.global_avgpool2d_forward(f32(x)), ref.global_avgpool2d_forward(x),
            f32_rtol(shape[1] * shape[2]), what + " global forward")
    compare(gdx, ops.global_avgpool2d_backward(f32(gdy2), shape), ref.global_avgpool2d_backward(gdy2, shape),
            f32_rtol(1), what + " global backward")


# ------------------------------------------------------------- batch norm

BN_CASES = [(100003, 1), (131072, 3), (65537, 5), (3, 1000), (7, 64), (32 * 32 * 32, 32)]


def _bn_case(cp, rows, c, offset, seed):
    rng = np.random.default_rng(seed)
    x = offset + randn(rng, rows, c, scale=0.1 if offset else 1.0)
    gamma, beta = randn(rng, c), randn(rng, c)
    mm, mv = randn(rng, c), np.abs(randn(rng, c)) + 0.5
    dy = randn(rng, rows, c)
    what = f"batchnorm rows{rows} c{c} offset{offset}"
    gx, gg, gbeta, gdy = dev(cp, x), dev(cp, gamma), dev(cp, beta), dev(cp, dy)
    C = package._C

    def run():
        y, sm, si = Out(cp, (rows, c)), Out(cp, (c,)), Out(cp, (c,))
        gmm, gmv = Out(cp, (c,), init=mm), Out(cp, (c,), init=mv)
        C.batchnorm_forward_train(gx, gg, gbeta, gmm.view, gmv.view, y.view, sm.view, si.view, 1e-3, 0.99)
        dx, dgamma, dbeta = Out(cp, (rows, c)), Out(cp, (c,)), Out(cp, (c,))
        C.batchnorm_backward(gx, gdy, gg, sm.view, si.view, dx.view, dgamma.view, dbeta.view)
        yi = Out(cp, (rows, c))
        C.batchnorm_forward_inference(gx, gg, gbeta, gmm.view, gmv.view, yi.view, 1e-3)
        return tuple(o.host(what) for o in (y, sm, si, gmm, gmv, dx, dgamma, dbeta, yi))

    got = gpu_twice(run, what)
    cpu_mm, cpu_mv = f32(mm.copy()), f32(mv.copy())
    cy, csm, csi = ops.batchnorm_forward_train(f32(x), f32(gamma), f32(beta), cpu_mm, cpu_mv, 0.99, 1e-3)
    cdx, cdg, cdb = ops.batchnorm_backward(f32(x), f32(dy), f32(gamma), csm, csi)
    cyi = ops.batchnorm_forward_inference(f32(x), f32(gamma), f32(beta), cpu_mm, cpu_mv, 1e-3)
    ry, rsm, rsi, rmm, rmv = ref.batchnorm_forward_train(x, gamma, beta, mm, mv, 0.99, 1e-3)
    rdx, rdg, rdb = ref.batchnorm_backward(x, dy, gamma, rsm, rsi)
    rtol = f32_rtol(rows)
    names = ["y", "save_mean", "save_invstd", "moving_mean", "moving_var", "dx", "dgamma", "dbeta", "y_inference"]
    cpus = [cy, csm, csi, cpu_mm, cpu_mv, cdx, cdg, cdb, cyi]
    # offset data: the float32 mean itself carries ~ulp(offset)/std relative error: compare y, dx to the CPU only
    refs = [None if offset else ry, rsm, rsi, rmm, rmv, None if offset else rdx, rdg, rdb, None]
    for name, g, cpu_v, ref_v in zip(names, got, cpus, refs):
        compare(g, cpu_v, ref_v, rtol, f"{what} {name}")


@pytest.mark.parametrize("offset", [0.0, 100.0], ids=["centered", "mean100"])
@pytest.mark.parametrize("rows,c", BN_CASES, ids=[f"rows{r}-c{c}" for r, c in BN_CASES])
def test_batchnorm(cp, rows, c, offset):
    _bn_case(cp, rows, c, offset, seed=rows + c)


def test_small_batchnorm(cp):
    _bn_case(cp, 1031, 3, 0.0, seed=1)
    _bn_case(cp, 5, 70, 100.0, seed=2)


# --------------------------------------------------------------- dropout

DROPOUT_N = [1, 2, 3, 4, 5, 7, 13, 1001, 4099, 65539]
DROPOUT_OFFSETS = [0, 1, 2, 3, 5, 6, 7, 2**32 - 1, 2**32 + 1, 2**40 + 3]


def _dropout_case(cp, n, offset, rate, seed, x_off=0):
    rng = np.random.default_rng(n + offset % 1000)
    x = randn(rng, n)
    what = f"dropout n{n} offset{offset} rate{rate} x+{x_off}"
    gx = dev(cp, x, x_off)

    def run():
        y, dx = Out(cp, (n,), x_off), Out(cp, (n,), 3 - x_off)
        ops.dropout_forward(gx, rate, seed, offset, out=y.view)
        ops.dropout_backward(gx, rate, seed, offset, out=dx.view)
        return y.host(what + " forward"), dx.host(what + " backward")

    y, dx = gpu_twice(run, what)
    assert_bitwise(y, ops.dropout_forward(f32(x), rate, seed, offset), what + " forward vs CPU")
    assert_bitwise(dx, ops.dropout_backward(f32(x), rate, seed, offset), what + " backward vs CPU")
    keep = ref.dropout_mask((n,), rate, seed, offset)
    assert np.array_equal(y != 0, keep), f"{what}: mask differs from reference.dropout_mask"


@pytest.mark.parametrize("offset", DROPOUT_OFFSETS)
@pytest.mark.parametrize("n", DROPOUT_N)
def test_dropout_bit_identical(cp, path, n, offset):
    for rate in (0.3, 0.5):
        _dropout_case(cp, n, offset, rate, seed=12345, x_off=offset % 4)


@pytest.mark.parametrize("rate", [0.0, 0.1, 0.9])
def test_dropout_rates(cp, path, rate):
    _dropout_case(cp, 4099, 3, rate, seed=2**63 + 5)


def test_small_dropout(cp, path):
    for n, offset in ((5, 3), (13, 2**32 - 1), (1001, 6)):
        _dropout_case(cp, n, offset, 0.3, seed=7, x_off=1)


# --------------------------------------------------------------- softmax

SOFTMAX_COLS = [1, 2, 31, 32, 33, 1024, 1025, 2047, 4097, 10000]


def _softmax_rows(rng, cols):
    """Rows: normal; with a NaN; with -inf entries; all -inf; with +inf; huge magnitudes."""
    x = randn(rng, 6, cols, scale=3.0)
    x[1, cols // 2] = np.nan
    x[2, ::3] = -np.inf
    if cols > 1:
        x[2, 1] = 0.5          # at least one finite entry
    x[3, :] = -np.inf
    x[4, cols // 3] = np.inf
    x[5] = randn(rng, cols) * 1e30
    return x


def _softmax_case(cp, cols, seed):
    rng = np.random.default_rng(seed)
    x = _softmax_rows(rng, cols)
    y_ok = ref.softmax_forward(randn(rng, 4, cols))           # finite softmax rows for the backward
    dy = randn(rng, 4, cols)
    what = f"softmax cols{cols}"
    gx, gy, gdy = dev(cp, x), dev(cp, y_ok), dev(cp, dy)

    def run():
        y, dx = Out(cp, x.shape), Out(cp, dy.shape)
        ops.softmax_forward(gx, out=y.view)
        ops.softmax_backward(gy, gdy, out=dx.view)
        return y.host(what + " forward"), dx.host(what + " backward")

    y, dx = gpu_twice(run, what)
    cpu = ops.softmax_forward(f32(x))
    assert np.array_equal(np.isnan(y), np.isnan(cpu)), \
        f"{what}: NaN pattern differs from the CPU (rows: normal, NaN, -inf, all -inf, +inf, huge)\n" \
        f"gpu NaN per row {np.isnan(y).sum(1)}, cpu {np.isnan(cpu).sum(1)}"
    finite = ~np.isnan(cpu)
    assert_close(np.where(finite, y, 0), np.where(finite, cpu, 0), 1e-5, what + " forward vs CPU")
    for r in ((0, 2, 5) if cols > 1 else (0, 5)):  # rows the float64 reference handles without NaN
        assert_close(y[r], ref.softmax_forward(x[r:r + 1])[0], f32_rtol(cols), f"{what} row {r} vs reference")
    compare(dx, ops.softmax_backward(f32(y_ok), f32(dy)), ref.softmax_backward(y_ok, dy), f32_rtol(cols),
            what + " backward")


@pytest.mark.parametrize("cols", SOFTMAX_COLS)
def test_softmax_wide_and_special_rows(cp, path, cols):
    _softmax_case(cp, cols, seed=cols)


def test_small_softmax(cp, path):
    for cols in (3, 33, 1500):
        _softmax_case(cp, cols, seed=cols)


@pytest.mark.parametrize("rows,cols", [(32, 10), (4099, 10), (7, 1025), (3, 5000)])
@pytest.mark.parametrize("loss", ["categorical_crossentropy", "binary_crossentropy", "mse", "mae"])
def test_losses(cp, rows, cols, loss):
    rng = np.random.default_rng(rows + cols)
    p = ref.softmax_forward(randn(rng, rows, cols)) if loss == "categorical_crossentropy" \
        else 1 / (1 + np.exp(-randn(rng, rows, cols)))
    t = np.eye(cols)[rng.integers(0, cols, rows)] if loss != "mse" else randn(rng, rows, cols)
    what = f"{loss} rows{rows} cols{cols}"
    gp, gt = dev(cp, p), dev(cp, t)

    def run():
        per, dp, dl = Out(cp, (rows,)), Out(cp, (rows, cols)), Out(cp, (rows, cols))
        ops.loss_forward(gp, gt, loss, out=per.view)
        ops.loss_backward(gp, gt, loss, out=dp.view)
        ops.softmax_cross_entropy_backward(gp, gt, out=dl.view)
        return per.host(what), dp.host(what), dl.host(what)

    per, dp, dl = gpu_twice(run, what)
    compare(per, ops.loss_forward(f32(p), f32(t), loss), ref.loss_forward(p, t, loss), f32_rtol(cols),
            what + " forward")
    compare(dp, ops.loss_backward(f32(p), f32(t), loss), ref.loss_backward(p, t, loss), f32_rtol(cols),
            what + " backward")
    compare(dl, ops.softmax_cross_entropy_backward(f32(p), f32(t)), ref.softmax_cross_entropy_backward(p, t),
            f32_rtol(1), what + " fused softmax+CE backward")


# ------------------------------------------------- elementwise, bias, optimizer

ACTS = ["relu", "sigmoid", "tanh", "leaky_relu", "step", "linear"]


def _activation_case(cp, act, n, off, seed):
    rng = np.random.default_rng(seed)
    x, dy = randn(rng, n), randn(rng, n)
    x[::7] = 0.0                                  # the relu/step boundary
    what = f"activation {act} n{n} offset{off}"
    gx, gdy = dev(cp, x, off), dev(cp, dy, (off + 1) % 4)

    def run():
        y, dx = Out(cp, (n,), off), Out(cp, (n,), off)
        ops.activation_forward(gx, act, 0.01, out=y.view)
        ops.activation_backward(gx, y.view, gdy, act, 0.01, out=dx.view)
        return y.host(what), dx.host(what)

    y, dx = gpu_twice(run, what)
    cy = ops.activation_forward(f32(x), act, 0.01)
    compare(y, cy, ref.activation_forward(x, act, 0.01), 1e-6, what + " forward")
    compare(dx, ops.activation_backward(f32(x), cy, f32(dy), act, 0.01),
            ref.activation_backward(x, ref.activation_forward(x, act, 0.01), dy, act, 0.01), 1e-6,
            what + " backward")


@pytest.mark.parametrize("off", [0, 1, 2, 3])
@pytest.mark.parametrize("n", [1, 3, 4, 5, 1001, 65539])
@pytest.mark.parametrize("act", ACTS)
def test_activations_odd_sizes_offsets(cp, path, act, n, off):
    _activation_case(cp, act, n, off, seed=n + off)


@pytest.mark.parametrize("rows,cols", [(1, 1), (3, 7), (100003, 3), (128 * 28 * 28, 32), (5, 4099)])
def test_bias_backward(cp, path, rows, cols):
    rng = np.random.default_rng(rows + cols)
    dy = randn(rng, rows, cols)
    gdy = dev(cp, dy)
    what = f"bias_backward rows{rows} cols{cols}"

    def run():
        db = Out(cp, (cols,), 1)
        ops.bias_backward(gdy, out=db.view)
        return (db.host(what),)

    (db,) = gpu_twice(run, what)
    compare(db, ops.bias_backward(f32(dy)), ref.bias_backward(dy), f32_rtol(rows), what)


OPTIMIZERS = [
    ("sgd", dict(momentum=0.0)), ("sgd", dict(momentum=0.9, nesterov=True)), ("adagrad", {}),
    ("rmsprop", dict(rho=0.9)), ("rmsprop", dict(rho=0.9, momentum=0.5)), ("adadelta", dict(rho=0.95)),
    ("adam", dict(c1=0.0031)), ("nadam", dict(c1=0.9, c2=0.05, c3=1.001)),
]


def _optimizer_case(cp, kind, hyper, n, seed):
    rng = np.random.default_rng(seed)
    p, g = randn(rng, n), randn(rng, n)
    s1, s2 = np.abs(randn(rng, n)), np.abs(randn(rng, n))
    kw = dict(lr=0.01, l2=1e-4, **hyper)
    what = f"optimizer {kind} {hyper} n{n}"
    gg = dev(cp, g, 1)

    def run():
        gp, g1, g2 = Out(cp, (n,), 1, init=p), Out(cp, (n,), 2, init=s1), Out(cp, (n,), 3, init=s2)
        ops.optimizer_update(kind, gp.view, gg, g1.view, g2.view, **kw)
        return gp.host(what), g1.host(what), g2.host(what)

    got = gpu_twice(run, what)
    cpu = [f32(p.copy()), f32(s1.copy()), f32(s2.copy())]
    ops.optimizer_update(kind, cpu[0], f32(g), cpu[1], cpu[2], **kw)
    want = ref.optimizer_update(kind, p, g, s1, s2, **kw)
    for name, a, c, w in zip(("param", "slot1", "slot2"), got, cpu, want):
        compare(a, c, w if w is not None else s2 if name == "slot2" else s1, 1e-5, f"{what} {name}")


@pytest.mark.parametrize("n", [1, 5, 1001, 65539])
@pytest.mark.parametrize("kind,hyper", OPTIMIZERS, ids=[f"{k}-{i}" for i, (k, _) in enumerate(OPTIMIZERS)])
def test_optimizer_update(cp, kind, hyper, n):
    _optimizer_case(cp, kind, hyper, n, seed=n)


def test_small_misc(cp, path):
    for act in ("relu", "sigmoid"):
        _activation_case(cp, act, 13, 1, seed=1)
    _optimizer_case(cp, "adam", dict(c1=0.0031), 13, seed=2)
    test_bias_backward(cp, path, 37, 5)


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
