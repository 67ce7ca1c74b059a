"""Bad inputs to every op raise TypeError or ValueError naming the argument; never a crash.

For each op a valid call is described once (SPECS); every array argument is then
replaced by a wrong dtype (float64, int32, bool, object), a Python list, a
non-contiguous view and a negatively strided view; the op's `out` by a read-only,
wrong-dtype and wrong-shape array; plus per-op wrong ranks, mismatched shapes and
an empty batch (n = 0), whose expected outcome is what the binding documents.
Non-contiguous views may instead be accepted if the result is then correct.
"""
from __future__ import annotations

import dataclasses
import re
from typing import Callable, Optional

import numpy as np
import pytest

from helpers import ops


def f(*shape, seed=0):
    return np.random.default_rng(seed + len(shape)).uniform(0.1, 0.9, size=shape).astype(np.float32)


@dataclasses.dataclass
class Spec:
    name: str
    make: Callable[[], dict]                 # a valid call's keyword arguments
    arrays: tuple                            # array arguments to corrupt
    rank: dict = dataclasses.field(default_factory=dict)   # arg -> array of a wrong rank
    shape: dict = dataclasses.field(default_factory=dict)  # arg -> array of a mismatched shape
    empty: Optional[Callable[[], dict]] = None             # a call with batch 0
    empty_error: Optional[str] = None        # None: must work; else the name in the ValueError
    has_out: bool = True
    writes: tuple = ()                       # in-place arguments besides out


