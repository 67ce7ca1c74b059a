"""Dropout: the mask equals the reference Philox mask bit for bit; the backward reuses it."""
import itertools

import numpy as np

from helpers import assert_close, ops, randn, ref, to_device, to_host

from .gpu import Out, assert_bitwise, dev, f32, gpu_twice
from .core import Bad, BadInputs, OpInfo, Sample, f, shape_id

SHAPES = [(1,), (7,), (3, 5), (4, 3, 5, 2), (10007,)]
RATES = [0.0, 0.1, 0.3, 0.5, 0.9]
OFFSETS = [0, 1, 5, 2**33 + 3]


def uniform_x(shape, seed):
    # uniform in [1, 2): never zero, so y != 0 exactly where the mask keeps
    return np.random.default_rng(seed).uniform(1, 2, size=shape).astype(np.float32)


def _mask_check(shape, rate, offset, backward):
    """The mask of dropout_forward (or dropout_backward: the same mask, so the backward reuses the
    forward's) equals reference.dropout_mask bit for bit; the kept values are scaled by 1/(1 - rate)."""
    def check(device):
        seed = 123456789 + 1000 * offset + int(rate * 10)
        keep = ref.dropout_mask(shape, rate, seed, offset)
        what = f"dropout_forward[{device}] shape={shape} rate={rate} seed={seed} offset={offset}"
        if not backward:
            x = uniform_x(shape, seed % 2**31)
            y = to_host(ops.dropout_forward(to_device(x, device), rate, seed, offset))
            mismatch = np.count_nonzero((y != 0) != keep)
            assert mismatch == 0, f"{what}: mask differs from the reference Philox mask at {mismatch} elements"
            assert_close(y, ref.dropout_forward(x.astype(np.float64), rate, seed, offset), 1e-6, what)
            return
        dy = uniform_x(shape, seed % 2**31 + 1)
        dx = to_host(ops.dropout_backward(to_device(dy, device), rate, seed, offset))
        assert np.count_nonzero((dx != 0) != keep) == 0, f"{what}: backward does not reuse the forward mask"
        assert_close(dx, ref.dropout_backward(dy.astype(np.float64), rate, seed, offset), 1e-6, what + " backward")
    return check


def _samples(backward):
    return lambda: [Sample(f"{shape_id(s)}-rate{r}-offset{o}", check=_mask_check(s, r, o, backward))
                    for s, r, o in itertools.product(SHAPES, RATES, OFFSETS)]


def _bench(rng, shape, rate=0.5, seed=7, offset=0):
    return dict(x=rng.standard_normal(shape).astype(np.float32), rate=rate, seed=seed, offset=offset)


def _bench_backward(rng, shape, rate=0.5, seed=7, offset=0):
    return dict(dy=rng.standard_normal(shape).astype(np.float32), rate=rate, seed=seed, offset=offset)


BAD_RATES = [Bad(f"rate{r}", lambda r=r: dict(x=np.ones(3, dtype=np.float32), rate=r, seed=0), "rate")
             for r in [-0.1, 1.0, 1.5]]

# ------------------------------------------------ CUDA paths (tests/test_cuda_paths.py)

CUDA_DROPOUT_N = [1, 2, 3, 4, 5, 7, 13, 1001, 4099, 65539]
CUDA_DROPOUT_OFFSETS = [0, 1, 2, 3, 5, 6, 7, 2**32 - 1, 2**32 + 1, 2**40 + 3]


def cuda_dropout_case(cp, n, offset, rate, seed, x_off=0):
    rng = np.random.default_rng(n + offset % 1000)
    x = randn(rng, n)
    what = f"dropout n{n} offset{offset} rate{rate} x+{x_off}"
    gx = dev(cp, x, x_off)

    def run():
        y, dx = Out(cp, (n,), x_off), Out(cp, (n,), 3 - x_off)
        ops.dropout_forward(gx, rate, seed, offset, out=y.view)
        ops.dropout_backward(gx, rate, seed, offset, out=dx.view)
        return y.host(what + " forward"), dx.host(what + " backward")

    y, dx = gpu_twice(run, what)
    assert_bitwise(y, ops.dropout_forward(f32(x), rate, seed, offset), what + " forward vs CPU")
    assert_bitwise(dx, ops.dropout_backward(f32(x), rate, seed, offset), what + " backward vs CPU")
    keep = ref.dropout_mask((n,), rate, seed, offset)
    assert np.array_equal(y != 0, keep), f"{what}: mask differs from reference.dropout_mask"


OPS = [
    OpInfo("dropout_forward", "dropout", _samples(False), valid=lambda: dict(x=f(3, 4), rate=0.5, seed=1),
           bad=BadInputs(("x",), empty=lambda: dict(x=f(0, 4), rate=0.5, seed=1), variants=BAD_RATES),
           variants=[dict(seed=7, offset=3)], bench=_bench),
    OpInfo("dropout_backward", "dropout", _samples(True), valid=lambda: dict(dy=f(3, 4), rate=0.5, seed=1),
           bad=BadInputs(("dy",), empty=lambda: dict(dy=f(0, 4), rate=0.5, seed=1)),
           variants=[dict(seed=7, offset=3)], bench=_bench_backward),
]
