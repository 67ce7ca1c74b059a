"""sgemm, dense_forward, dense_backward, bias_backward."""
import itertools

import numpy as np

from helpers import Grad, assert_close, f32_rtol, ops, randn, ref, to_device, to_host

from .gpu import Out, compare, dev, f32, gpu_twice
from .core import BadInputs, Call, OpInfo, Sample, f, shape_id

ACTS = ["linear", "relu", "sigmoid", "tanh", "leaky_relu", "step"]
TRANS = [(False, False), (False, True), (True, False), (True, True)]


def _sgemm_check(m, n, k, ta, tb, beta, alpha, seed, label):
    """ops.sgemm into `out` (NaN-filled when beta is 0: out must not be read) vs the reference."""
    def check(device):
        rng = np.random.default_rng(seed)
        a = randn(rng, *((k, m) if ta else (m, k)))
        b = randn(rng, *((n, k) if tb else (k, n)))
        c = randn(rng, m, n) if beta else np.full((m, n), np.nan)
        out = to_device(c.astype(np.float32), device)
        r = ops.sgemm(to_device(a.astype(np.float32), device), to_device(b.astype(np.float32), device),
                      trans_a=ta, trans_b=tb, alpha=alpha, beta=beta, out=out)
        assert r is out
        want = ref.sgemm(a, b, ta, tb, alpha, beta, c)
        assert_close(to_host(r), want, f32_rtol(k), f"{label}[{device}] ta={ta} tb={tb} m,n,k={m},{n},{k} "
                     f"beta={beta} seed={seed}")
    return check


def _sgemm():
    out = []
    # general sizes
    for beta, (m, n, k), tb, ta in itertools.product([0.0, 0.5], [(7, 5, 3), (1, 9, 13), (33, 17, 65), (5, 1, 1)],
                                                     [False, True], [False, True]):
        seed = 100 + m + 7 * n + 11 * k + 2 * ta + tb
        out.append(Sample(f"T{int(ta)}{int(tb)}-{m}x{n}x{k}-beta{beta}",
                          check=_sgemm_check(m, n, k, ta, tb, beta, 1.5, seed, "sgemm")))
    # narrow products: n <= 16 columns (the Dense(10) forward and kernel gradient take the small-n
    # path) and k <= 17 (the input gradient of a Dense(10): dy @ w^T), odd m, every transposition
    for beta, (n, k), m, tb, ta in itertools.product(
            [0.0, 0.5], [(1, 1), (2, 17), (3, 64), (9, 5), (10, 512), (10, 10), (15, 2), (16, 33), (17, 9),
                         (40, 10), (600, 3), (257, 16)], [1, 15, 17, 33, 131], [False, True], [False, True]):
        seed = 500 + m + 7 * n + 11 * k + 2 * ta + tb
        out.append(Sample(f"narrow-T{int(ta)}{int(tb)}-{m}x{n}x{k}-beta{beta}",
                          check=_sgemm_check(m, n, k, ta, tb, beta, 0.75, seed, "sgemm narrow")))
    return out


def _dense_forward():
    def make(act, rows, fin, fout, bias, base):
        seed = base + rows + fin + fout + bias
        rng = np.random.default_rng(seed)
        inputs = dict(x=randn(rng, rows, fin), w=randn(rng, fin, fout), b=randn(rng, fout) if bias else None)
        if act == "step":  # keep pre-activations away from the threshold 0
            inputs["w"][:] = np.abs(inputs["w"])
            inputs["x"][:] = np.abs(inputs["x"]) * np.where(np.arange(fin) % 2, 1, -1) + 0.1
            inputs["b"] = None
        return Call(inputs, dict(activation=act, alpha=0.2), seed=seed, reduction=fin)
    out = []
    for bias, (rows, fin, fout), act in itertools.product([True, False], [(1, 3, 5), (3, 17, 9), (5, 64, 33)], ACTS):
        out.append(Sample(f"{act}-{rows}x{fin}x{fout}-bias{int(bias)}",
                          lambda a=act, r=rows, i=fin, o=fout, b=bias: make(a, r, i, o, b, 200)))
    # narrow: fout <= 17 (the small-n path)
    for bias, (rows, fin, fout), act in itertools.product(
            [True, False], [(1, 1, 1), (7, 5, 10), (33, 512, 10), (131, 64, 10), (17, 9, 16), (45, 17, 3),
                            (19, 2, 17)], ACTS[:-1]):
        out.append(Sample(f"narrow-{act}-{rows}x{fin}x{fout}-bias{int(bias)}",
                          lambda a=act, r=rows, i=fin, o=fout, b=bias: make(a, r, i, o, b, 600)))
    return out


def _dense_backward_narrow_check(rows, fin, fout):
    def check(device):
        seed = 700 + rows + fin + fout
        rng = np.random.default_rng(seed)
        x, w, dy = randn(rng, rows, fin), randn(rng, fin, fout), randn(rng, rows, fout)
        got = ops.dense_backward(*(to_device(v.astype(np.float32), device) for v in (x, w, dy)))
        assert_close(to_host(got[0]), dy @ w.T, f32_rtol(fout), "dense_backward narrow dx")
        assert_close(to_host(got[1]), x.T @ dy, f32_rtol(rows), "dense_backward narrow dw")
        assert_close(to_host(got[2]), dy.sum(axis=0), f32_rtol(rows), "dense_backward narrow db")
    return check