SPECS = [
    Spec("sgemm", lambda: dict(a=f(3, 4), b=f(4, 5)), ("a", "b"),
         rank=dict(a=f(3, 4, 1), b=f(4)), shape=dict(b=f(5, 5)),
         empty=lambda: dict(a=f(0, 4), b=f(4, 5))),
    Spec("dense_forward", lambda: dict(x=f(3, 4), w=f(4, 5), b=f(5)), ("x", "w", "b"),
         rank=dict(x=f(3, 4, 1), w=f(4, 5, 1)), shape=dict(w=f(3, 5), b=f(6)),
         empty=lambda: dict(x=f(0, 4), w=f(4, 5), b=f(5))),
    Spec("dense_backward", lambda: dict(x=f(3, 4), w=f(4, 5), dy=f(3, 5)), ("x", "w", "dy"),
         rank=dict(dy=f(3, 5, 1)), shape=dict(dy=f(3, 6)), has_out=False,
         empty=lambda: dict(x=f(0, 4), w=f(4, 5), dy=f(0, 5))),
    Spec("bias_backward", lambda: dict(dy=f(3, 5)), ("dy",), rank=dict(dy=np.float32(1.0) + np.zeros((), np.float32)),
         empty=lambda: dict(dy=f(0, 5))),
    Spec("conv2d_forward", lambda: dict(x=f(2, 5, 5, 3), w=f(3, 3, 3, 4), b=f(4)), ("x", "w", "b"),
         rank=dict(x=f(5, 5, 3), w=f(3, 3, 3)), shape=dict(w=f(3, 3, 2, 4), b=f(5)),
         empty=lambda: dict(x=f(0, 5, 5, 3), w=f(3, 3, 3, 4), b=f(4))),
    Spec("conv2d_backward_data", lambda: dict(dy=f(2, 3, 3, 4), w=f(3, 3, 3, 4), x_shape=(2, 5, 5, 3)), ("dy", "w"),
         rank=dict(dy=f(3, 3, 4), w=f(3, 3, 3)), shape=dict(dy=f(2, 3, 4, 4)),
         empty=lambda: dict(dy=f(0, 3, 3, 4), w=f(3, 3, 3, 4), x_shape=(0, 5, 5, 3))),
    Spec("conv2d_backward_filter", lambda: dict(x=f(2, 5, 5, 3), dy=f(2, 3, 3, 4), w_shape=(3, 3, 3, 4)), ("x", "dy"),
         rank=dict(x=f(5, 5, 3), dy=f(3, 3, 4)), shape=dict(dy=f(2, 3, 3, 5)),
         empty=lambda: dict(x=f(0, 5, 5, 3), dy=f(0, 3, 3, 4), w_shape=(3, 3, 3, 4))),
    Spec("maxpool2d_forward", lambda: dict(x=f(2, 5, 5, 3)), ("x",), rank=dict(x=f(5, 5, 3)),
         empty=lambda: dict(x=f(0, 5, 5, 3))),
    Spec("maxpool2d_backward", lambda: dict(x=f(2, 5, 5, 3), dy=f(2, 2, 2, 3)), ("x", "dy"),
         rank=dict(x=f(5, 5, 3), dy=f(2, 2, 3)), shape=dict(dy=f(2, 3, 2, 3)),
         empty=lambda: dict(x=f(0, 5, 5, 3), dy=f(0, 2, 2, 3))),
    Spec("avgpool2d_forward", lambda: dict(x=f(2, 5, 5, 3)), ("x",), rank=dict(x=f(5, 5, 3)),
         empty=lambda: dict(x=f(0, 5, 5, 3))),
    Spec("avgpool2d_backward", lambda: dict(dy=f(2, 2, 2, 3), x_shape=(2, 5, 5, 3)), ("dy",),
         rank=dict(dy=f(2, 2, 3)), shape=dict(dy=f(2, 3, 2, 3)),
         empty=lambda: dict(dy=f(0, 2, 2, 3), x_shape=(0, 5, 5, 3))),
    Spec("global_avgpool2d_forward", lambda: dict(x=f(2, 3, 4, 5)), ("x",), rank=dict(x=f(3, 4, 5)),
         empty=lambda: dict(x=f(0, 3, 4, 5))),
    Spec("global_avgpool2d_backward", lambda: dict(dy=f(2, 5), x_shape=(2, 3, 4, 5)), ("dy",),
         rank=dict(dy=f(2, 5, 1)), shape=dict(dy=f(2, 6)),
         empty=lambda: dict(dy=f(0, 5), x_shape=(0, 3, 4, 5))),
    Spec("activation_forward", lambda: dict(x=f(3, 4), activation="tanh"), ("x",),
         empty=lambda: dict(x=f(0, 4), activation="tanh")),
    Spec("activation_backward", lambda: dict(x=f(3, 4), y=f(3, 4), dy=f(3, 4), activation="tanh"), ("x", "y", "dy"),
         shape=dict(y=f(3, 5), dy=f(4, 4)),
         empty=lambda: dict(x=f(0, 4), y=f(0, 4), dy=f(0, 4), activation="tanh")),
    Spec("softmax_forward", lambda: dict(x=f(3, 4)), ("x",), rank=dict(x=np.zeros((), np.float32)),
         empty=lambda: dict(x=f(0, 4))),
    Spec("softmax_backward", lambda: dict(y=f(3, 4), dy=f(3, 4)), ("y", "dy"), shape=dict(dy=f(3, 5)),
         empty=lambda: dict(y=f(0, 4), dy=f(0, 4))),
    Spec("loss_forward", lambda: dict(p=f(3, 4), t=f(3, 4)), ("p", "t"), rank=dict(p=f(12)), shape=dict(t=f(3, 5)),
         empty=lambda: dict(p=f(0, 4), t=f(0, 4))),
    Spec("loss_backward", lambda: dict(p=f(3, 4), t=f(3, 4)), ("p", "t"), rank=dict(p=f(12)), shape=dict(t=f(3, 5)),
         empty=lambda: dict(p=f(0, 4), t=f(0, 4))),
    Spec("softmax_cross_entropy_backward", lambda: dict(p=f(3, 4), t=f(3, 4)), ("p", "t"),
         rank=dict(p=f(12)), shape=dict(t=f(3, 5)), empty=lambda: dict(p=f(0, 4), t=f(0, 4))),
    Spec("batchnorm_forward_train",
         lambda: dict(x=f(6, 3), gamma=f(3), beta=f(3), moving_mean=f(3), moving_var=f(3)),
         ("x", "gamma", "beta", "moving_mean", "moving_var"), rank=dict(x=f(18)),
         shape=dict(gamma=f(4), beta=f(2), moving_mean=f(4), moving_var=f(4)),
         empty=lambda: dict(x=f(0, 3), gamma=f(3), beta=f(3), moving_mean=f(3), moving_var=f(3)),
         empty_error="x", writes=("moving_mean", "moving_var")),
    Spec("batchnorm_forward_inference",
         lambda: dict(x=f(6, 3), gamma=f(3), beta=f(3), moving_mean=f(3), moving_var=f(3)),
         ("x", "gamma", "beta", "moving_mean", "moving_var"), rank=dict(x=f(18)),
         shape=dict(gamma=f(4), beta=f(2), moving_mean=f(4), moving_var=f(4)),
         empty=lambda: dict(x=f(0, 3), gamma=f(3), beta=f(3), moving_mean=f(3), moving_var=f(3))),
    Spec("batchnorm_backward",
         lambda: dict(x=f(6, 3), dy=f(6, 3), gamma=f(3), save_mean=f(3), save_invstd=f(3)),
         ("x", "dy", "gamma", "save_mean", "save_invstd"), rank=dict(x=f(18)),
         shape=dict(dy=f(6, 4), gamma=f(4), save_mean=f(2), save_invstd=f(4)),
         empty=lambda: dict(x=f(0, 3), dy=f(0, 3), gamma=f(3), save_mean=f(3), save_invstd=f(3)),
         empty_error="x"),
    Spec("dropout_forward", lambda: dict(x=f(3, 4), rate=0.5, seed=1), ("x",),
         empty=lambda: dict(x=f(0, 4), rate=0.5, seed=1)),
    Spec("dropout_backward", lambda: dict(dy=f(3, 4), rate=0.5, seed=1), ("dy",),
         empty=lambda: dict(dy=f(0, 4), rate=0.5, seed=1)),
    Spec("optimizer_update",
         lambda: dict(kind="adam", param=f(5), grad=f(5), slot1=f(5), slot2=f(5), lr=0.1, c1=0.1),
         ("param", "grad", "slot1", "slot2"), shape=dict(grad=f(6), slot1=f(4), slot2=f(6)), has_out=False,
         writes=("param", "slot1", "slot2"),
         empty=lambda: dict(kind="adam", param=f(0), grad=f(0), slot1=f(0), slot2=f(0), lr=0.1, c1=0.1)),
    Spec("affine_transform", lambda: dict(x=f(2, 5, 4, 3), matrices=f(2, 6)), ("x", "matrices"),
         rank=dict(x=f(5, 4, 3), matrices=f(12)), shape=dict(matrices=f(3, 6)),
         empty=lambda: dict(x=f(0, 5, 4, 3), matrices=f(0, 6))),
]
BY_NAME = {s.name: s for s in SPECS}
NAMES = [s.name for s in SPECS]


