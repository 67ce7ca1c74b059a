"""Elementwise activations and softmax."""
import numpy as np

from helpers import assert_close, f32_rtol, Grad, ops, randn, ref

from .gpu import Out, compare, dev, f32, gpu_twice
from .core import Bad, BadInputs, Call, OpInfo, Sample, f, shape_id

ACTS = ["linear", "relu", "sigmoid", "tanh", "leaky_relu", "step"]


def _x(rng, shape):
    x = randn(rng, *shape, scale=3)
    x[np.abs(x) < 1e-3] = 0.25  # away from the kinks at 0 (finite differences)
    return x


def _activation_forward():
    def make(act, shape):
        seed = 1300 + ACTS.index(act) + sum(shape)
        rng = np.random.default_rng(seed)
        return Call(dict(x=_x(rng, shape)), dict(activation=act, alpha=0.1), seed=seed)
    return [Sample(f"{act}-{shape_id(shape)}", lambda a=act, s=shape: make(a, s))
            for shape in [(1,), (7,), (3, 5), (2, 3, 4, 5), (1031,)] for act in ACTS]


def _activation_backward():
    def make(act, shape):
        seed = 1400 + ACTS.index(act) + sum(shape)
        rng = np.random.default_rng(seed)
        x = _x(rng, shape)
        y = ref.activation_forward(x.astype(np.float32), act, 0.1).astype(np.float32).astype(np.float64)
        dy = randn(rng, *shape)
        # the kernel sees y rounded to float32 (so does the reference here); the finite differences
        # check the reference separately with the exact float64 y
        grad = Grad(lambda x: ref.activation_forward(x, act, 0.1), dict(x=x), dy, ["x"])
        return Call(dict(x=x, y=y, dy=dy), dict(activation=act, alpha=0.1), seed=seed,
                    fd=(grad, lambda: ref.activation_backward(x, ref.activation_forward(x, act, 0.1), dy, act, 0.1)))
    return [Sample(f"{act}-{shape_id(shape)}", lambda a=act, s=shape: make(a, s))
            for shape in [(1,), (3, 5), (2, 3, 4, 5), (1031,)] for act in ACTS]


def _softmax_forward():
    def make(shape, big):
        seed = 1500 + sum(shape)
        rng = np.random.default_rng(seed)
        x = randn(rng, *shape, scale=5)
        if big:  # large logits must not overflow
            x = randn(rng, *shape, scale=5) + 500
        return Call(dict(x=x), seed=seed, reduction=shape[-1])
    return [Sample(f"{shape_id(shape)}" + ("-plus500" if big else ""), lambda s=shape, b=big: make(s, b))
            for shape in [(1, 1), (1, 10), (3, 7), (5, 1000), (2, 3, 5)] for big in (False, True)]


def _softmax_backward():
    def make(shape):
        seed = 1600 + sum(shape)
        rng = np.random.default_rng(seed)
        x = randn(rng, *shape, scale=2)
        y = ref.softmax_forward(x).astype(np.float32).astype(np.float64)
        dy = randn(rng, *shape)
        # the finite differences are of softmax(x); y above is softmax(x) rounded to float32
        grad = Grad(ref.softmax_forward, dict(x=x), dy, ["x"])
        return Call(dict(y=y, dy=dy), seed=seed, reduction=shape[-1],
                    fd=(grad, lambda: ref.softmax_backward(ref.softmax_forward(x), dy)))
    return [Sample(shape_id(shape), lambda s=shape: make(s)) for shape in [(1, 1), (1, 10), (3, 7), (5, 100)]]


def _bench_act(rng, n, shape, act="relu"):
    x = rng.standard_normal((n,) + tuple(shape)).astype(np.float32)
    return dict(x=x, activation=act)


def _bench_act_backward(rng, n, shape, act="relu"):
    x = rng.standard_normal((n,) + tuple(shape)).astype(np.float32)
    y = ref.activation_forward(x.astype(np.float64), act, 0.0).astype(np.float32)
    return dict(x=x, y=y, dy=rng.standard_normal(x.shape).astype(np.float32), activation=act)


def _bench_softmax(rng, rows, cols):
    return dict(x=rng.standard_normal((rows, cols)).astype(np.float32))

# ------------------------------------------------ CUDA paths (tests/test_cuda_paths.py)

CUDA_SOFTMAX_COLS = [1, 2, 31, 32, 33, 1024, 1025, 2047, 4097, 10000]


def _cuda_softmax_rows(rng, cols):
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


def cuda_softmax_case(cp, cols, seed):
    rng = np.random.default_rng(seed)
    x = _cuda_softmax_rows(rng, cols)
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


CUDA_ACTS = ["relu", "sigmoid", "tanh", "leaky_relu", "step", "linear"]


def cuda_activation_case(cp, act, n, off, seed):
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


OPS = [
    OpInfo("activation_forward", "activation", _activation_forward,
           valid=lambda: dict(x=f(3, 4), activation="tanh"),
           bad=BadInputs(("x",), empty=lambda: dict(x=f(0, 4), activation="tanh"),
                         variants=[Bad("unknown-activation", lambda: dict(x=f(3), activation="swish"), "activation")]),
           variants=[dict(activation=a) for a in ACTS], bench=_bench_act),
    OpInfo("activation_backward", "activation", _activation_backward,
           valid=lambda: dict(x=f(3, 4), y=f(3, 4), dy=f(3, 4), activation="tanh"),
           bad=BadInputs(("x", "y", "dy"), shape=dict(y=f(3, 5), dy=f(4, 4)),
                         empty=lambda: dict(x=f(0, 4), y=f(0, 4), dy=f(0, 4), activation="tanh")),
           variants=[dict(activation=a) for a in ACTS], bench=_bench_act_backward),
    OpInfo("softmax_forward", "activation", _softmax_forward,
           valid=lambda: dict(x=f(3, 4)),
           bad=BadInputs(("x",), rank=dict(x=np.zeros((), np.float32)), empty=lambda: dict(x=f(0, 4))),
           bench=_bench_softmax),
    OpInfo("softmax_backward", "activation", _softmax_backward,
           valid=lambda: dict(y=f(3, 4), dy=f(3, 4)),
           bad=BadInputs(("y", "dy"), shape=dict(dy=f(3, 5)), empty=lambda: dict(y=f(0, 4), dy=f(0, 4)))),
]
