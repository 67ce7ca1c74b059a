"""affine_transform: per-image bilinear resampling against the float64 reference (every
fill mode, random rotations/shifts/shears/zooms/flips, odd shapes, poisoned outputs),
exact copies for identity/flip/integer-shift matrices (Inf/NaN neighbours included),
CPU == CUDA bit for bit, and bad arguments."""
import zlib

import numpy as np
import pytest

from helpers import assert_close, f32_rtol, ops, randn, ref, rng_for, to_device, to_host

FILL_MODES = ["nearest", "constant", "reflect", "wrap"]
GUARD = 8
GUARD_VALUE = 7.25


def _about_centre(m, h, w):
    ox, oy = h / 2 - 0.5, w / 2 - 0.5
    offset = np.array([[1, 0, ox], [0, 1, oy], [0, 0, 1]])
    reset = np.array([[1, 0, -ox], [0, 1, -oy], [0, 0, 1]])
    return offset @ m @ reset


def random_matrices(rng, n, h, w):
    """(n, 6) float64 holding float32 values: a random rotation . shift . shear . zoom about
    the centre, with random flips; shifts reach past the image so every fill mode is used."""
    rows = []
    for _ in range(n):
        t, s = np.deg2rad(rng.uniform(-180, 180)), np.deg2rad(rng.uniform(-40, 40))
        tx, ty = rng.uniform(-1.5, 1.5) * h, rng.uniform(-1.5, 1.5) * w
        zx, zy = rng.uniform(0.5, 1.6, 2)
        m = np.array([[np.cos(t), -np.sin(t), 0], [np.sin(t), np.cos(t), 0], [0, 0, 1]])
        m = m @ np.array([[1, 0, tx], [0, 1, ty], [0, 0, 1]])
        m = m @ np.array([[1, -np.sin(s), 0], [0, np.cos(s), 0], [0, 0, 1]])
        m = m @ np.diag([zx, zy, 1.0])
        if rng.random() < 0.5:
            m = m @ np.array([[1, 0, 0], [0, -1, w - 1], [0, 0, 1]])
        if rng.random() < 0.5:
            m = m @ np.array([[-1, 0, h - 1], [0, 1, 0], [0, 0, 1]])
        rows.append(_about_centre(m, h, w)[:2].reshape(6))
    return np.array(rows).astype(np.float32).astype(np.float64)


def poisoned(shape, device):
    """An output view of a NaN-filled buffer followed by GUARD cells holding GUARD_VALUE."""
    size = int(np.prod(shape))
    buf = np.full(size + GUARD, np.nan, np.float32)
    buf[size:] = GUARD_VALUE
    buf = to_device(buf, device)
    return buf, buf[:size].reshape(shape)


def run(x, m, device, fill_mode="nearest", cval=0.0):
    """ops.affine_transform into a poisoned output; checks the guard cells; returns host float32."""
    buf, out = poisoned(x.shape, device)
    got = ops.affine_transform(to_device(x.astype(np.float32), device),
                               to_device(m.astype(np.float32), device), fill_mode, cval, out=out)
    assert got is out
    guard = to_host(buf)[out.size:]
    assert (guard == GUARD_VALUE).all(), f"affine_transform[{device}] wrote past the end of out"
    return to_host(got)


@pytest.mark.parametrize("fill_mode", FILL_MODES)
@pytest.mark.parametrize("shape", [(3, 7, 5, 3), (3, 7, 5, 1), (2, 1, 6, 2), (4, 6, 1, 5), (1, 9, 9, 8)])
def test_matches_reference(device, shape, fill_mode):
    n, h, w, c = shape
    for trial in range(3):
        seed = zlib.crc32(repr((shape, fill_mode, trial)).encode())
        rng = rng_for(seed)
        x = randn(rng, *shape)
        m = random_matrices(rng, n, h, w)
        cval = float(np.float32(rng.uniform(-2, 2)))
        got = run(x, m, device, fill_mode, cval)
        want = ref.affine_transform(x, m, fill_mode, cval)
        what = f"affine_transform[{device}] shape={shape} fill_mode={fill_mode} seed={seed}"
        assert not np.isnan(got).any(), f"{what}: NaN left in the poisoned output"
        assert_close(got, want, f32_rtol(4), what)


