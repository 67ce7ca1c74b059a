"""Hostile inputs to the ops and the binding layer (cudnn_lite._C): strides 0 and negative,
negative paddings, windows larger than the padded input, absurd paddings and strides whose
index arithmetic needs 64 bits, zero-stride (broadcast) arrays with a huge logical size,
zero-size arrays with huge other dimensions, NaN/Inf propagation, and bounded
property-based fuzzing (hypothesis). The only acceptable outcomes are a correct result
or TypeError/ValueError; nothing here allocates more than a few MB.
"""
from __future__ import annotations

import functools
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import ops, ref
from cudnn_lite import _C

BIG = 2**31  # past int32
F = np.float32
TESTS_DIR = os.path.dirname(os.path.abspath(__file__))


def isolated(test):
    """Run the test's body in a child interpreter, so that a crash (abort, segfault, an
    uncaught C++ exception in an OpenMP region) fails this test only, with the child's stderr
    (and any sanitizer report) in the failure message, instead of killing the test run."""
    @functools.wraps(test)
    def wrapper():
        if os.environ.get("CUDNN_LITE_ISOLATED_TEST") == test.__name__:
            return test()
        env = dict(os.environ, CUDNN_LITE_ISOLATED_TEST=test.__name__,
                   PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        r = subprocess.run([sys.executable, "-c", f"import test_hostile_inputs as t; t.{test.__name__}()"],
                           cwd=TESTS_DIR, env=env, capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, (f"{test.__name__} failed or crashed in a child process (exit status "
                                   f"{r.returncode}):\n{r.stdout[-2000:]}\n{r.stderr[-6000:]}")
    return wrapper


def f(*shape, seed=0, lo=0.1, hi=0.9):
    return np.random.default_rng(seed).uniform(lo, hi, size=shape).astype(F)


# ---------------------------------------------------- geometry arguments

CONV_FNS = {
    "conv2d_forward": lambda s, p: _C.conv2d_forward(f(1, 5, 5, 2), f(3, 3, 2, 4), None, np.empty((1, 3, 3, 4), F),
                                                     *s, *p, 0, 0.0),
    "conv2d_backward_data": lambda s, p: _C.conv2d_backward_data(f(1, 3, 3, 4), f(3, 3, 2, 4),
                                                                 np.empty((1, 5, 5, 2), F), *s, *p),
    "conv2d_backward_filter": lambda s, p: _C.conv2d_backward_filter(f(1, 5, 5, 2), f(1, 3, 3, 4),
                                                                     np.empty((3, 3, 2, 4), F), *s, *p),
}
POOL_FNS = {
    "maxpool2d_forward": lambda w, s, p: _C.maxpool2d_forward(f(1, 4, 4, 2), np.empty((1, 2, 2, 2), F), *w, *s, *p),
    "maxpool2d_backward": lambda w, s, p: _C.maxpool2d_backward(f(1, 4, 4, 2), f(1, 2, 2, 2), np.empty((1, 4, 4, 2), F),
                                                                *w, *s, *p),
    "avgpool2d_forward": lambda w, s, p: _C.avgpool2d_forward(f(1, 4, 4, 2), np.empty((1, 2, 2, 2), F), *w, *s, *p),
    "avgpool2d_backward": lambda w, s, p: _C.avgpool2d_backward(f(1, 2, 2, 2), np.empty((1, 4, 4, 2), F), *w, *s, *p),
}
BAD_STRIDES = [(0, 1), (1, 0), (-1, 1), (1, -2), (-(2**63), 1)]
BAD_PADS = [(-1, 0, 0, 0), (0, -1, 0, 0), (0, 0, -1, 0), (0, 0, 0, -5), (-(2**63), 0, 0, 0)]
BAD_WINDOWS = [(0, 2), (2, 0), (-2, 2), (5, 2), (2, 5)]  # 5 > the padded 4


@pytest.mark.parametrize("name", sorted(CONV_FNS))
@pytest.mark.parametrize("strides", BAD_STRIDES)
def test_conv_bad_strides(name, strides):
    with pytest.raises(ValueError, match="strides must be positive"):
        CONV_FNS[name](strides, (0, 0, 0, 0))


@pytest.mark.parametrize("name", sorted(CONV_FNS))
@pytest.mark.parametrize("pads", BAD_PADS)
def test_conv_negative_padding(name, pads):
    with pytest.raises(ValueError, match="paddings non-negative"):
        CONV_FNS[name]((1, 1), pads)


@pytest.mark.parametrize("name", sorted(POOL_FNS))
@pytest.mark.parametrize("strides", BAD_STRIDES)
def test_pool_bad_strides(name, strides):
    with pytest.raises(ValueError, match="strides must be positive"):
        POOL_FNS[name]((2, 2), strides, (0, 0, 0, 0))


@pytest.mark.parametrize("name", sorted(POOL_FNS))
@pytest.mark.parametrize("window", BAD_WINDOWS)
def test_pool_bad_windows(name, window):
    with pytest.raises(ValueError, match="positive|larger than the padded input"):
        POOL_FNS[name](window, (2, 2), (0, 0, 0, 0))


@pytest.mark.parametrize("name", sorted(POOL_FNS))
@pytest.mark.parametrize("pads", BAD_PADS)
def test_pool_negative_padding(name, pads):
    with pytest.raises(ValueError, match="paddings non-negative"):
        POOL_FNS[name]((2, 2), (2, 2), pads)


def test_kernel_larger_than_padded_input():
    x = f(1, 4, 4, 1)
    with pytest.raises(ValueError, match="^w: window 5 is larger than the padded input 4"):
        ops.conv2d_forward(x, f(5, 5, 1, 1))
    with pytest.raises(ValueError, match="window 7 is larger than the padded input 6"):
        ops.conv2d_forward(x, f(7, 3, 1, 1), padding=(1, 1, 1, 1))
    ops.conv2d_forward(x, f(6, 6, 1, 1), padding=(1, 1, 1, 1))  # exactly the padded size is fine
    with pytest.raises(ValueError, match="conv2d height: window 5 is larger"):
        _C.conv2d_forward(x, f(5, 5, 1, 1), None, np.empty((1, 1, 1, 1), F), 1, 1, 0, 0, 0, 0, 0, 0.0)
    with pytest.raises(ValueError, match="^pool_size: window 5"):
        ops.maxpool2d_forward(x, pool_size=5)
    with pytest.raises(ValueError, match="^pool_size: window 5"):
        ops.avgpool2d_backward(f(1, 1, 1, 1), (1, 4, 4, 1), pool_size=5)


@pytest.mark.parametrize("bad", [0, -1, (2, 0), (0, -3), "2", (1, 2, 3), None, 1.5j])
def test_ops_strides_and_sizes_name_the_argument(bad):
    x = f(1, 6, 6, 2)
    with pytest.raises(ValueError, match="^strides"):
        ops.conv2d_forward(x, f(3, 3, 2, 1), strides=bad)
    with pytest.raises(ValueError, match="^pool_size"):
        ops.maxpool2d_forward(x, pool_size=bad)
    with pytest.raises(ValueError, match="^kernel_size"):
        ops.conv_output_shape(x.shape, 3, kernel_size=bad)


@pytest.mark.parametrize("padding", ["full", "SAMEISH", (1, 2), (-1, 0, 0, 0), ("a", 0, 0, 0), None, 3])
def test_ops_bad_padding_names_the_argument(padding):
    with pytest.raises(ValueError, match="^padding"):
        ops.conv2d_forward(f(1, 6, 6, 2), f(3, 3, 2, 1), padding=padding)
    with pytest.raises(ValueError, match="^padding"):
        ops.avgpool2d_forward(f(1, 6, 6, 2), padding=padding)


def test_negative_and_zero_sizes_in_shapes():
    with pytest.raises(ValueError):
        ops.conv2d_backward_data(f(1, 3, 3, 4), f(3, 3, 2, 4), x_shape=(1, -5, 5, 2))
    with pytest.raises(ValueError):
        ops.conv2d_backward_filter(f(1, 5, 5, 2), f(1, 3, 3, 4), w_shape=(3, -3, 2, 4))
    with pytest.raises(ValueError):
        ops.avgpool2d_backward(f(1, 2, 2, 2), (1, 4, -4, 2))
    with pytest.raises(ValueError):
        ops.global_avgpool2d_backward(f(1, 2), (1, -5, 3, 2))
    with pytest.raises(ValueError, match="c and k positive"):
        _C.conv2d_forward(np.ones((1, 4, 4, 0), F), np.ones((3, 3, 0, 1), F), None, np.empty((1, 2, 2, 1), F),
                          1, 1, 0, 0, 0, 0, 0, 0.0)
    with pytest.raises(ValueError, match="c and k positive"):
        _C.conv2d_forward(np.ones((1, 4, 4, 1), F), np.ones((3, 3, 1, 0), F), None, np.empty((1, 2, 2, 0), F),
                          1, 1, 0, 0, 0, 0, 0, 0.0)
    with pytest.raises(ValueError, match="height and width > 0"):
        _C.global_avgpool_forward(np.ones((2, 0, 3, 1), F), np.empty((2, 1), F))


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, 2**64, 1.5, "1", None])
def test_out_of_range_integer_arguments_are_type_errors(value):
    with pytest.raises(TypeError):
        _C.conv2d_forward(f(1, 4, 4, 1), f(3, 3, 1, 1), None, np.empty((1, 2, 2, 1), F),
                          value, 1, 0, 0, 0, 0, 0, 0.0)
    with pytest.raises(TypeError):
        _C.maxpool2d_forward(f(1, 4, 4, 1), np.empty((1, 2, 2, 1), F), 2, value, 2, 2, 0, 0, 0, 0)


