"""Batch normalization: training forward (moving statistics updated in place), inference, backward."""
import numpy as np

from helpers import assert_close, f32_rtol, Grad, ops, package, randn, ref, to_device, to_host

from .gpu import Out, compare, dev, f32, gpu_twice
from .core import BadInputs, Call, OpInfo, Sample, f, shape_id

SHAPES = [(1, 1), (3, 1), (7, 3), (3, 5, 5, 3), (1, 7, 9, 3), (64, 17), (2, 4, 4, 1)]


def _params(rng, c):
    return (randn(rng, c), randn(rng, c), randn(rng, c),
            rng.uniform(0.5, 2.0, c).astype(np.float32).astype(np.float64))


def _forward_train_check(shape, momentum, epsilon):
    """y, the saved statistics and the moving statistics updated in place, against the reference."""
    def check(device):
        seed = 1900 + sum(shape)
        rng = np.random.default_rng(seed)
        c = shape[-1]
        x = randn(rng, *shape) * 2 + 0.5
        gamma, beta, mm, mv = _params(rng, c)
        f32 = lambda a: to_device(a.astype(np.float32), device)  # noqa: E731
        moving_mean, moving_var = f32(mm), f32(mv)
        y, save_mean, save_invstd = ops.batchnorm_forward_train(f32(x), f32(gamma), f32(beta), moving_mean,
                                                                moving_var, momentum=momentum, epsilon=epsilon)
        want = ref.batchnorm_forward_train(x, gamma, beta, mm, mv, momentum=momentum, epsilon=epsilon)
        rows = int(np.prod(shape[:-1]))
        what = f"batchnorm_forward_train[{device}] shape={shape} seed={seed}"
        rtol = f32_rtol(rows) * 4  # the variance is a reduction of squares; invstd amplifies near-constant columns
        if rows == 1:  # variance 0: y = beta exactly, invstd = 1/sqrt(eps)
            rtol = 1e-4
        for name, got, w in [("y", y, want[0]), ("save_mean", save_mean, want[1]),
                             ("save_invstd", save_invstd, want[2]),
                             ("moving_mean (in place)", moving_mean, want[3]),
                             ("moving_var (in place)", moving_var, want[4])]:
            assert_close(to_host(got), w, rtol, f"{what} {name}")
    return check


def _inference_call(shape):
    seed = 2000 + sum(shape)
    rng = np.random.default_rng(seed)
    gamma, beta, mm, mv = _params(rng, shape[-1])
    return Call(dict(x=randn(rng, *shape), gamma=gamma, beta=beta, moving_mean=mm, moving_var=mv), seed=seed)


def _backward_call(shape):
    seed = 2100 + sum(shape)
    rng = np.random.default_rng(seed)
    c = shape[-1]
    x = randn(rng, *shape) * 2 + 0.5
    gamma, beta, mm, mv = _params(rng, c)
    _, mean64, invstd64, _, _ = ref.batchnorm_forward_train(x, gamma, beta, mm, mv)
    mean = mean64.astype(np.float32).astype(np.float64)
    invstd = invstd64.astype(np.float32).astype(np.float64)
    dy = randn(rng, *shape)
    grad = Grad(lambda x, gamma: ref.batchnorm_forward_train(x, gamma, beta, mm, mv)[0], dict(x=x, gamma=gamma),
                dy, ["x", "gamma", None])
    rows = int(np.prod(shape[:-1]))
    # finite differences against the reference evaluated at the exact statistics
    return Call(dict(x=x, dy=dy, gamma=gamma, save_mean=mean, save_invstd=invstd), seed=seed,
                reduction=rows * 4, fd=(grad, lambda: ref.batchnorm_backward(x, dy, gamma, mean64, invstd64)))


def _bench_train(rng, n, h, w, c):
    return dict(x=rng.standard_normal((n, h, w, c)).astype(np.float32),
                gamma=rng.uniform(0.5, 1.5, c).astype(np.float32), beta=rng.standard_normal(c).astype(np.float32),
                moving_mean=np.zeros(c, np.float32), moving_var=np.ones(c, np.float32))


def _bench_backward(rng, n, h, w, c):
    kw = _bench_train(rng, n, h, w, c)
    _, sm, si = ops.batchnorm_forward_train(**kw)
    return dict(x=kw["x"], dy=rng.standard_normal(kw["x"].shape).astype(np.float32), gamma=kw["gamma"],
                save_mean=sm, save_invstd=si)


def _bn_valid():
    return dict(x=f(6, 3), gamma=f(3), beta=f(3), moving_mean=f(3), moving_var=f(3))


def _bn_shape():
    return dict(gamma=f(4), beta=f(2), moving_mean=f(4), moving_var=f(4))

# ------------------------------------------------ CUDA paths (tests/test_cuda_paths.py)

CUDA_BN_CASES = [(100003, 1), (131072, 3), (65537, 5), (3, 1000), (7, 64), (32 * 32 * 32, 32)]


