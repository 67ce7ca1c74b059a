"""Every op of the table (tests/opinfo/) on every device: each sample against the float64
reference (and finite differences where the sample names them), on 'cpu' and, where the
build has it, 'cuda' (a GPU or the emulated CUDA build; CUDA results also against the CPU's).
A new op needs no test here: its OpInfo entry's samples run automatically.

Below the table run: the cases that are not one call against the reference (special values,
statistics over many calls, thread-count independence, CPU vs CUDA bits, aliasing)."""
import numpy as np
import pytest

import cudnn_lite
import opinfo
from helpers import assert_close, check_op, f32_rtol, ops, randn, ref, rng_for, to_device, to_host
from opinfo.affine import FILL_MODES, assert_same_bits, random_matrices, run
from opinfo.core import f as _f
from opinfo.dropout import uniform_x as _x
from opinfo.matmul import DENSE_BACKWARD_SHAPES

CASES = [pytest.param(op, s, id=f"{op.name}-{s.id}") for op in opinfo.OPS for s in opinfo.samples(op)]


def test_every_op_is_in_the_table():
    api = {n for n in ops.__all__ if n[0].islower() and not n.endswith(("_padding", "_shape"))}
    assert api == set(opinfo.BY_NAME), f"ops without a table entry: {sorted(api - set(opinfo.BY_NAME))}"
    assert all(opinfo.samples(op) for op in opinfo.OPS), "an op without samples"


@pytest.mark.parametrize("op,sample", CASES)
def test_op(device, op, sample):
    if device not in op.devices:
        pytest.skip(f"{op.name}: its table entry leaves out {device} (OpInfo.devices)")
    opinfo.run_sample(op, sample, device)


# ------------------------------------------------------------------ matmul

def test_sgemm_without_out(device):
    rng = np.random.default_rng(150)
    a, b = randn(rng, 6, 4), randn(rng, 4, 3)
    got = to_host(ops.sgemm(to_device(a.astype(np.float32), device), to_device(b.astype(np.float32), device)))
    assert got.dtype == np.float32
    assert_close(got, a @ b, f32_rtol(4), "sgemm default")


@pytest.mark.parametrize("rows,fin,fout", DENSE_BACKWARD_SHAPES)
def test_dense_backward_dw_only(device, rows, fin, fout):
    seed = 300 + rows + fin + fout
    rng = np.random.default_rng(seed)
    x, w, _, dy = randn(rng, rows, fin), randn(rng, fin, fout), randn(rng, fout), randn(rng, rows, fout)
    got = ops.dense_backward(*(to_device(v.astype(np.float32), device) for v in (x, w, dy)),
                             with_bias=False, need_dx=False)
    assert got[0] is None and got[2] is None
    assert_close(to_host(got[1]), x.T @ dy, f32_rtol(rows), "dense_backward dw only")


def test_sgemm_narrow_same_bits_any_thread_count():
    rng = np.random.default_rng(800)
    x, dy = randn(rng, 1000, 512).astype(np.float32), randn(rng, 1000, 10).astype(np.float32)
    w = randn(rng, 512, 10).astype(np.float32)
    threads = cudnn_lite.get_num_threads()
    try:
        got = []
        for t in (1, 2, 3):
            cudnn_lite.set_num_threads(t)
            got.append((ops.sgemm(x, w), ops.sgemm(x, dy, trans_a=True), ops.sgemm(dy, w, trans_b=True)))
    finally:
        cudnn_lite.set_num_threads(threads)
    for g in got[1:]:
        assert all(np.array_equal(u, v) for u, v in zip(got[0], g))


# -------------------------------------------------------------------- conv

def test_conv2d_forward_textbook(device):
    x = np.array([[1, 2, 3, 4, 5], [2, 1, 0, 1, 2], [3, 0, 1, 1, 0], [1, 4, 1, 1, 2], [2, 1, 1, 0, 0]], float)
    k = np.array([[1, 0, 1], [1, 0, 1], [0, 1, 0]], float)
    got, _ = check_op("conv2d_forward", dict(x=x[None, :, :, None], w=k[:, :, None, None]), device=device)
    np.testing.assert_array_equal(got[0][0, 0, :, 0], [6, 9, 11])


@pytest.mark.parametrize("shape", [
    # few channels: the small-channel kernels (forward without cross-thread reduction, backward
    # filter adding fixed blocks in a fixed order)
    ((64, 28, 28, 1), (3, 3, 32)), ((40, 32, 32, 3), (2, 2, 16)), ((33, 32, 32, 3), (3, 3, 32)),
    # the direct and im2col paths: backward-filter partials of shape-fixed pixel blocks added in
    # block order (any thread takes the next block)
    ((64, 16, 16, 32), (3, 3, 64)), ((32, 8, 8, 64), (3, 3, 128)), ((20, 9, 11, 24), (2, 2, 40)),
    ((48, 14, 14, 32), (3, 3, 64))])
