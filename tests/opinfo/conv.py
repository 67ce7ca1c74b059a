"""conv2d forward / backward data / backward filter (finite differences for the backward ops)."""
import numpy as np

from helpers import f32_rtol, Grad, ops, randn, ref

from .gpu import Out, compare, dev, f32, gpu_twice
from .core import Bad, BadInputs, Call, OpInfo, Sample, f

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


def case_id(c):
    return f"x{c[0]}-k{c[1]}-s{c[2]}-{c[3]}".replace(" ", "")


def _forward_call(case, act, seed, alpha=None):
    xs, (kh, kw, k), strides, padding = case
    rng = np.random.default_rng(seed)
    inputs = dict(x=randn(rng, *xs), w=randn(rng, kh, kw, xs[3], k), b=randn(rng, k))
    kwargs = dict(strides=strides, padding=padding, activation=act)
    if alpha is not None:
        kwargs["alpha"] = alpha
    return Call(inputs, kwargs, seed=seed, reduction=kh * kw * xs[3])


def _backward_data_call(case, seed):
    xs, (kh, kw, k), strides, padding = case
    rng = np.random.default_rng(seed)
    x, w = randn(rng, *xs), randn(rng, kh, kw, xs[3], k)
    dy = randn(rng, *ref.conv2d_forward(x, w, None, strides, padding).shape)
    grad = Grad(lambda x: ref.conv2d_forward(x, w, None, strides, padding), dict(x=x), dy, ["x"])
    return Call(dict(dy=dy, w=w), dict(x_shape=xs, strides=strides, padding=padding), seed=seed,
                reduction=kh * kw * k, grad=grad)


def _backward_filter_call(case, seed):
    xs, (kh, kw, k), strides, padding = case
    rng = np.random.default_rng(seed)
    x, w = randn(rng, *xs), randn(rng, kh, kw, xs[3], k)
    dy = randn(rng, *ref.conv2d_forward(x, w, None, strides, padding).shape)
    grad = Grad(lambda w: ref.conv2d_forward(x, w, None, strides, padding), dict(w=w), dy, ["w"])
    return Call(dict(x=x, dy=dy), dict(w_shape=w.shape, strides=strides, padding=padding), seed=seed,
                reduction=int(np.prod(dy.shape[:3])), grad=grad)


def _conv2d_forward():
    out = [Sample(f"{act}-{case_id(c)}", lambda c=c, a=act, i=i: _forward_call(c, a, 500 + i))
           for i, c in enumerate(CASES) for act in ["linear", "relu"]]
    out += [Sample(f"epilogue-{act}-{case_id(CASES[i])}",
                   lambda i=i, a=act: _forward_call(CASES[i], a, 550 + i, alpha=0.2))
            for i in (1, 6) for act in ["sigmoid", "tanh", "leaky_relu"]]
    out += [Sample(f"few-channels-{act}-{case_id(c)}", lambda c=c, a=act, i=i: _forward_call(c, a, 800 + i))
            for i, c in enumerate(SMALL_CASES) for act in ["linear", "relu", "tanh"]]
    return out


def _conv2d_backward_data():
    out = [Sample(case_id(c), lambda c=c, i=i: _backward_data_call(c, 600 + i)) for i, c in enumerate(CASES)]
    out += [Sample(f"few-channels-{case_id(c)}", lambda c=c, i=i: _backward_data_call(c, 1000 + i))
            for i, c in enumerate(SMALL_CASES[:6])]
    return out


def _conv2d_backward_filter():
    out = [Sample(case_id(c), lambda c=c, i=i: _backward_filter_call(c, 700 + i)) for i, c in enumerate(CASES)]
    out += [Sample(f"few-channels-{case_id(c)}", lambda c=c, i=i: _backward_filter_call(c, 900 + i))
            for i, c in enumerate(SMALL_CASES)]
    return out


def _bench_x_w(rng, n, h, w, c, k, f_):
    x = rng.standard_normal((n, h, w, c)).astype(np.float32)
    wt = (rng.standard_normal((k, k, c, f_)) * np.sqrt(2.0 / (k * k * c))).astype(np.float32)
    return x, wt


def _bench_forward(rng, n, h, w, c, k, f, activation="relu", padding="same"):
    x, wt = _bench_x_w(rng, n, h, w, c, k, f)
    return dict(x=x, w=wt, b=rng.standard_normal(f).astype(np.float32), padding=padding, activation=activation)