def test_every_op_has_a_spec():
    api = {n for n in ops.__all__ if n[0].islower() and not n.endswith(("_padding", "_shape"))}
    assert api == set(BY_NAME), f"ops without a bad-input spec: {sorted(api - set(BY_NAME))}"


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
        for arg in s.arrays:
            yield pytest.param(s.name, arg, id=f"{s.name}-{arg}")


@pytest.mark.parametrize("name,arg", list(_array_cases()))
@pytest.mark.parametrize("dtype", [np.float64, np.int32, np.bool_, object])
def test_wrong_dtype(name, arg, dtype):
    kw = BY_NAME[name].make()
    kw[arg] = kw[arg].astype(dtype)
    expect_error(name, kw, arg, kinds=(TypeError,) if dtype is not object else (TypeError, ValueError))


@pytest.mark.parametrize("name,arg", list(_array_cases()))
def test_python_list(name, arg):
    kw = BY_NAME[name].make()
    kw[arg] = kw[arg].tolist()
    expect_error(name, kw, arg)


def _result(name, kw):
    r = call(name, kw)
    return tuple(np.array(v) if v is not None else None for v in (r if isinstance(r, tuple) else (r,)))


def _check_view(name, arg, view):
    """A strided view is either refused (ValueError naming arg) or handled correctly."""
    kw = BY_NAME[name].make()
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
    a = BY_NAME[name].make()[arg]
    big = np.repeat(a, 2, axis=-1)
    big[..., ::2] = a
    view = big[..., ::2]
    assert not view.flags.c_contiguous and view.shape == a.shape
    _check_view(name, arg, view)


