"""affine_transform: per-image bilinear resampling against the float64 reference (every fill mode,
random rotations/shifts/shears/zooms/flips, odd shapes, poisoned outputs), exact copies for
identity/flip/integer-shift matrices (Inf/NaN neighbours included), and bad arguments.
The helpers here (run, random_matrices, assert_same_bits) serve tests/test_ops_affine_transform.py too."""
import zlib

import numpy as np

from helpers import assert_close, f32_rtol, ops, randn, ref, rng_for, to_device, to_host

from .core import Bad, BadInputs, OpInfo, Sample, f, shape_id

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


def _matches_reference(shape, fill_mode):
    def check(device):
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
    return check


def _plain_shifts_and_zooms(fill_mode):
    def check(device):
        # axis-aligned maps: coordinates land on and between pixels, inside and outside
        rng = rng_for(11)
        x = randn(rng, 4, 6, 7, 3)
        m = np.array([[1, 0, 0.5, 0, 1, -0.25], [0.5, 0, 1, 0, 2, -3], [1, 0, -7, 0, 1, 9],
                      [-1.5, 0, 12, 0, 0.75, 2]], np.float64)
        got = run(x, m, device, fill_mode, cval=-0.5)
        assert_close(got, ref.affine_transform(x, m, fill_mode, -0.5), f32_rtol(4),
                     f"affine_transform[{device}] fill_mode={fill_mode}")
    return check


def _identity_and_flips(fill_mode):
    def check(device):
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
    return check


def _integer_shift(fill_mode):
    def check(device):
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
    return check


SHAPES = [(3, 7, 5, 3), (3, 7, 5, 1), (2, 1, 6, 2), (4, 6, 1, 5), (1, 9, 9, 8)]


def _samples():
    out = [Sample(f"{shape_id(s)}-{m}", check=_matches_reference(s, m)) for m in FILL_MODES for s in SHAPES]
    out += [Sample(f"shifts-zooms-{m}", check=_plain_shifts_and_zooms(m)) for m in FILL_MODES]
    out += [Sample(f"identity-flips-exact-{m}", check=_identity_and_flips(m)) for m in FILL_MODES]
    out += [Sample(f"integer-shift-exact-{m}", check=_integer_shift(m)) for m in ["nearest", "constant"]]
    return out


# bad arguments: (keyword arguments, the argument the message must name, the exception type)
BAD = [
    (lambda: dict(x=f(5, 4, 3), matrices=f(5, 6)), "x", ValueError),
    (lambda: dict(x=f(2, 5, 4, 3), matrices=f(2, 5)), "matrices", ValueError),
    (lambda: dict(x=f(2, 5, 4, 3), matrices=f(3, 6)), "matrices", ValueError),
    (lambda: dict(x=f(2, 5, 4, 3), matrices=f(12)), "matrices", ValueError),
    (lambda: dict(x=f(2, 5, 4, 3), matrices=f(2, 6), fill_mode="mirror"), "fill_mode", ValueError),
    (lambda: dict(x=f(2, 5, 4, 3), matrices=f(2, 6), fill_mode=None), "fill_mode", ValueError),
    (lambda: dict(x=f(2, 5, 4, 3), matrices=f(2, 6), out=f(2, 5, 4, 2)), "out", ValueError),
    (lambda: dict(x=f(2, 5, 4, 3), matrices=f(2, 6).astype(np.float64)), "matrices", TypeError),
    (lambda: dict(x=f(2, 5, 4, 3).astype(np.uint8), matrices=f(2, 6)), "x", TypeError),
    (lambda: dict(x=f(2, 5, 4, 3), matrices=f(2, 6).tolist()), "matrices", TypeError),
]


def _bench(rng, n, h, w, c, fill_mode="nearest"):
    return dict(x=rng.standard_normal((n, h, w, c)).astype(np.float32),
                matrices=random_matrices(rng, n, h, w).astype(np.float32), fill_mode=fill_mode)


OPS = [
    OpInfo("affine_transform", "affine", _samples, valid=lambda: dict(x=f(2, 5, 4, 3), matrices=f(2, 6)),
           bad=BadInputs(("x", "matrices"), rank=dict(x=f(5, 4, 3), matrices=f(12)), shape=dict(matrices=f(3, 6)),
                         empty=lambda: dict(x=f(0, 5, 4, 3), matrices=f(0, 6)),
                         variants=[Bad(f"{i}-{arg}", kw, arg, err) for i, (kw, arg, err) in enumerate(BAD)]),
           variants=[dict(fill_mode=m) for m in FILL_MODES], bench=_bench),
]
