"""Hypothesis: random shapes, strides and paddings for conv2d and pooling against the reference."""
import numpy as np
from hypothesis import HealthCheck, given, settings, strategies as st

from helpers import Grad, check_op, randn, ref

# bounded: ~30 examples per test, no deadline (the reference is slow), no example database in the repo
SETTINGS = settings(max_examples=30, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])


@st.composite
def geometry(draw, max_pad_below_window=True):
    n = draw(st.integers(1, 3))
    c = draw(st.integers(1, 4))
    kh, kw = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    mode = draw(st.sampled_from(["valid", "same", "explicit"]))
    if mode == "explicit":
        # every window keeps at least one real cell: pads < window
        padding = (draw(st.integers(0, kh - 1)), draw(st.integers(0, kh - 1)),
                   draw(st.integers(0, kw - 1)), draw(st.integers(0, kw - 1)))
    else:
        padding = mode
    lo_h = kh if mode == "valid" else 1
    lo_w = kw if mode == "valid" else 1
    h, w = draw(st.integers(lo_h, lo_h + 8)), draw(st.integers(lo_w, lo_w + 8))
    if mode == "explicit":
        h, w = max(h, kh - padding[0] - padding[1]), max(w, kw - padding[2] - padding[3])
    seed = draw(st.integers(0, 2**31 - 1))
    return (n, h, w, c), (kh, kw), (sh, sw), padding, seed


@SETTINGS
@given(geometry(), st.integers(1, 4))
def test_conv2d_fuzz(geom, k):
    xs, (kh, kw), strides, padding, seed = geom
    rng = np.random.default_rng(seed)
    x, w, b = randn(rng, *xs), randn(rng, kh, kw, xs[3], k), randn(rng, k)
    kw_ = dict(strides=strides, padding=padding)
    check_op("conv2d_forward", dict(x=x, w=w, b=b), kw_, seed=seed, reduction=kh * kw * xs[3])
    dy = randn(rng, *ref.conv2d_forward(x, w, None, **kw_).shape)
    check_op("conv2d_backward_data", dict(dy=dy, w=w), dict(x_shape=xs, **kw_), seed=seed,
             reduction=kh * kw * k,
             grad_of=Grad(lambda x: ref.conv2d_forward(x, w, None, **kw_), dict(x=x), dy, ["x"]))
    check_op("conv2d_backward_filter", dict(x=x, dy=dy), dict(w_shape=w.shape, **kw_), seed=seed,
             reduction=int(np.prod(dy.shape[:3])),
             grad_of=Grad(lambda w: ref.conv2d_forward(x, w, None, **kw_), dict(w=w), dy, ["w"]))


@SETTINGS
@given(geometry(), st.booleans())
def test_pool_fuzz(geom, ties):
    xs, pool, strides, padding, seed = geom
    rng = np.random.default_rng(seed)
    x = rng.integers(-2, 3, size=xs).astype(np.float64) if ties else randn(rng, *xs)
    kw_ = dict(pool_size=pool, strides=strides, padding=padding)
    check_op("maxpool2d_forward", dict(x=x), kw_, seed=seed, rtol=0)
    check_op("avgpool2d_forward", dict(x=x), kw_, seed=seed, reduction=pool[0] * pool[1])
    dy = randn(rng, *ref.maxpool2d_forward(x, **kw_).shape)
    check_op("maxpool2d_backward", dict(x=x, dy=dy), kw_, seed=seed, reduction=25,
             grad_of=None if ties else Grad(lambda x: ref.maxpool2d_forward(x, **kw_), dict(x=x), dy, ["x"]))
    check_op("avgpool2d_backward", dict(dy=dy), dict(x_shape=xs, **kw_), seed=seed, reduction=25,
             grad_of=Grad(lambda x: ref.avgpool2d_forward(x, **kw_), dict(x=x), dy, ["x"]))