def cuda_batchnorm_case(cp, rows, c, offset, seed):
    rng = np.random.default_rng(seed)
    x = offset + randn(rng, rows, c, scale=0.1 if offset else 1.0)
    gamma, beta = randn(rng, c), randn(rng, c)
    mm, mv = randn(rng, c), np.abs(randn(rng, c)) + 0.5
    dy = randn(rng, rows, c)
    what = f"batchnorm rows{rows} c{c} offset{offset}"
    gx, gg, gbeta, gdy = dev(cp, x), dev(cp, gamma), dev(cp, beta), dev(cp, dy)
    C = package._C

    def run():
        y, sm, si = Out(cp, (rows, c)), Out(cp, (c,)), Out(cp, (c,))
        gmm, gmv = Out(cp, (c,), init=mm), Out(cp, (c,), init=mv)
        C.batchnorm_forward_train(gx, gg, gbeta, gmm.view, gmv.view, y.view, sm.view, si.view, 1e-3, 0.99)
        dx, dgamma, dbeta = Out(cp, (rows, c)), Out(cp, (c,)), Out(cp, (c,))
        C.batchnorm_backward(gx, gdy, gg, sm.view, si.view, dx.view, dgamma.view, dbeta.view)
        yi = Out(cp, (rows, c))
        C.batchnorm_forward_inference(gx, gg, gbeta, gmm.view, gmv.view, yi.view, 1e-3)
        return tuple(o.host(what) for o in (y, sm, si, gmm, gmv, dx, dgamma, dbeta, yi))

    got = gpu_twice(run, what)
    cpu_mm, cpu_mv = f32(mm.copy()), f32(mv.copy())
    cy, csm, csi = ops.batchnorm_forward_train(f32(x), f32(gamma), f32(beta), cpu_mm, cpu_mv, 0.99, 1e-3)
    cdx, cdg, cdb = ops.batchnorm_backward(f32(x), f32(dy), f32(gamma), csm, csi)
    cyi = ops.batchnorm_forward_inference(f32(x), f32(gamma), f32(beta), cpu_mm, cpu_mv, 1e-3)
    ry, rsm, rsi, rmm, rmv = ref.batchnorm_forward_train(x, gamma, beta, mm, mv, 0.99, 1e-3)
    rdx, rdg, rdb = ref.batchnorm_backward(x, dy, gamma, rsm, rsi)
    rtol = f32_rtol(rows)
    names = ["y", "save_mean", "save_invstd", "moving_mean", "moving_var", "dx", "dgamma", "dbeta", "y_inference"]
    cpus = [cy, csm, csi, cpu_mm, cpu_mv, cdx, cdg, cdb, cyi]
    # offset data: the float32 mean itself carries ~ulp(offset)/std relative error: compare y, dx to the CPU only
    refs = [None if offset else ry, rsm, rsi, rmm, rmv, None if offset else rdx, rdg, rdb, None]
    for name, g, cpu_v, ref_v in zip(names, got, cpus, refs):
        compare(g, cpu_v, ref_v, rtol, f"{what} {name}")


OPS = [
    OpInfo("batchnorm_forward_train", "batchnorm",
           lambda: [Sample(f"{shape_id(s)}-m{m}-eps{e}", check=_forward_train_check(s, m, e))
                    for m, e in [(0.99, 1e-3), (0.9, 1e-5)] for s in SHAPES],
           valid=_bn_valid,
           bad=BadInputs(("x", "gamma", "beta", "moving_mean", "moving_var"), rank=dict(x=f(18)), shape=_bn_shape(),
                         empty=lambda: dict(_bn_valid(), x=f(0, 3)), empty_error="x",
                         writes=("moving_mean", "moving_var")),
           bench=_bench_train),
    OpInfo("batchnorm_forward_inference", "batchnorm",
           lambda: [Sample(shape_id(s), lambda s=s: _inference_call(s)) for s in SHAPES],
           valid=_bn_valid,
           bad=BadInputs(("x", "gamma", "beta", "moving_mean", "moving_var"), rank=dict(x=f(18)), shape=_bn_shape(),
                         empty=lambda: dict(_bn_valid(), x=f(0, 3)))),
    OpInfo("batchnorm_backward", "batchnorm",
           lambda: [Sample(shape_id(s), lambda s=s: _backward_call(s)) for s in SHAPES if int(np.prod(s[:-1])) > 1],
           valid=lambda: dict(x=f(6, 3), dy=f(6, 3), gamma=f(3), save_mean=f(3), save_invstd=f(3)),
           bad=BadInputs(("x", "dy", "gamma", "save_mean", "save_invstd"), rank=dict(x=f(18)),
                         shape=dict(dy=f(6, 4), gamma=f(4), save_mean=f(2), save_invstd=f(4)),
                         empty=lambda: dict(x=f(0, 3), dy=f(0, 3), gamma=f(3), save_mean=f(3), save_invstd=f(3)),
                         empty_error="x"),
           bench=_bench_backward),
]