@pytest.mark.parametrize("name,arg", list(_array_cases()))
def test_negative_strides(name, arg):
    a = BY_NAME[name].make()[arg]
    axis = next(i for i, s in enumerate(a.shape) if s > 1)
    view = np.flip(np.flip(a, axis=axis).copy(), axis=axis)  # same values, negative stride
    assert view.strides[axis] < 0
    _check_view(name, arg, view)


@pytest.mark.parametrize("name", [s.name for s in SPECS if s.rank])
def test_wrong_rank(name):
    for arg, bad in BY_NAME[name].rank.items():
        kw = BY_NAME[name].make()
        kw[arg] = bad
        expect_error(name, kw, arg)


@pytest.mark.parametrize("name", [s.name for s in SPECS if s.shape])
def test_mismatched_shape(name):
    for arg, bad in BY_NAME[name].shape.items():
        kw = BY_NAME[name].make()
        kw[arg] = bad
        expect_error(name, kw, arg)


def _out_shape(name):
    r = call(name, BY_NAME[name].make())
    return (r[0] if isinstance(r, tuple) else r).shape


@pytest.mark.parametrize("name", [s.name for s in SPECS if s.has_out])
def test_read_only_out(name):
    kw = BY_NAME[name].make()
    out = np.zeros(_out_shape(name), np.float32)
    out.flags.writeable = False
    kw["out"] = out
    expect_error(name, kw, "out", kinds=(ValueError,))
    assert not out.any(), f"{name}: wrote into a read-only out"


@pytest.mark.parametrize("name", [s.name for s in SPECS if s.has_out])
def test_out_wrong_dtype_and_shape(name):
    shape = _out_shape(name)
    kw = BY_NAME[name].make()
    kw["out"] = np.zeros(shape, np.float64)
    expect_error(name, kw, "out", kinds=(TypeError,))
    kw["out"] = np.zeros(tuple(s + 1 for s in shape), np.float32)
    expect_error(name, kw, "out", kinds=(ValueError,))


@pytest.mark.parametrize("name,arg", [(s.name, a) for s in SPECS for a in s.writes])
def test_read_only_in_place_argument(name, arg):
    kw = BY_NAME[name].make()
    kw[arg].flags.writeable = False
    expect_error(name, kw, arg, kinds=(ValueError,))


@pytest.mark.parametrize("name", [s.name for s in SPECS if s.empty])
def test_empty_batch(name):
    spec = BY_NAME[name]
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


def test_mixed_activation_and_loss_names():
    with pytest.raises(ValueError, match="activation"):
        ops.activation_forward(f(3), activation="swish")
    with pytest.raises(ValueError, match="loss"):
        ops.loss_forward(f(2, 3), f(2, 3), loss="hinge")
    with pytest.raises(ValueError, match="strides"):
        ops.conv2d_forward(f(1, 5, 5, 1), f(3, 3, 1, 1), strides=0)
    with pytest.raises(ValueError, match="padding"):
        ops.maxpool2d_forward(f(1, 5, 5, 1), padding="full")
    with pytest.raises(ValueError, match="pool_size"):
        ops.maxpool2d_forward(f(1, 2, 2, 1), pool_size=3)
    with pytest.raises(ValueError, match="w"):
        ops.conv2d_forward(f(1, 2, 2, 1), f(3, 3, 1, 1))
