"""Losses (forward per sample, backward of the batch mean) and the fused softmax + cross-entropy."""
import itertools

import numpy as np

from helpers import f32_rtol, Grad, ops, randn, ref

from .gpu import Out, compare, dev, f32, gpu_twice
from .core import Bad, BadInputs, Call, OpInfo, Sample, f

LOSSES = ["categorical_crossentropy", "binary_crossentropy", "mse", "mae"]
SIZES = [(1, 1), (1, 10), (3, 7), (32, 10), (5, 513)]


def _data(rng, loss, rows, cols, normalised):
    p = rng.uniform(0.02, 0.98, size=(rows, cols))
    if loss == "categorical_crossentropy":
        if normalised:
            p /= p.sum(axis=1, keepdims=True)
        t = np.eye(cols)[rng.integers(0, cols, rows)]
    else:
        t = rng.uniform(0, 1, size=(rows, cols))
        if loss == "mae":  # away from the kink p == t
            t = np.where(np.abs(p - t) < 1e-3, t + 0.01, t)
    return p.astype(np.float32).astype(np.float64), t.astype(np.float32).astype(np.float64)


def _call(loss, rows, cols, normalised, backward):
    seed = 1700 + LOSSES.index(loss) * 50 + rows + cols + normalised
    rng = np.random.default_rng(seed)
    p, t = _data(rng, loss, rows, cols, normalised)
    grad = Grad(lambda p: np.mean(ref.loss_forward(p, t, loss)), dict(p=p), np.array(1.0), ["p"]) \
        if backward else None
    return Call(dict(p=p, t=t), dict(loss=loss), seed=seed, reduction=cols, grad=grad)


# p values of exactly 0 and 1 are clipped to [1e-7, 1 - 1e-7]; the clip's gradient is 0 there
def _clipping_call(loss):
    p = np.array([[0.0, 1.0, 0.5, 0.25], [1.0, 0.0, 0.0, 0.0], [0.2, 0.3, 0.0, 0.5]])
    t = np.array([[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]])
    if loss == "binary_crossentropy":
        t = np.array([[1.0, 0.0, 0.3, 0.6], [0.0, 1.0, 0.5, 0.2], [0.1, 0.9, 0.0, 1.0]])
    # backward: gradient magnitudes up to 1e7 where 1e-7 <= q: a loose rtol on the big entries
    return Call(dict(p=p, t=t), dict(loss=loss), rtol=1e-4)


def _samples(backward):
    def gen():
        out = []
        for normalised, (rows, cols), loss in itertools.product([True, False], SIZES, LOSSES):
            if cols == 1 and loss == "categorical_crossentropy" and normalised:
                continue  # a single normalised class is the constant 1 (clipped): the clipping samples
            out.append(Sample(f"{loss}-{rows}x{cols}-" + ("normalised" if normalised else "raw"),
                              lambda l=loss, r=rows, c=cols, n=normalised: _call(l, r, c, n, backward)))
        out += [Sample(f"clipping-{loss}", lambda l=loss: _clipping_call(l))
                for loss in ["categorical_crossentropy", "binary_crossentropy"]]
        return out
    return gen


def _softmax_ce_call(rows, cols):
    seed = 1800 + rows + cols
    rng = np.random.default_rng(seed)
    p = ref.softmax_forward(rng.standard_normal((rows, cols)))
    t = np.eye(cols)[rng.integers(0, cols, rows)]
    return Call(dict(p=p, t=t), seed=seed)


def _bench_loss(rng, n, classes, loss="categorical_crossentropy"):
    p = ref.softmax_forward(rng.standard_normal((n, classes))).astype(np.float32)
    t = np.eye(classes, dtype=np.float32)[rng.integers(0, classes, n)]
    return dict(p=p, t=t, loss=loss)


def _bench_softmax_ce(rng, n, classes):
    kw = _bench_loss(rng, n, classes)
    del kw["loss"]
    return kw

# ------------------------------------------------ CUDA paths (tests/test_cuda_paths.py)

CUDA_LOSS_SIZES = [(32, 10), (4099, 10), (7, 1025), (3, 5000)]


def cuda_loss_case(cp, rows, cols, loss):
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


OPS = [
    OpInfo("loss_forward", "loss", _samples(False), valid=lambda: dict(p=f(3, 4), t=f(3, 4)),
           bad=BadInputs(("p", "t"), rank=dict(p=f(12)), shape=dict(t=f(3, 5)),
                         empty=lambda: dict(p=f(0, 4), t=f(0, 4)),
                         variants=[Bad("unknown-loss", lambda: dict(p=f(2, 3), t=f(2, 3), loss="hinge"), "loss")]),
           variants=[dict(loss=l) for l in LOSSES], bench=_bench_loss),
    OpInfo("loss_backward", "loss", _samples(True), valid=lambda: dict(p=f(3, 4), t=f(3, 4)),
           bad=BadInputs(("p", "t"), rank=dict(p=f(12)), shape=dict(t=f(3, 5)),
                         empty=lambda: dict(p=f(0, 4), t=f(0, 4))),
           variants=[dict(loss=l) for l in LOSSES], bench=_bench_loss),
    OpInfo("softmax_cross_entropy_backward", "loss",
           lambda: [Sample(f"{r}x{c}", lambda r=r, c=c: _softmax_ce_call(r, c))
                    for r, c in [(1, 1), (1, 10), (3, 7), (64, 10)]],
           valid=lambda: dict(p=f(3, 4), t=f(3, 4)),
           bad=BadInputs(("p", "t"), rank=dict(p=f(12)), shape=dict(t=f(3, 5)),
                         empty=lambda: dict(p=f(0, 4), t=f(0, 4))),
           bench=_bench_softmax_ce),
]