@pytest.mark.parametrize("act", [-1, 6, 2**31 - 1, -(2**31)])
def test_unknown_enum_ids(act):
    with pytest.raises(ValueError, match="activation"):
        _C.activation_forward(f(3), np.empty(3, F), act, 0.0)
    with pytest.raises(ValueError, match="loss"):
        _C.loss_forward(f(2, 3), f(2, 3), np.empty(2, F), act)
    with pytest.raises(ValueError, match="kind"):
        _C.optimizer_update(f(3), f(3), f(3), f(3), act, 0.1, 0.0, False, 0.9, 0.9, 0.999, 1e-7, 0.0, 0, 0, 0)


# ------------------------------------------------- 64-bit index arithmetic

@isolated
def test_conv_index_arithmetic_is_64_bit():
    # strides and paddings of 2**31: every offset the kernels compute overflows int32.
    # The one window that touches the input is the centre one (rows/cols 0..2).
    x = np.arange(1, 17, dtype=F).reshape(1, 4, 4, 1)
    w = np.ones((3, 3, 1, 2), F)
    b = np.array([0.5, -1.0], F)
    geo = (BIG, BIG, BIG, BIG, BIG, BIG)
    y = np.full((1, 3, 3, 2), 7.0, F)
    _C.conv2d_forward(x, w, b, y, *geo, 0, 0.0)
    expected = np.broadcast_to(b, (1, 3, 3, 2)).copy()
    expected[0, 1, 1] += x[0, :3, :3, 0].sum()
    np.testing.assert_array_equal(y, expected)

    dy = np.ones((1, 3, 3, 2), F)
    dx = np.full_like(x, 7.0)
    _C.conv2d_backward_data(dy, w, dx, *geo)
    want = np.zeros_like(x)
    want[0, :3, :3] = 2.0
    np.testing.assert_array_equal(dx, want)

    dw = np.full_like(w, 7.0)
    _C.conv2d_backward_filter(x, dy, dw, *geo)
    np.testing.assert_array_equal(dw[..., 0, 0], x[0, :3, :3, 0])
    np.testing.assert_array_equal(dw[..., 0, 1], x[0, :3, :3, 0])


