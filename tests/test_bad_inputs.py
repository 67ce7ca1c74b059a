"""Bad inputs to every op raise TypeError or ValueError naming the argument; never a crash.

For each op a valid call is described once, in the op table (tests/opinfo/: OpInfo.valid,
and OpInfo.bad says what to corrupt); every array argument is then
replaced by a wrong dtype (float64, int32, bool, object), a Python list, a
non-contiguous view and a negatively strided view; the op's `out` by a read-only,
wrong-dtype and wrong-shape array; plus per-op wrong ranks, mismatched shapes and
an empty batch (n = 0), whose expected outcome is what the binding documents; and each op's
explicit bad calls (OpInfo.bad.variants: the exception type and the argument it must name).
Non-contiguous views may instead be accepted if the result is then correct.
"""
from __future__ import annotations

import re

import numpy as np
import pytest

import opinfo
from helpers import ops


SPECS = opinfo.OPS                # the op table: OpInfo.valid is the valid call, OpInfo.bad the rest
BY_NAME = opinfo.BY_NAME
NAMES = [s.name for s in SPECS]


def call(name, kwargs):
    return getattr(ops, name)(**kwargs)


def expect_error(name, kwargs, arg, kinds=(TypeError, ValueError)):
    """The call raises TypeError/ValueError whose message names `arg` (a word of the message)."""
    pattern = rf"(?<![\w.]){re.escape(arg)}(?![\w(])"
    try:
        call(name, kwargs)
    except kinds as e:
        assert re.search(pattern, str(e)), \
            f"{name}: bad {arg!r} raised {type(e).__name__} whose message does not name {arg!r}: {e}"
        return
    except Exception as e:  # noqa: BLE001
        pytest.fail(f"{name}: bad {arg!r} raised {type(e).__name__} (want TypeError/ValueError naming "
                    f"{arg!r}): {e}")
    pytest.fail(f"{name}: bad {arg!r} was accepted without an error")


def _array_cases():
    for s in SPECS:
        for arg in s.bad.arrays:
            yield pytest.param(s.name, arg, id=f"{s.name}-{arg}")


@pytest.mark.parametrize("name,arg", list(_array_cases()))
@pytest.mark.parametrize("dtype", [np.float64, np.int32, np.bool_, object])
def test_wrong_dtype(name, arg, dtype):
    kw = BY_NAME[name].valid()
    kw[arg] = kw[arg].astype(dtype)
    expect_error(name, kw, arg, kinds=(TypeError,) if dtype is not object else (TypeError, ValueError))


@pytest.mark.parametrize("name,arg", list(_array_cases()))
def test_python_list(name, arg):
    kw = BY_NAME[name].valid()
    kw[arg] = kw[arg].tolist()
    expect_error(name, kw, arg)


def _result(name, kw):
    r = call(name, kw)
    return tuple(np.array(v) if v is not None else None for v in (r if isinstance(r, tuple) else (r,)))


def _check_view(name, arg, view):
    """A strided view is either refused (ValueError naming arg) or handled correctly."""
    kw = BY_NAME[name].valid()
    good = dict(kw)
    good[arg] = np.ascontiguousarray(view)
    kw[arg] = view
    try:
        got = _result(name, kw)
    except (TypeError, ValueError) as e:
        assert re.search(rf"(?<![\w.]){re.escape(arg)}(?![\w(])", str(e)), \
            f"{name}: strided {arg!r} refused with a message that does not name it: {e}"
        return
    want = _result(name, good)
    for g, w in zip(got, want):
        if w is not None:
            np.testing.assert_allclose(g, w, rtol=1e-6, err_msg=f"{name}: strided {arg!r} accepted but wrong")


@pytest.mark.parametrize("name,arg", list(_array_cases()))
def test_non_contiguous(name, arg):
    a = BY_NAME[name].valid()[arg]
    big = np.repeat(a, 2, axis=-1)
    big[..., ::2] = a
    view = big[..., ::2]
    assert not view.flags.c_contiguous and view.shape == a.shape
    _check_view(name, arg, view)


@pytest.mark.parametrize("name,arg", list(_array_cases()))
def test_negative_strides(name, arg):
    a = BY_NAME[name].valid()[arg]
    axis = next(i for i, s in enumerate(a.shape) if s > 1)
    view = np.flip(np.flip(a, axis=axis).copy(), axis=axis)  # same values, negative stride
    assert view.strides[axis] < 0
    _check_view(name, arg, view)


@pytest.mark.parametrize("name", [s.name for s in SPECS if s.bad.rank])
def test_wrong_rank(name):
    for arg, bad in BY_NAME[name].bad.rank.items():
        kw = BY_NAME[name].valid()
        kw[arg] = bad
        expect_error(name, kw, arg)


@pytest.mark.parametrize("name", [s.name for s in SPECS if s.bad.shape])
def test_mismatched_shape(name):
    for arg, bad in BY_NAME[name].bad.shape.items():
        kw = BY_NAME[name].valid()
        kw[arg] = bad
        expect_error(name, kw, arg)


def _out_shape(name):
    r = call(name, BY_NAME[name].valid())
    return (r[0] if isinstance(r, tuple) else r).shape


@pytest.mark.parametrize("name", [s.name for s in SPECS if s.bad.has_out])
def test_read_only_out(name):
    kw = BY_NAME[name].valid()
    out = np.zeros(_out_shape(name), np.float32)
    out.flags.writeable = False
    kw["out"] = out
    expect_error(name, kw, "out", kinds=(ValueError,))
    assert not out.any(), f"{name}: wrote into a read-only out"


@pytest.mark.parametrize("name", [s.name for s in SPECS if s.bad.has_out])
def test_out_wrong_dtype_and_shape(name):
    shape = _out_shape(name)
    kw = BY_NAME[name].valid()
    kw["out"] = np.zeros(shape, np.float64)
    expect_error(name, kw, "out", kinds=(TypeError,))
    kw["out"] = np.zeros(tuple(s + 1 for s in shape), np.float32)
    expect_error(name, kw, "out", kinds=(ValueError,))


@pytest.mark.parametrize("name,arg", [(s.name, a) for s in SPECS for a in s.bad.writes])
def test_read_only_in_place_argument(name, arg):
    kw = BY_NAME[name].valid()
    kw[arg].flags.writeable = False
    expect_error(name, kw, arg, kinds=(ValueError,))


@pytest.mark.parametrize("name", [s.name for s in SPECS if s.bad.empty])
def test_empty_batch(name):
    spec = BY_NAME[name].bad
    kw = spec.empty()
    if spec.empty_error:
        with pytest.raises(ValueError, match=rf"(?<![\w.]){spec.empty_error}(?![\w(])"):
            call(name, kw)
        return
    r = call(name, kw)
    for v in (r if isinstance(r, tuple) else (r,)):
        if v is None:
            continue
        v = np.asarray(v)
        if v.size:  # reductions over an empty batch (dw, db) are zeros
            assert (v == 0).all(), f"{name}: reduction over an empty batch should give zeros, got {v}"


def test_sgemm_k_zero_gives_zeros():
    out = np.full((3, 5), np.nan, np.float32)
    ops.sgemm(np.zeros((3, 0), np.float32), np.zeros((0, 5), np.float32), out=out)
    assert (out == 0).all(), "sgemm with k = 0 and beta = 0 must write zeros"


@pytest.mark.parametrize("name,variant", [pytest.param(s.name, v, id=f"{s.name}-{v.id}")
                                          for s in SPECS for v in s.bad.variants])
def test_bad_variant(name, variant):
    expect_error(name, variant.kwargs(), variant.arg, kinds=(variant.error,))
