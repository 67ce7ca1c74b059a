"""Elementwise activations and softmax."""
import numpy as np

from helpers import Grad, randn, ref

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