@isolated
def test_pool_index_arithmetic_is_64_bit():
    x = np.arange(1, 17, dtype=F).reshape(1, 4, 4, 1)
    geo = (3, 3, BIG, BIG, BIG, BIG, BIG, BIG)
    y = np.full((1, 3, 3, 1), 7.0, F)
    _C.maxpool2d_forward(x, y, *geo)
    assert y[0, 1, 1, 0] == 11.0 and np.count_nonzero(y) == 1  # all-padding windows give 0
    _C.avgpool2d_forward(x, y, *geo)
    assert y[0, 1, 1, 0] == 6.0 and np.count_nonzero(y) == 1
    dx = np.full_like(x, 7.0)
    _C.maxpool2d_backward(x, np.ones((1, 3, 3, 1), F), dx, *geo)
    assert dx[0, 2, 2, 0] == 1.0 and dx.sum() == 1.0
    _C.avgpool2d_backward(np.ones((1, 3, 3, 1), F), dx, *geo)
    np.testing.assert_allclose(dx[0, :3, :3, 0], 1 / 9, rtol=1e-6)
    assert dx.sum() == pytest.approx(1.0)
    # a window 2**31 + 5 wide, clipped to the 4 real columns of each row
    yw = np.full((1, 4, 1, 1), 7.0, F)
    _C.maxpool2d_forward(x, yw, 1, BIG + 5, 1, 2 * BIG, 0, 0, BIG, BIG)
    np.testing.assert_array_equal(yw.ravel(), [4, 8, 12, 16])
    _C.avgpool2d_forward(x, yw, 1, BIG + 5, 1, 2 * BIG, 0, 0, BIG, BIG)
    np.testing.assert_array_equal(yw.ravel(), [2.5, 6.5, 10.5, 14.5])


