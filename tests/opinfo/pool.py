"""max / average / global-average pooling; ties pin the first-max rule (max-pool forward is exact)."""
import numpy as np

from helpers import assert_close, f32_rtol, Grad, ops, quantised, randn, ref

from .gpu import Out, assert_bitwise, compare, dev, f32, gpu_twice
from .core import Bad, BadInputs, Call, OpInfo, Sample, f, shape_id

# (n, h, w, c), pool_size, strides, padding
CASES = [
    ((1, 4, 4, 1), 2, None, "valid"),
    ((3, 7, 7, 3), 2, None, "valid"),
    ((3, 7, 7, 3), 2, None, "same"),
    ((1, 9, 8, 3), 3, 2, "same"),
    ((3, 5, 9, 1), 3, 1, "valid"),
    ((1, 7, 5, 3), (2, 3), (1, 2), "same"),
    ((3, 8, 7, 3), 5, 2, "same"),
    ((1, 6, 7, 3), 3, 2, (1, 0, 2, 1)),
    ((3, 5, 5, 1), 1, 1, "valid"),
    ((1, 11, 11, 3), 5, 3, (0, 2, 1, 0)),
]
GLOBAL_SHAPES = [(1, 1, 1, 1), (3, 5, 7, 3), (1, 4, 4, 1), (3, 16, 16, 9)]


def case_id(c):
    return f"x{c[0]}-p{c[1]}-s{c[2]}-{c[3]}".replace(" ", "")


def _kw(case):
    return dict(pool_size=case[1], strides=case[2], padding=case[3])


def _maxpool_forward_call(case, data):
    seed = 800 + CASES.index(case)
    rng = np.random.default_rng(seed)
    x = randn(rng, *case[0]) if data == "normal" else quantised(rng, *case[0])
    return Call(dict(x=x), _kw(case), seed=seed, rtol=0)


def _maxpool_backward_call(case, data):
    seed = 900 + CASES.index(case)
    rng = np.random.default_rng(seed)
    if data == "normal":
        x = randn(rng, *case[0])
    elif data == "ties":
        x = quantised(rng, *case[0])
    else:
        x = np.full(case[0], -0.5)
    dy = randn(rng, *ref.maxpool2d_forward(x, **_kw(case)).shape)
    grad = Grad(lambda x: ref.maxpool2d_forward(x, **_kw(case)), dict(x=x), dy, ["x"]) \
        if data == "normal" else None  # finite differences are one-sided at ties
    return Call(dict(x=x, dy=dy), _kw(case), seed=seed, reduction=25, grad=grad)


def _avgpool_forward_call(case):
    seed = 1000 + CASES.index(case)
    rng = np.random.default_rng(seed)
    return Call(dict(x=randn(rng, *case[0])), _kw(case), seed=seed, reduction=25)


def _avgpool_backward_call(case):
    seed = 1100 + CASES.index(case)
    rng = np.random.default_rng(seed)
    x = randn(rng, *case[0])
    dy = randn(rng, *ref.avgpool2d_forward(x, **_kw(case)).shape)
    grad = Grad(lambda x: ref.avgpool2d_forward(x, **_kw(case)), dict(x=x), dy, ["x"])
    return Call(dict(dy=dy), dict(x_shape=case[0], **_kw(case)), seed=seed, reduction=25, grad=grad)


def _global_data(shape):
    seed = 1200 + sum(shape)
    rng = np.random.default_rng(seed)
    x = randn(rng, *shape)
    dy = randn(rng, shape[0], shape[3])
    return seed, x, dy


def _global_forward_call(shape):
    seed, x, _ = _global_data(shape)
    return Call(dict(x=x), seed=seed, reduction=shape[1] * shape[2])


def _global_backward_call(shape):
    seed, x, dy = _global_data(shape)
    grad = Grad(ref.global_avgpool2d_forward, dict(x=x), dy, ["x"])
    return Call(dict(dy=dy), dict(x_shape=shape), seed=seed, grad=grad)


def _bench_pool(rng, n, h, w, c):
    return dict(x=rng.standard_normal((n, h, w, c)).astype(np.float32))


