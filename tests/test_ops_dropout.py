"""Dropout: the mask equals the reference Philox mask bit for bit; the backward reuses it."""
import numpy as np
import pytest

from helpers import assert_close, ops, ref, to_device, to_host


def _x(shape, seed):
    # uniform in [1, 2): never zero, so y != 0 exactly where the mask keeps
    return np.random.default_rng(seed).uniform(1, 2, size=shape).astype(np.float32)


@pytest.mark.parametrize("offset", [0, 1, 5, 2**33 + 3])
@pytest.mark.parametrize("rate", [0.0, 0.1, 0.3, 0.5, 0.9])
@pytest.mark.parametrize("shape", [(1,), (7,), (3, 5), (4, 3, 5, 2), (10007,)])
def test_dropout_mask_matches_reference(device, offset, rate, shape):
    seed = 123456789 + 1000 * offset + int(rate * 10)
    x = _x(shape, seed % 2**31)
    y = to_host(ops.dropout_forward(to_device(x, device), rate, seed, offset))
    keep = ref.dropout_mask(shape, rate, seed, offset)
    what = f"dropout_forward[{device}] shape={shape} rate={rate} seed={seed} offset={offset}"
    mismatch = np.count_nonzero((y != 0) != keep)
    assert mismatch == 0, f"{what}: mask differs from the reference Philox mask at {mismatch} elements"
    assert_close(y, ref.dropout_forward(x.astype(np.float64), rate, seed, offset), 1e-6, what)
    dy = _x(shape, seed % 2**31 + 1)
    dx = to_host(ops.dropout_backward(to_device(dy, device), rate, seed, offset))
    assert np.count_nonzero((dx != 0) != keep) == 0, f"{what}: backward does not reuse the forward mask"
    assert_close(dx, ref.dropout_backward(dy.astype(np.float64), rate, seed, offset), 1e-6, what + " backward")


@pytest.mark.parametrize("rate", [0.1, 0.3, 0.5, 0.8])
def test_dropout_fraction_kept(device, rate):
    x = np.ones((200, 500), dtype=np.float32)
    y = to_host(ops.dropout_forward(to_device(x, device), rate, seed=2024))
    kept = np.count_nonzero(y) / y.size
    # binomial standard deviation over 1e5 elements is < 0.0016; allow 5 sigma
    assert abs(kept - (1 - rate)) < 0.008, f"rate {rate}: kept fraction {kept}"
    np.testing.assert_allclose(y[y != 0], 1 / (1 - rate), rtol=1e-6)


def test_dropout_seed_and_offset_change_the_mask(device):
    x = to_device(np.ones(1000, dtype=np.float32), device)
    a = to_host(ops.dropout_forward(x, 0.5, seed=1, offset=0)) != 0
    b = to_host(ops.dropout_forward(x, 0.5, seed=2, offset=0)) != 0
    c = to_host(ops.dropout_forward(x, 0.5, seed=1, offset=1000)) != 0
    d = to_host(ops.dropout_forward(x, 0.5, seed=1, offset=1)) != 0
    assert (a != b).any() and (a != c).any()
    np.testing.assert_array_equal(a[1:], d[:-1])  # offset shifts the stream by elements


def test_dropout_cpu_equals_cuda(device):
    if device == "cpu":
        pytest.skip("compares the CUDA mask with the CPU one")
    x = _x((4097,), 7)
    cpu = ops.dropout_forward(x, 0.4, 99, 3)
    gpu = to_host(ops.dropout_forward(to_device(x, device), 0.4, 99, 3))
    np.testing.assert_array_equal(cpu, gpu)