@isolated
def test_zero_size_arrays_with_huge_other_dims():
    # element counts past 2**32 in the other dimensions, but no data: no allocation, no kernel work
    h = w = 2**16 + 3
    x = np.empty((0, h, w, 1), F)
    dy = np.empty((0, h - 2, w - 2, 4), F)
    dw = np.full((3, 3, 1, 4), 7.0, F)
    _C.conv2d_backward_filter(x, dy, dw, 1, 1, 0, 0, 0, 0)
    np.testing.assert_array_equal(dw, 0.0)  # an empty batch has a zero gradient
    assert ops.conv2d_forward(x, f(3, 3, 1, 4)).shape == (0, h - 2, w - 2, 4)
    assert ops.maxpool2d_forward(x).shape == (0, h // 2, w // 2, 1)
    assert ops.global_avgpool2d_forward(x).shape == (0, 1)
    assert ops.global_avgpool2d_backward(np.empty((0, 1), F), x.shape).shape == x.shape
    assert ops.activation_forward(np.empty((0, 2**40), F)).shape == (0, 2**40)
    assert ops.softmax_forward(np.empty((0, 2**40), F)).shape == (0, 2**40)
    assert ops.loss_forward(np.empty((0, 2**40), F), np.empty((0, 2**40), F), "mse").shape == (0,)
    assert ops.sgemm(np.empty((0, 2**40), F), np.empty((2**40, 0), F)).shape == (0, 0)
    np.testing.assert_array_equal(ops.sgemm(np.empty((3, 0), F), np.empty((0, 2), F)), 0.0)
    np.testing.assert_array_equal(ops.bias_backward(np.empty((0, 5), F)), 0.0)
    with pytest.raises(ValueError):  # batch statistics of an empty batch
        ops.batchnorm_forward_train(np.empty((0, 2**20, 3), F), *(np.ones(3, F) for _ in range(4)))


def _zero_stride(shape):
    return np.broadcast_to(np.zeros(1, F), shape)


HUGE = (2**16, 2**16 + 1)  # 2**32 + 2**16 logical elements, 4 bytes of memory


@pytest.mark.parametrize("call", [
    lambda z: _C.activation_forward(z, np.empty(1, F), 1, 0.0),
    lambda z: _C.softmax_forward(z, np.empty(1, F)),
    lambda z: _C.sgemm(z, f(HUGE[1], 1)[:1], np.empty((HUGE[0], 1), F), False, False, 1.0, 0.0),
    lambda z: _C.dense_forward(z, f(1, 1), None, np.empty((1, 1), F), 0, 0.0),
    lambda z: _C.bias_backward(z, np.empty(HUGE[1], F)),
    lambda z: _C.loss_forward(z, z, np.empty(HUGE[0], F), 2),
    lambda z: _C.dropout_forward(z, np.empty(1, F), 0.5, 1, 0),
    lambda z: _C.optimizer_update(z.reshape(-1)[:8] if False else np.zeros(3, F), _zero_stride((3,)),
                                  None, None, 0, 0.1, 0.0, False, 0.9, 0.9, 0.999, 1e-7, 0.0, 0, 0, 0),
    lambda z: _C.conv2d_forward(z.reshape(1, 2**16, 2**16 + 1, 1), f(3, 3, 1, 1), None,
                                np.empty((1, 1, 1, 1), F), 1, 1, 0, 0, 0, 0, 0, 0.0),
    lambda z: _C.global_avgpool_forward(z.reshape(1, 2**16, 2**16 + 1, 1), np.empty((1, 1), F)),
    lambda z: _C.check_array(z, "z"),
], ids=["activation", "softmax", "sgemm", "dense", "bias", "loss", "dropout", "optimizer", "conv", "gap", "check"])
def test_zero_stride_huge_arrays_are_rejected(call):
    z = _zero_stride(HUGE)
    with pytest.raises(ValueError, match="C-contiguous"):
        call(z)


def test_zero_stride_output_is_rejected():
    out = np.broadcast_to(np.zeros(1, F), (4, 4))
    with pytest.raises(ValueError, match="^out: (expected a C-contiguous|output array is read-only)"):
        _C.activation_forward(f(4, 4), out, 0, 0.0)
    out = np.lib.stride_tricks.as_strided(np.zeros(1, F), shape=(4, 4), strides=(0, 0), writeable=True)
    with pytest.raises(ValueError, match="^out: expected a C-contiguous"):
        _C.activation_forward(f(4, 4), out, 0, 0.0)


@isolated
def test_huge_padding_does_not_overflow_the_descriptor():
    """BUG (csrc/cudnn_lite.h window_output_size): `in + pad_before + pad_after` is computed in
    int64 without an overflow check, so pads near 2**62 wrap around (signed overflow: undefined
    behaviour, reported by UBSan) and the error shows a negative 'padded input'. Expected: a
    ValueError saying the padding is too large, computed without overflow."""
    x, w = f(1, 4, 4, 1), f(3, 3, 1, 1)
    for pads in [(2**62, 2**62, 0, 0), (2**63 - 1, 1, 0, 0), (0, 0, 2**63 - 2, 2**63 - 2)]:
        with pytest.raises(ValueError) as e:
            _C.conv2d_forward(x, w, None, np.empty((1, 2, 2, 1), F), 1, 1, *pads, 0, 0.0)
        assert not re.search(r"padded input -\d", str(e.value)), str(e.value)
        with pytest.raises(ValueError) as e:
            _C.maxpool2d_forward(x, np.empty((1, 2, 2, 1), F), 2, 2, 2, 2, *pads)
        assert not re.search(r"padded input -\d", str(e.value)), str(e.value)


# ------------------------------------------------------------ other gaps

def test_bias_backward_of_a_scalar_is_a_value_error():
    """BUG (cudnn_lite/ops.py bias_backward): a 0-d dy raises IndexError from dy.shape[-1]
    before any check; expected ValueError naming dy."""
    with pytest.raises(ValueError, match="dy"):
        ops.bias_backward(np.zeros((), F))


# -------------------------------------------------------- NaN and Inf

ACTS = sorted(ops.ACTIVATIONS)


@pytest.mark.parametrize("act", ACTS)
def test_nan_propagates_through_every_activation(act):
    x = np.array([np.nan, 1.0, -1.0, 0.0], F)
    y = ops.activation_forward(x, act, alpha=0.1)
    assert np.isnan(y[0]) and np.isfinite(y[1:]).all()


@pytest.mark.parametrize("act", ACTS)
def test_nan_propagates_through_fused_epilogues(act):
    """BUG (csrc/cpu/epilogue.h): the CPU conv/dense epilogue computes relu as
    `y > 0 ? y : 0` and step as `y >= 0 ? 1 : 0`, which turn NaN into 0, while the
    standalone activation kernels (CPU and CUDA) and csrc/common/activation_math.h keep NaN
    (their documented contract). So Dense(activation='relu') and Conv2D(..., 'relu') on the
    CPU silently hide a NaN input. Expected: NaN out, like activation_forward."""
    x = np.ones((2, 16), F)
    x[0, 3] = np.nan
    w = np.ones((16, 3), F)
    y = ops.dense_forward(x, w, np.zeros(3, F), activation=act, alpha=0.1)
    assert np.isnan(y[0]).all() and np.isfinite(y[1]).all(), y
    yc = ops.conv2d_forward(x.reshape(2, 4, 4, 1), np.ones((4, 4, 1, 1), F), np.zeros(1, F), activation=act)
    assert np.isnan(yc[0]).all() and np.isfinite(yc[1]).all(), yc


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_nan_and_inf_stay_in_their_outputs(value):
    """Documented propagation (SECURITY.md): a non-finite input reaches exactly the outputs
    that depend on it; neighbours stay finite; nothing crashes or raises."""
    x = np.arange(16, dtype=F).reshape(1, 4, 4, 1)
    x[0, 0, 0, 0] = value
    for y in (ops.conv2d_forward(x, np.ones((2, 2, 1, 1), F), strides=2),
              ops.avgpool2d_forward(x, 2)):
        assert np.isfinite(y.ravel()[1:]).all()
        assert not np.isfinite(y.ravel()[0])
    mp = ops.maxpool2d_forward(x, 2).ravel()
    assert np.isfinite(mp[1:]).all()
    assert mp[0] == 5.0 if value == -np.inf else not np.isfinite(mp[0])
    p = np.array([[0.2, 0.3, 0.5], [value, 0.5, 0.5]], F)
    t = np.array([[1, 0, 0], [1, 0, 0]], F)
    for loss in ops.LOSSES:
        per = ops.loss_forward(p, t, loss)
        assert np.isfinite(per[0])
    sm = ops.softmax_forward(p)
    assert np.isfinite(sm[0]).all()
    param = np.ones(3, F)
    ops.optimizer_update("sgd", param, np.array([value, 1, 1], F), lr=0.1)
    assert not np.isfinite(param[0]) and np.isfinite(param[1:]).all()


def test_batchnorm_training_nan_poisons_its_channel_only():
    x = np.array([[np.nan, 1.0], [1.0, 2.0], [2.0, 3.0]], F)
    mm, mv = np.zeros(2, F), np.ones(2, F)
    y, _, _ = ops.batchnorm_forward_train(x, np.ones(2, F), np.zeros(2, F), mm, mv)
    assert np.isnan(y[:, 0]).all() and np.isfinite(y[:, 1]).all()
    assert np.isnan(mm[0]) and np.isfinite(mm[1])


# --------------------------------------------------------------- fuzzing

FUZZ = settings(max_examples=50, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

DTYPES = [np.float32] * 6 + [np.float64, np.float16, np.int32, np.bool_, np.complex64, object]


@st.composite
def arrays(draw, shape, allow_bad=True):
    """A float32 C-contiguous array, or (sometimes) one with a wrong dtype or a strided layout."""
    shape = tuple(shape)
    kind = draw(st.sampled_from(["ok"] * 5 + ["dtype", "strided", "reversed", "fortran", "broadcast",
                                              "readonly"])) if allow_bad else "ok"
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    base = rng.uniform(-2, 2, size=shape).astype(F)
    if kind == "dtype":
        dtype = draw(st.sampled_from(DTYPES[6:]))
        return base.astype(dtype), False
    if kind == "strided" and base.ndim and base.shape[-1] > 1:
        wide = np.repeat(base, 2, axis=-1)
        return wide[..., ::2], False
    if kind == "reversed" and base.ndim and base.shape[0] > 1:
        return np.ascontiguousarray(base[::-1])[::-1], False
    if kind == "fortran" and base.ndim >= 2 and base.shape[0] > 1 and base.shape[-1] > 1:
        return np.asfortranarray(base), False
    if kind == "broadcast" and base.ndim and base.size > 1 and base.shape[0] > 1:
        return np.broadcast_to(base[:1], shape), False
    if kind == "readonly":
        base.setflags(write=False)
        return base, "readonly"  # fine as an input, an error as an output
    return base, True


def _outcome(call, good):
    """Run call(); invalid input must give TypeError/ValueError; valid input must not raise."""
    try:
        return call(), None
    except (TypeError, ValueError) as e:
        assert not good, f"valid input rejected: {e}"
        assert str(e), "an error without a message"
        return None, e


dims = st.integers(0, 5)
pos = st.integers(1, 5)


@FUZZ
@given(data=st.data(), act=st.sampled_from(ACTS), shape=st.lists(dims, min_size=1, max_size=4))
def test_fuzz_pointwise(data, act, shape):
    x, gx = data.draw(arrays(shape))
    good = gx is not False
    y, err = _outcome(lambda: ops.activation_forward(x, act, alpha=0.2), good)
    if err is None:
        np.testing.assert_allclose(y, ref.activation_forward(np.asarray(x, np.float64), act, 0.2), rtol=1e-5,
                                   atol=1e-6)
    s, err = _outcome(lambda: ops.softmax_forward(x), good)
    if err is None and x.size:
        np.testing.assert_allclose(s, ref.softmax_forward(np.asarray(x, np.float64).reshape(-1, shape[-1]))
                                   .reshape(x.shape) if len(shape) > 1 else np.ones_like(x), rtol=1e-5, atol=1e-6)


@FUZZ
@given(data=st.data(), n=dims, h=pos, w=pos, c=pos, kh=pos, kw=pos, k=pos,
       strides=st.tuples(st.integers(-1, 3), st.integers(-1, 3)),
       pads=st.tuples(*[st.integers(-1, 3)] * 4))
def test_fuzz_conv_binding(data, n, h, w, c, kh, kw, k, strides, pads):
    x, gx = data.draw(arrays((n, h, w, c)))
    wt, gw = data.draw(arrays((kh, kw, c, k)))
    sh, sw = strides
    t, b, l, r = pads
    geometry_ok = sh > 0 and sw > 0 and min(pads) >= 0 and kh <= h + t + b and kw <= w + l + r
    oh = (h + t + b - kh) // sh + 1 if geometry_ok else 1
    ow = (w + l + r - kw) // sw + 1 if geometry_ok else 1
    out, gout = data.draw(arrays((n, oh, ow, k)))
    good = geometry_ok and gx is not False and gw is not False and gout is True
    _, err = _outcome(lambda: _C.conv2d_forward(x, wt, None, out, sh, sw, t, b, l, r, 0, 0.0), good)
    if err is None:
        want = ref.conv2d_forward(np.asarray(x, np.float64), np.asarray(wt, np.float64), None, (sh, sw), (t, b, l, r))
        np.testing.assert_allclose(out, want, rtol=1e-4, atol=1e-4)
        dx = np.empty((n, h, w, c), F)
        _C.conv2d_backward_data(out, wt, dx, sh, sw, t, b, l, r)
        np.testing.assert_allclose(dx, ref.conv2d_backward_data(np.asarray(out, np.float64),
                                                                np.asarray(wt, np.float64), x.shape, (sh, sw),
                                                                (t, b, l, r)), rtol=1e-4, atol=1e-3)


@FUZZ
@given(data=st.data(), n=dims, h=pos, w=pos, c=pos, window=st.tuples(st.integers(-1, 4), st.integers(-1, 4)),
       strides=st.tuples(st.integers(-1, 3), st.integers(-1, 3)), pads=st.tuples(*[st.integers(-1, 2)] * 4),
       kind=st.sampled_from(["max", "avg"]))
def test_fuzz_pool_binding(data, n, h, w, c, window, strides, pads, kind):
    x, gx = data.draw(arrays((n, h, w, c)))
    (ph, pw), (sh, sw), (t, b, l, r) = window, strides, pads
    geometry_ok = (min(ph, pw, sh, sw) > 0 and min(pads) >= 0 and ph <= h + t + b and pw <= w + l + r
                   and t < ph and b < ph and l < pw and r < pw)  # keep every window partly real
    oh = (h + t + b - ph) // sh + 1 if geometry_ok else 1
    ow = (w + l + r - pw) // sw + 1 if geometry_ok else 1
    out, gout = data.draw(arrays((n, oh, ow, c)))
    good = geometry_ok and gx is not False and gout is True
    fn = _C.maxpool2d_forward if kind == "max" else _C.avgpool2d_forward
    _, err = _outcome(lambda: fn(x, out, ph, pw, sh, sw, t, b, l, r), good)
    if err is None and geometry_ok:
        reff = ref.maxpool2d_forward if kind == "max" else ref.avgpool2d_forward
        try:
            want = reff(np.asarray(x, np.float64), (ph, pw), (sh, sw), (t, b, l, r))
        except ValueError:
            return  # the reference refuses this explicit padding
        np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-6)


@FUZZ
@given(data=st.data(), m=dims, k=dims, n=dims, ta=st.booleans(), tb=st.booleans(),
       shape_b=st.sampled_from(["right", "wrong"]))
def test_fuzz_sgemm_and_dense_binding(data, m, k, n, ta, tb, shape_b):
    a, ga = data.draw(arrays((k, m) if ta else (m, k)))
    bshape = (n, k) if tb else (k, n)
    if shape_b == "wrong":
        bshape = (bshape[0] + 1, bshape[1])
    b, gb = data.draw(arrays(bshape))
    out, gout = data.draw(arrays((m, n)))
    good = ga is not False and gb is not False and gout is True and shape_b == "right"
    _, err = _outcome(lambda: _C.sgemm(a, b, out, ta, tb, 1.0, 0.0), good)
    if err is None:
        A = np.asarray(a, np.float64).T if ta else np.asarray(a, np.float64)
        B = np.asarray(b, np.float64).T if tb else np.asarray(b, np.float64)
        np.testing.assert_allclose(out, A @ B, rtol=1e-4, atol=1e-4)
    if not ta and not tb:
        bias, gbias = data.draw(arrays((n,)))
        y = np.empty((m, n), F)
        good = good and gbias is not False
        _, err = _outcome(lambda: _C.dense_forward(a, b, bias, y, 1, 0.0), good)
        if err is None:
            want = np.maximum(np.asarray(a, np.float64) @ np.asarray(b, np.float64) + bias, 0)
            np.testing.assert_allclose(y, want, rtol=1e-4, atol=1e-4)


@FUZZ
@given(data=st.data(), rows=dims, cols=dims, loss=st.sampled_from(sorted(ops.LOSSES)),
       t_shape=st.sampled_from(["same", "other"]))
def test_fuzz_loss_and_bn_binding(data, rows, cols, loss, t_shape):
    p, gp = data.draw(arrays((rows, cols)))
    t, gt = data.draw(arrays((rows, cols) if t_shape == "same" else (rows, cols + 1)))
    out, gout = data.draw(arrays((rows,)))
    good = gp is not False and gt is not False and gout is True and t_shape == "same" and (rows == 0 or cols > 0)
    if loss in ("categorical_crossentropy", "binary_crossentropy") and good:
        p = np.abs(p) + np.float32(0.05)
        t = np.abs(t)
    _, err = _outcome(lambda: _C.loss_forward(p, t, out, ops.LOSSES[loss]), good)
    if err is None and rows:
        np.testing.assert_allclose(out, ref.loss_forward(np.asarray(p, np.float64), np.asarray(t, np.float64), loss),
                                   rtol=1e-4, atol=1e-5)
    gamma, gg = data.draw(arrays((cols,)))
    y = np.empty((rows, cols), F)
    mm, mv = np.zeros(cols, F), np.ones(cols, F)
    good_bn = gp is not False and gg is not False and rows > 0 and cols > 0
    _, err = _outcome(lambda: ops.batchnorm_forward_train(p, gamma, np.zeros(cols, F), mm, mv, out=y), good_bn)
    if err is None and cols:
        want = ref.batchnorm_forward_train(np.asarray(p, np.float64), np.asarray(gamma, np.float64),
                                           np.zeros(cols), np.zeros(cols), np.ones(cols))[0]
        np.testing.assert_allclose(y, want, rtol=1e-3, atol=1e-3)


@FUZZ
@given(data=st.data(), shape=st.lists(dims, min_size=1, max_size=3), kind=st.sampled_from(sorted(ops.OPTIMIZERS)),
       rate=st.one_of(st.floats(-0.5, 1.5), st.just(float('nan'))), seed=st.integers(-5, 2**64 + 5),
       offset=st.integers(-5, 2**64 + 5))
def test_fuzz_dropout_and_optimizer_binding(data, shape, kind, rate, seed, offset):
    x, gx = data.draw(arrays(shape))
    good = gx is not False and 0.0 <= rate < 1.0 and 0 <= seed < 2**64 and 0 <= offset < 2**64
    y, err = _outcome(lambda: ops.dropout_forward(x, rate, seed, offset), good)
    if err is None:
        np.testing.assert_allclose(y, ref.dropout_forward(np.asarray(x, np.float64), rate, seed, offset),
                                   rtol=1e-6, atol=1e-6)
    param, gparam = data.draw(arrays(shape))
    grad, ggrad = data.draw(arrays(shape))
    slots = [np.zeros(shape, F), np.ones(shape, F)]
    good = gparam is True and ggrad is not False
    _outcome(lambda: ops.optimizer_update(kind, param, grad, *slots, lr=0.01, momentum=0.9), good)