@pytest.mark.parametrize("fill_mode", FILL_MODES)
def test_plain_shifts_and_zooms_match_reference(device, fill_mode):
    # axis-aligned maps: coordinates land on and between pixels, inside and outside
    rng = rng_for(11)
    x = randn(rng, 4, 6, 7, 3)
    m = np.array([[1, 0, 0.5, 0, 1, -0.25], [0.5, 0, 1, 0, 2, -3], [1, 0, -7, 0, 1, 9],
                  [-1.5, 0, 12, 0, 0.75, 2]], np.float64)
    got = run(x, m, device, fill_mode, cval=-0.5)
    assert_close(got, ref.affine_transform(x, m, fill_mode, -0.5), f32_rtol(4),
                 f"affine_transform[{device}] fill_mode={fill_mode}")


def _exact_matrices(h, w):
    return np.array([
        [1, 0, 0, 0, 1, 0],               # identity
        [1, 0, 0, 0, -1, w - 1],          # horizontal flip
        [-1, 0, h - 1, 0, 1, 0],          # vertical flip
        [-1, 0, h - 1, 0, -1, w - 1],     # both (180 degrees)
    ], np.float64)


def assert_same_bits(got, want, what):
    """Bit-identical, except that any NaN matches any NaN (GPUs return a canonical NaN)."""
    got, want = np.asarray(got, np.float32), np.asarray(want, np.float32)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    nan_g, nan_w = np.isnan(got), np.isnan(want)
    assert np.array_equal(nan_g, nan_w), f"{what}: NaN at {np.count_nonzero(nan_g != nan_w)} wrong places"
    diff = (got.view(np.uint32) != want.view(np.uint32)) & ~nan_w
    assert not diff.any(), f"{what}: {np.count_nonzero(diff)} elements differ in their bits"


@pytest.mark.parametrize("fill_mode", FILL_MODES)
def test_identity_and_flips_are_exact(device, fill_mode):
    h, w, c = 7, 5, 3
    rng = rng_for(5)
    base = rng.standard_normal((h, w, c)).astype(np.float32) * 1e3
    base[0, 0, 0], base[1, 2, 1] = -0.0, 0.0
    base[3, 1, 2], base[6, 4, 0] = np.inf, -np.inf   # huge / non-finite neighbours must not leak
    base[2, 3, 1], base[5, 0, 2] = np.nan, 3.4e38
    m = _exact_matrices(h, w)
    x = np.repeat(base[None], len(m), axis=0)
    got = run(x, m, device, fill_mode, cval=9.0)
    want = np.stack([base, base[:, ::-1], base[::-1], base[::-1, ::-1]])
    assert_same_bits(got, want, f"affine_transform[{device}] fill_mode={fill_mode} identity/flips")


@pytest.mark.parametrize("fill_mode", ["nearest", "constant"])
def test_integer_shift_is_exact(device, fill_mode):
    rng = rng_for(3)
    x = rng.standard_normal((1, 6, 8, 2)).astype(np.float32)
    x[0, 2, 2, 0] = np.inf
    m = np.array([[1, 0, -2, 0, 1, 3]], np.float64)   # out[r, c] = x[r - 2, c + 3]
    got = run(x, m, device, fill_mode, cval=-4.0)[0]
    assert_same_bits(got[2:, :5], x[0, :4, 3:], f"affine_transform[{device}] integer shift")
    if fill_mode == "constant":
        assert (got[:2] == -4.0).all() and (got[:, 5:] == -4.0).all()
    else:
        assert_same_bits(got[:2, :5], np.repeat(x[0, :1, 3:], 2, axis=0), "nearest rows")
        assert_same_bits(got[2:, 5:], np.repeat(x[0, :4, 7:], 3, axis=1), "nearest cols")


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


# -------------------------------------------------------------- bad arguments

def _f(*shape):
    return np.random.default_rng(len(shape)).uniform(0.1, 0.9, size=shape).astype(np.float32)


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