def _dense_backward():
    def make(rows, fin, fout):
        seed = 300 + rows + fin + fout
        rng = np.random.default_rng(seed)
        x, w, b, dy = randn(rng, rows, fin), randn(rng, fin, fout), randn(rng, fout), randn(rng, rows, fout)
        grad = Grad(lambda x, w, b: ref.dense_forward(x, w, b), dict(x=x, w=w, b=b), dy, ["x", "w", "b"])
        return Call(dict(x=x, w=w, dy=dy), seed=seed, reduction=max(rows, fout), grad=grad)
    out = [Sample(f"{r}x{i}x{o}", lambda r=r, i=i, o=o: make(r, i, o)) for r, i, o in DENSE_BACKWARD_SHAPES]
    out += [Sample(f"narrow-{r}x{i}x{o}", check=_dense_backward_narrow_check(r, i, o))
            for r, i, o in [(33, 512, 10), (1, 64, 10), (131, 17, 3), (15, 40, 16), (5, 3, 17)]]
    return out


DENSE_BACKWARD_SHAPES = [(1, 3, 5), (3, 7, 4), (4, 40, 9)]


def _bias_backward():
    def make(shape):
        seed = 400 + sum(shape)
        rng = np.random.default_rng(seed)
        return Call(dict(dy=randn(rng, *shape)), seed=seed, reduction=int(np.prod(shape[:-1])))
    return [Sample(shape_id(s), lambda s=s: make(s)) for s in [(1, 1), (3, 5), (97, 3), (2, 3, 4, 5)]]


def _bench_sgemm(rng, m, n, k, trans_a=False, trans_b=False):
    a = rng.standard_normal((k, m) if trans_a else (m, k)).astype(np.float32)
    b = rng.standard_normal((n, k) if trans_b else (k, n)).astype(np.float32)
    return dict(a=a, b=b, trans_a=trans_a, trans_b=trans_b)


def _bench_dense_forward(rng, n, fan_in, fan_out, activation="relu"):
    return dict(x=rng.standard_normal((n, fan_in)).astype(np.float32),
                w=(rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)).astype(np.float32),
                b=rng.standard_normal(fan_out).astype(np.float32), activation=activation)


def _bench_dense_backward(rng, n, fan_in, fan_out):
    return dict(x=rng.standard_normal((n, fan_in)).astype(np.float32),
                w=(rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)).astype(np.float32),
                dy=rng.standard_normal((n, fan_out)).astype(np.float32))

# ------------------------------------------------ CUDA paths (tests/test_cuda_paths.py)

CUDA_SGEMM_SIZES = [
    (1, 1, 1), (7, 5, 3), (33, 65, 129), (130, 129, 7), (1, 257, 513), (257, 1, 300),
    (64, 64, 8192),        # one tile, long k: split-K
    (10, 10, 100000),      # tiny m*n, huge k: split-K capped at 64 splits
    (129, 131, 1031),      # 4 tiles, split-K with a short last split
]
CUDA_TRANS = [(False, False), (False, True), (True, False), (True, True)]


def cuda_sgemm_case(cp, m, n, k, ta, tb, alpha, beta, offsets, seed):
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


CUDA_DENSE_EPILOGUES = [
    (32, 3136, 64, "relu"), (128, 1024, 500, "relu"), (33, 2048, 10, "linear"), (7, 5, 3, "sigmoid"),
    (129, 131, 67, "leaky_relu"), (128, 512, 10, "tanh")]


def cuda_dense_forward_case(cp, rows, fan_in, fan_out, act):
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


def cuda_bias_backward_case(cp, rows, cols):
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


OPS = [
    OpInfo("sgemm", "matmul", _sgemm, valid=lambda: dict(a=f(3, 4), b=f(4, 5)),
           bad=BadInputs(("a", "b"), rank=dict(a=f(3, 4, 1), b=f(4)), shape=dict(b=f(5, 5)),
                         empty=lambda: dict(a=f(0, 4), b=f(4, 5))),
           bench=_bench_sgemm),
    OpInfo("dense_forward", "matmul", _dense_forward, valid=lambda: dict(x=f(3, 4), w=f(4, 5), b=f(5)),
           bad=BadInputs(("x", "w", "b"), rank=dict(x=f(3, 4, 1), w=f(4, 5, 1)), shape=dict(w=f(3, 5), b=f(6)),
                         empty=lambda: dict(x=f(0, 4), w=f(4, 5), b=f(5))),
           variants=[dict(activation=a) for a in ACTS], bench=_bench_dense_forward),
    OpInfo("dense_backward", "matmul", _dense_backward, valid=lambda: dict(x=f(3, 4), w=f(4, 5), dy=f(3, 5)),
           bad=BadInputs(("x", "w", "dy"), rank=dict(dy=f(3, 5, 1)), shape=dict(dy=f(3, 6)), has_out=False,
                         empty=lambda: dict(x=f(0, 4), w=f(4, 5), dy=f(0, 5))),
           bench=_bench_dense_backward),
    OpInfo("bias_backward", "matmul", _bias_backward, valid=lambda: dict(dy=f(3, 5)),
           bad=BadInputs(("dy",), rank=dict(dy=np.float32(1.0) + np.zeros((), np.float32)),
                         empty=lambda: dict(dy=f(0, 5)))),
]