def _bench_backward_data(rng, n, h, w, c, k, f, padding="same"):
    x, wt = _bench_x_w(rng, n, h, w, c, k, f)
    oh, ow = ref.conv_output_shape(x.shape, f, k, 1, padding)[1:3]
    return dict(dy=rng.standard_normal((n, oh, ow, f)).astype(np.float32), w=wt, x_shape=x.shape, padding=padding)


def _bench_backward_filter(rng, n, h, w, c, k, f, padding="same"):
    x, wt = _bench_x_w(rng, n, h, w, c, k, f)
    oh, ow = ref.conv_output_shape(x.shape, f, k, 1, padding)[1:3]
    return dict(x=x, dy=rng.standard_normal((n, oh, ow, f)).astype(np.float32), w_shape=wt.shape, padding=padding)

# ------------------------------------------------ CUDA paths (tests/test_cuda_paths.py)

CUDA_CONV_CHANNELS = [3, 5, 6, 8, 64]
# (name, n, h, w, kernel, stride, padding)
CUDA_CONV_GEOMETRIES = [
    ("3x3-s1-same", 2, 7, 7, 3, 1, "same"),
    ("2x2-s1-same", 2, 6, 6, 2, 1, "same"),      # Keras puts the extra pad row/col at the bottom/right
    ("3x3-s2-valid", 2, 9, 8, 3, 2, "valid"),
]



def cuda_conv_case(cp, n, h, w, c, kernel, k, stride, padding, act, seed, x_off=0, out_off=0):
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


CUDA_SPLITK_CONV = [
    ("mnist_cnn-conv2-b32", 32, 14, 14, 32, 3, 64, 1, "same"),
    ("cifar10_improved-conv6-b32", 32, 8, 8, 128, 3, 128, 1, "same"),
    ("odd-P-tail", 3, 19, 19, 8, 3, 5, 1, "valid"),      # P = 867: last split shorter
    ("c3-2x2-same", 4, 33, 33, 3, 2, 16, 1, "same"),      # cifar10_cnn conv1-like, odd sizes
    ("c1-mnist_cnn-conv1-b16", 16, 28, 28, 1, 3, 32, 1, "same"),
]


OPS = [
    OpInfo("conv2d_forward", "conv", _conv2d_forward,
           valid=lambda: dict(x=f(2, 5, 5, 3), w=f(3, 3, 3, 4), b=f(4)),
           bad=BadInputs(("x", "w", "b"), rank=dict(x=f(5, 5, 3), w=f(3, 3, 3)), shape=dict(w=f(3, 3, 2, 4), b=f(5)),
                         empty=lambda: dict(x=f(0, 5, 5, 3), w=f(3, 3, 3, 4), b=f(4)),
                         variants=[Bad("strides0", lambda: dict(x=f(1, 5, 5, 1), w=f(3, 3, 1, 1), strides=0),
                                       "strides"),
                                   Bad("w-larger-than-x", lambda: dict(x=f(1, 2, 2, 1), w=f(3, 3, 1, 1)), "w")]),
           variants=[dict(padding="same", activation="relu"), dict(strides=2)], bench=_bench_forward),
    OpInfo("conv2d_backward_data", "conv", _conv2d_backward_data,
           valid=lambda: dict(dy=f(2, 3, 3, 4), w=f(3, 3, 3, 4), x_shape=(2, 5, 5, 3)),
           bad=BadInputs(("dy", "w"), rank=dict(dy=f(3, 3, 4), w=f(3, 3, 3)), shape=dict(dy=f(2, 3, 4, 4)),
                         empty=lambda: dict(dy=f(0, 3, 3, 4), w=f(3, 3, 3, 4), x_shape=(0, 5, 5, 3))),
           bench=_bench_backward_data),
    OpInfo("conv2d_backward_filter", "conv", _conv2d_backward_filter,
           valid=lambda: dict(x=f(2, 5, 5, 3), dy=f(2, 3, 3, 4), w_shape=(3, 3, 3, 4)),
           bad=BadInputs(("x", "dy"), rank=dict(x=f(5, 5, 3), dy=f(3, 3, 4)), shape=dict(dy=f(2, 3, 3, 5)),
                         empty=lambda: dict(x=f(0, 5, 5, 3), dy=f(0, 3, 3, 4), w_shape=(3, 3, 3, 4))),
           bench=_bench_backward_filter),
]