def _bench_maxpool_backward(rng, n, h, w, c):
    x = rng.standard_normal((n, h, w, c)).astype(np.float32)
    return dict(x=x, dy=rng.standard_normal((n, h // 2, w // 2, c)).astype(np.float32))

# ------------------------------------------------ CUDA paths (tests/test_cuda_paths.py)

CUDA_POOL_CASES = [  # (n, h, w, c), pool, stride, padding
    ((2, 8, 8, 3), 2, 2, "valid"),
    ((2, 9, 9, 5), 3, 2, "same"),
    ((1, 7, 7, 6), 3, 1, "valid"),      # overlapping windows: several dy per dx
    ((3, 6, 5, 64), 2, 1, "same"),
    ((2, 28, 28, 32), 2, 2, "valid"),   # mnist_cnn pool1
]



def _cuda_pool_data(kind, shape, rng):
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


def cuda_maxpool_case(cp, shape, pool, stride, padding, kind, seed):
    rng = np.random.default_rng(seed)
    x = _cuda_pool_data(kind, shape, rng)
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


def cuda_avgpool_case(cp, case):
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


OPS = [
    OpInfo("maxpool2d_forward", "pool",
           lambda: [Sample(f"{case_id(c)}-{d}", lambda c=c, d=d: _maxpool_forward_call(c, d))
                    for d in ["normal", "ties"] for c in CASES],
           valid=lambda: dict(x=f(2, 5, 5, 3)),
           bad=BadInputs(("x",), rank=dict(x=f(5, 5, 3)), empty=lambda: dict(x=f(0, 5, 5, 3)),
                         variants=[Bad("padding-full", lambda: dict(x=f(1, 5, 5, 1), padding="full"), "padding"),
                                   Bad("pool-larger-than-x", lambda: dict(x=f(1, 2, 2, 1), pool_size=3), "pool_size")]),
           bench=_bench_pool),
    OpInfo("maxpool2d_backward", "pool",
           lambda: [Sample(f"{case_id(c)}-{d}", lambda c=c, d=d: _maxpool_backward_call(c, d))
                    for d in ["normal", "ties", "all_equal"] for c in CASES],
           valid=lambda: dict(x=f(2, 5, 5, 3), dy=f(2, 2, 2, 3)),
           bad=BadInputs(("x", "dy"), rank=dict(x=f(5, 5, 3), dy=f(2, 2, 3)), shape=dict(dy=f(2, 3, 2, 3)),
                         empty=lambda: dict(x=f(0, 5, 5, 3), dy=f(0, 2, 2, 3))),
           bench=_bench_maxpool_backward),
    OpInfo("avgpool2d_forward", "pool",
           lambda: [Sample(case_id(c), lambda c=c: _avgpool_forward_call(c)) for c in CASES],
           valid=lambda: dict(x=f(2, 5, 5, 3)),
           bad=BadInputs(("x",), rank=dict(x=f(5, 5, 3)), empty=lambda: dict(x=f(0, 5, 5, 3))),
           variants=[{}, dict(padding="same")]),
    OpInfo("avgpool2d_backward", "pool",
           lambda: [Sample(case_id(c), lambda c=c: _avgpool_backward_call(c)) for c in CASES],
           valid=lambda: dict(dy=f(2, 2, 2, 3), x_shape=(2, 5, 5, 3)),
           bad=BadInputs(("dy",), rank=dict(dy=f(2, 2, 3)), shape=dict(dy=f(2, 3, 2, 3)),
                         empty=lambda: dict(dy=f(0, 2, 2, 3), x_shape=(0, 5, 5, 3)))),
    OpInfo("global_avgpool2d_forward", "pool",
           lambda: [Sample(shape_id(s), lambda s=s: _global_forward_call(s)) for s in GLOBAL_SHAPES],
           valid=lambda: dict(x=f(2, 3, 4, 5)),
           bad=BadInputs(("x",), rank=dict(x=f(3, 4, 5)), empty=lambda: dict(x=f(0, 3, 4, 5)))),
    OpInfo("global_avgpool2d_backward", "pool",
           lambda: [Sample(shape_id(s), lambda s=s: _global_backward_call(s)) for s in GLOBAL_SHAPES],
           valid=lambda: dict(dy=f(2, 5), x_shape=(2, 3, 4, 5)),
           bad=BadInputs(("dy",), rank=dict(dy=f(2, 5, 1)), shape=dict(dy=f(2, 6)),
                         empty=lambda: dict(dy=f(0, 5), x_shape=(0, 3, 4, 5)))),
]