def test_conv2d_thread_count_independent(shape):
    # the same bits at any thread count, forward and both backward passes
    (n, h, wd, c), (kh, kw, k) = shape
    rng = np.random.default_rng(4)
    x = rng.standard_normal((n, h, wd, c)).astype(np.float32)
    w = rng.standard_normal((kh, kw, c, k)).astype(np.float32)
    dy = rng.standard_normal((n, h, wd, k)).astype(np.float32)
    before = cudnn_lite.get_num_threads()
    results = []
    try:
        for threads in (1, 2, 3):
            cudnn_lite.set_num_threads(threads)
            results.append((ops.conv2d_forward(x, w, padding="same", activation="relu"),
                            ops.conv2d_backward_filter(x, dy, w.shape, padding="same"),
                            ops.conv2d_backward_data(dy, w, x.shape, padding="same")))
    finally:
        cudnn_lite.set_num_threads(before)
    for got in results[1:]:
        for a, b in zip(got, results[0]):
            np.testing.assert_array_equal(a, b)

# -------------------------------------------------------------- activation

def test_activation_forward_at_zero(device):
    x = np.array([-1.0, -0.0, 0.0, 1.0])
    for act in opinfo.activation.ACTS:
        check_op("activation_forward", dict(x=x), dict(activation=act, alpha=0.1), device=device)


# ----------------------------------------------------------------- dropout

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


# -------------------------------------------------------- affine_transform

def test_nan_matrix_gives_nan_pixels_and_huge_shift_the_fill(device):
    x = randn(rng_for(2), 3, 4, 5, 2)
    m = np.array([[np.nan, 0, 0, 0, 1, 0], [1, 0, 1e20, 0, 1, 0], [1, 0, -3e9, 0, 1, 4e9]])
    for mode in FILL_MODES:
        got = run(x, m, device, mode, cval=2.5)
        want = ref.affine_transform(x, m, mode, 2.5)
        assert np.isnan(got[0]).all() and np.isnan(want[0]).all()
        assert np.isfinite(got[1:]).all(), mode
        if mode in ("nearest", "constant"):
            assert_close(got[1:], want[1:], f32_rtol(4), f"affine_transform[{device}] {mode} huge shift")
    got = run(x, m, device, "constant", cval=2.5)
    assert (got[1:] == 2.5).all()


def test_empty_batches(device):
    for shape in [(0, 4, 5, 3), (2, 4, 5, 0), (2, 0, 5, 3)]:
        x = to_device(np.zeros(shape, np.float32), device)
        m = to_device(np.zeros((shape[0], 6), np.float32), device)
        assert to_host(ops.affine_transform(x, m)).shape == shape


def test_many_images_cpu_equals_cuda(device):
    """More pixels than one grid covers (grid-stride loop); the CUDA result equals the CPU's bits."""
    if device == "cpu":
        pytest.skip("compares the CUDA result with the CPU one")
    rng = rng_for(9)
    n, h, w = 300, 64, 64
    x = rng.standard_normal((n, h, w, 1)).astype(np.float32)
    m = random_matrices(rng, n, h, w).astype(np.float32)
    for mode in FILL_MODES:
        cpu = ops.affine_transform(x, m, mode, 0.5)
        gpu = to_host(ops.affine_transform(to_device(x, device), to_device(m, device), mode, 0.5))
        assert_same_bits(gpu, cpu, f"affine_transform {mode}: CUDA vs CPU")


def test_cpu_equals_cuda_bitwise(device):
    if device == "cpu":
        pytest.skip("compares the CUDA result with the CPU one")
    rng = rng_for(10)
    x = randn(rng, 3, 7, 5, 3).astype(np.float32)
    m = random_matrices(rng, 3, 7, 5).astype(np.float32)
    for mode in FILL_MODES:
        cpu = ops.affine_transform(x, m, mode, -1.0)
        gpu = to_host(ops.affine_transform(to_device(x, device), to_device(m, device), mode, -1.0))
        assert_same_bits(gpu, cpu, f"affine_transform {mode}: CUDA vs CPU")


def test_out_must_not_alias_x_or_matrices():
    x = _f(2, 5, 4, 3)
    with pytest.raises(ValueError, match="out: must not overlap x"):
        ops.affine_transform(x, _f(2, 6), out=x)
    buf = np.zeros(2 * 5 * 4 * 3 + 6, np.float32)
    x2 = buf[6:].reshape(2, 5, 4, 3)
    x2[:] = x
    with pytest.raises(ValueError, match="out: must not overlap x"):
        ops.affine_transform(x2, _f(2, 6), out=buf[:-6].reshape(2, 5, 4, 3))
    big = np.zeros(2 * 5 * 4 * 3, np.float32)
    with pytest.raises(ValueError, match="out: must not overlap matrices"):
        ops.affine_transform(x, big[:12].reshape(2, 6), out=big.reshape(2, 5, 4, 3))


def test_binding_rejects_unknown_fill_id():
    from cudnn_lite import _C
    x = _f(1, 3, 3, 1)
    with pytest.raises(ValueError, match="fill_mode"):
        _C.affine_transform(x, _f(1, 6), np.empty_like(x), 7, 0.0)


def test_mixed_devices_are_refused(device):
    if device == "cpu":
        pytest.skip("needs a GPU array")
    x = to_device(_f(2, 5, 4, 3), device)
    with pytest.raises(ValueError, match="matrices"):
        ops.affine_transform(x, _f(2, 6))
    with pytest.raises(ValueError, match="out"):
        ops.affine_transform(x, to_device(_f(2, 6), device), out=np.empty((2, 5, 4, 3), np.float32))
