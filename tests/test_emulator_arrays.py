"""cudnn_lite.emulator, the array module of the emulated CUDA device, checked against NumPy
and against CuPy's rules (views, results in device memory, the CUDA Array Interface,
strictness about host data, NumPy dispatch, streams and devices).

Runs in every build: where the extension has no emulator (cudnn_lite.cuda_emulated is
False) the ``em`` fixture stands in for the ``_C.emulator_*`` functions with aligned NumPy
memory whose address ranges it tracks; in the emulated build the real functions run.
"""
from __future__ import annotations

import gc
import operator
import pickle
import weakref

import numpy as np
import pytest

from helpers import package

ALIGNMENT = 256  # the emulator's cudaMalloc alignment


class StandInEmulator:
    """The ``_C.emulator_*`` contract in plain NumPy: 256-byte aligned uint8 buffers of
    max(nbytes, 1) bytes, freed with their last view; streams as numbered handles."""

    def __init__(self):
        self.live = {}          # start address -> end address of every live allocation
        self.current = 0        # the current stream (0: the legacy default stream)
        self.streams = set()
        self._next_stream = 0x5000

    def device_buffer(self, nbytes):
        n = max(int(nbytes), 1)
        raw = np.empty(n + ALIGNMENT, np.uint8)
        skip = -raw.ctypes.data % ALIGNMENT
        buf = raw[skip:skip + n]
        start = buf.ctypes.data
        self.live[start] = start + n
        weakref.finalize(raw, self.live.pop, start, None)
        return buf

    def is_device_pointer(self, ptr):
        return any(start <= ptr < end for start, end in self.live.items())

    def stream_create(self):
        self._next_stream += 0x10
        self.streams.add(self._next_stream)
        return self._next_stream

    def stream_destroy(self, ptr):
        self.streams.discard(ptr)

    def set_current_stream(self, ptr):
        assert ptr == 0 or ptr in self.streams, f"stream {ptr:#x} was destroyed or never made"
        self.current = ptr

    def current_stream(self):
        return self.current


@pytest.fixture
def em(monkeypatch):
    """cudnn_lite.emulator, on the real emulator or (other builds) on StandInEmulator."""
    from cudnn_lite import _C, emulator
    if not package.cuda_emulated:
        fake = StandInEmulator()
        for name, fn in [("emulator_device_buffer", fake.device_buffer),
                         ("emulator_is_device_pointer", fake.is_device_pointer),
                         ("emulator_stream_create", fake.stream_create),
                         ("emulator_stream_destroy", fake.stream_destroy),
                         ("emulator_set_current_stream", fake.set_current_stream),
                         ("emulator_current_stream", fake.current_stream),
                         ("cuda_device_count", lambda: 1)]:
            monkeypatch.setattr(_C, name, fn, raising=False)
    yield emulator
    emulator.cuda.Stream.null.use()


def on_device(x):
    from cudnn_lite import _C
    return bool(_C.emulator_is_device_pointer(x.__cuda_array_interface__["data"][0]))


def ptr(x):
    return x.__cuda_array_interface__["data"][0]


def host(seed=0, shape=(3, 4), dtype=np.float32):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


# ------------------------------------------------------------------ creation

def test_creation_functions_allocate_aligned_emulator_memory(em):
    arrays = {
        "empty": em.empty((3, 4), dtype=np.float32),
        "zeros": em.zeros((3, 4), dtype=np.float32),
        "ones": em.ones(5),
        "full": em.full((2, 2), 7.5, dtype=np.float32),
        "arange": em.arange(6),
        "asarray": em.asarray(host()),
        "array": em.array([[1, 2], [3, 4]], dtype=np.int64),
        "empty_like": em.empty_like(em.ones((2, 3), dtype=np.int32)),
        "zeros_like": em.zeros_like(em.ones((2, 3))),
        "ascontiguousarray": em.ascontiguousarray(host().T),
        "ndarray": em.ndarray((4,), dtype=np.float32),
    }
    for name, x in arrays.items():
        assert isinstance(x, em.ndarray) and not isinstance(x, np.ndarray), name
        assert on_device(x) and ptr(x) % ALIGNMENT == 0, f"{name}: not a fresh emulator allocation"
        assert x.flags.c_contiguous and x.flags.owndata, name
    assert arrays["empty"].dtype == np.float32 and arrays["empty"].shape == (3, 4)
    np.testing.assert_array_equal(arrays["zeros"].get(), np.zeros((3, 4), np.float32))
    np.testing.assert_array_equal(arrays["full"].get(), np.full((2, 2), 7.5, np.float32))
    np.testing.assert_array_equal(arrays["arange"].get(), np.arange(6))
    np.testing.assert_array_equal(arrays["asarray"].get(), host())
    np.testing.assert_array_equal(arrays["ascontiguousarray"].get(), host().T)
    assert arrays["array"].dtype == np.int64 and arrays["empty_like"].dtype == np.int32
    assert em.ones(5).dtype == np.float64 and em.asarray([1.5, 2]).dtype == np.float64  # NumPy's defaults


def test_empty_arrays_and_bad_dtypes(em):
    z = em.empty((0, 3), dtype=np.float32)
    assert z.size == 0 and z.__cuda_array_interface__["data"] == (0, False)
    assert z.get().shape == (0, 3)
    with pytest.raises(ValueError, match="Unsupported dtype"):
        em.asarray(np.array(["a", "b"]))
    with pytest.raises(ValueError, match="Unsupported dtype"):
        em.empty(3, dtype=object)
    with pytest.raises(ValueError, match="Negative dimensions"):
        em.empty((2, -1))


def test_asarray_of_a_device_array_is_that_array(em):
    x = em.asarray(host())
    assert em.asarray(x) is x and em.ascontiguousarray(x) is x
    assert x.astype(np.float32, copy=False) is x
    y = em.asarray(x, dtype=np.float64)
    assert y.dtype == np.float64 and ptr(y) != ptr(x)
    c = em.array(x)
    assert c is not x and ptr(c) != ptr(x)
    np.testing.assert_array_equal(c.get(), x.get())
    t = em.ascontiguousarray(x.T)
    assert t.flags.c_contiguous and on_device(t) and ptr(t) != ptr(x)


# ------------------------------------------------------------------ views

def test_views_share_memory(em):
    a = em.asarray(np.arange(24, dtype=np.float32).reshape(4, 6))
    base = ptr(a)
    views = {
        "a[1]": (a[1], 1 * 24),
        "a[1:3, 2:]": (a[1:3, 2:], 1 * 24 + 2 * 4),
        "a[2, 3] (0-d)": (a[2, 3], 2 * 24 + 3 * 4),
        "a.reshape(6, 4)": (a.reshape(6, 4), 0),
        "a.ravel()": (a.ravel(), 0),
        "a.T": (a.T, 0),
        "a.transpose(1, 0)": (a.transpose(1, 0), 0),
        "a[None, ..., 1]": (a[None, ..., 1], 4),
        "a.view(np.int32)": (a.view(np.int32), 0),
        "a[::-1]": (a[::-1], 3 * 24),
    }
    for name, (v, offset) in views.items():
        assert isinstance(v, em.ndarray), name
        assert ptr(v) == base + offset, f"{name}: not a view of a's memory"
        assert not v.flags.owndata, name
    assert a[2, 3].shape == () and float(a[2, 3]) == 15.0
    a[1][...] = -1          # written through views: visible in a
    v = a[2, 3]
    v += 100
    a.T[0, 3] = 5
    want = np.arange(24, dtype=np.float32).reshape(4, 6)
    want[1] = -1
    want[2, 3] += 100
    want[3, 0] = 5
    np.testing.assert_array_equal(a.get(), want)
    assert a.T.__cuda_array_interface__["strides"] == (4, 24)
    assert em.asarray(np.arange(3.0)).T.shape == (3,)


def test_results_of_computations_land_in_new_emulator_memory(em):
    a = em.asarray(host())
    results = {
        "a + 1": a + 1,
        "2 * a": 2 * a,
        "a.sum()": a.sum(),
        "a.max(axis=0)": a.max(axis=0),
        "np.exp(a)": np.exp(a),
        "np.mean(a)": np.mean(a),
        "em.concatenate": em.concatenate([a, a]),
        "a[[0, 2]]": a[[0, 2]],
        "a[a > 0]": a[a > 0],
        "a.T.reshape(-1)": a.T.reshape(-1),
        "a.astype(float64)": a.astype(np.float64),
        "a.copy()": a.copy(),
        "em.take": em.take(a, em.asarray([2, 0]), axis=0),
    }
    inside = lambda p: ptr(a) <= p < ptr(a) + a.nbytes  # noqa: E731
    for name, r in results.items():
        assert isinstance(r, em.ndarray), f"{name}: {type(r)}"
        assert r.size == 0 or (on_device(r) and not inside(ptr(r))), f"{name}: not a new emulator allocation"
    assert results["a.sum()"].shape == () and results["np.mean(a)"].shape == ()  # 0-d arrays, not scalars
    np.testing.assert_allclose(results["a.sum()"].get(), host().sum(), rtol=1e-6)
    np.testing.assert_array_equal(results["a[[0, 2]]"].get(), host()[[0, 2]])
    np.testing.assert_array_equal(results["a.T.reshape(-1)"].get(), host().T.reshape(-1))


def test_memory_is_freed_with_the_last_view(em):
    a = em.asarray(host())
    v = a[1:]
    p = ptr(a)
    del a
    gc.collect()
    assert on_device(v)
    del v
    gc.collect()
    from cudnn_lite import _C
    assert not _C.emulator_is_device_pointer(p)


# ---------------------------------------------------------- CUDA Array Interface

def test_cuda_array_interface_is_cupys_v3_dict(em):
    a = em.asarray(host(shape=(3, 5)))
    cai = a.__cuda_array_interface__
    assert cai["version"] == 3 and cai["shape"] == (3, 5) and cai["typestr"] == "<f4"
    assert cai["descr"] == [("", "<f4")] and cai["strides"] is None
    p, readonly = cai["data"]
    assert isinstance(p, int) and p % ALIGNMENT == 0 and readonly is False
    assert cai["stream"] == 1  # the legacy default stream (CAI v3 forbids 0)
    t = a.T.__cuda_array_interface__
    assert t["strides"] == (4, 20) and t["data"][0] == p and t["shape"] == (5, 3)
    assert a[:, 1:].__cuda_array_interface__["strides"] == (20, 4)
    assert a[1].__cuda_array_interface__["strides"] is None  # a C-contiguous view
    assert em.asarray(np.arange(4, dtype=np.int64)).__cuda_array_interface__["typestr"] == "<i8"
    with em.cuda.Stream() as s:
        assert a.__cuda_array_interface__["stream"] == s.ptr != 0


# ------------------------------------------------------------------ strictness

def test_implicit_conversion_to_numpy_is_refused(em):
    a = em.asarray(host())
    for convert in (np.asarray, np.array, lambda x: np.testing.assert_allclose(x, host())):
        with pytest.raises(TypeError, match="Implicit conversion to a NumPy array is not allowed"):
            convert(a)
    np.testing.assert_array_equal(a.get(), host())        # the explicit ways
    np.testing.assert_array_equal(em.asnumpy(a), host())
    assert em.asnumpy(host()) is not None


@pytest.mark.parametrize("mix", [
    lambda a, h: a + h, lambda a, h: h + a, lambda a, h: a * h, lambda a, h: h - a,
    lambda a, h: a < h, lambda a, h: np.maximum(a, h), lambda a, h: np.concatenate([a, h]),
    lambda a, h: np.add(a, 1, out=h), lambda a, h: a.dot(h.T), lambda a, h: a.__iadd__(h),
], ids=["a+h", "h+a", "a*h", "h-a", "a<h", "np.maximum", "np.concatenate", "out=host", "dot", "a+=h"])
def test_mixing_device_and_host_arrays_is_a_type_error(em, mix):
    with pytest.raises(TypeError, match="Unsupported type"):
        mix(em.asarray(host()), host(1))


def test_host_values_in_assignments_follow_cupy(em):
    a = em.zeros((3, 4), dtype=np.float32)
    with pytest.raises(ValueError, match="non-scalar numpy.ndarray cannot be used for fill"):
        a[...] = host()
    with pytest.raises(ValueError, match="non-scalar numpy.ndarray cannot be used for fill"):
        a[1:] = host()[1:]
    with pytest.raises(TypeError, match="Unsupported type"):
        a[0] = [1, 2, 3, 4]
    a[0] = np.float32(2)            # scalars, and 0-d host arrays, fill
    a[1, :2] = np.array(3.0)
    a[[2]] = host()[[2]]            # an advanced index copies host values to the device
    want = np.zeros((3, 4), np.float32)
    want[0], want[1, :2], want[2] = 2, 3, host()[2]
    np.testing.assert_array_equal(a.get(), want)
    with pytest.raises(ValueError, match="non-scalar numpy.ndarray cannot be used for fill"):
        a.fill(np.ones(2))
    with pytest.raises(ValueError, match="non-scalar cupy.ndarray cannot be used for fill"):
        a.fill(em.ones(2))


def test_numpy_dispatch(em):
    a, h = em.asarray(host()), host()
    dispatched = {
        "np.sum": (np.sum(a), np.sum(h)),
        "np.mean axis": (np.mean(a, axis=1), np.mean(h, axis=1)),
        "np.std keepdims": (np.std(a, axis=0, keepdims=True), np.std(h, axis=0, keepdims=True)),
        "np.argmax": (np.argmax(a, axis=-1), np.argmax(h, axis=-1)),
        "np.concatenate": (np.concatenate([a, a], axis=1), np.concatenate([h, h], axis=1)),
        "np.take": (np.take(a, em.asarray([1, 1]), axis=0), np.take(h, [1, 1], axis=0)),
        "np.where": (np.where(a > 0, a, 0), np.where(h > 0, h, 0)),
        "np.zeros_like": (np.zeros_like(a), np.zeros_like(h)),
        "np.abs": (np.abs(a), np.abs(h)),
        "np.sqrt": (np.sqrt(np.abs(a)), np.sqrt(np.abs(h))),
        "np.maximum": (np.maximum(a, 0.5), np.maximum(h, 0.5)),
        "np.add.reduce": (np.add.reduce(a, axis=0), np.add.reduce(h, axis=0)),
        "np.maximum.accumulate": (np.maximum.accumulate(a, axis=1), np.maximum.accumulate(h, axis=1)),
        "np.multiply.outer": (np.multiply.outer(a[0], a[1]), np.multiply.outer(h[0], h[1])),
        "np.isfinite": (np.isfinite(a), np.isfinite(h)),
    }
    for name, (got, want) in dispatched.items():
        assert isinstance(got, em.ndarray), f"{name}: {type(got)}"
        np.testing.assert_allclose(got.get(), want, rtol=1e-6, err_msg=name)
    out = em.empty((3, 4), dtype=np.float32)
    assert np.multiply(a, 2, out=out) is out and em.multiply(a, 2, out=out) is out
    np.testing.assert_allclose(out.get(), 2 * h)
    np.copyto(out, a[::-1])                          # numpy.copyto writes the device array
    np.testing.assert_array_equal(out.get(), h[::-1])
    acc = em.zeros(4, dtype=np.float32)
    np.add.at(acc, em.asarray([0, 0, 3]), 1.0)      # so does ufunc.at
    np.testing.assert_array_equal(acc.get(), [2, 0, 0, 1])
    with pytest.raises(TypeError, match="no implementation found"):
        np.linalg.norm(a)                            # not in this module: like a missing cupy function
    with pytest.raises(TypeError):
        np.sin(a)                                    # a ufunc it does not offer


def test_get_array_module(em):
    a = em.zeros(2)
    assert em.get_array_module(a) is em and em.get_array_module(np.zeros(2), a) is em
    assert em.get_array_module(np.zeros(2), 1.0) is np


# ------------------------------------------------------------------ operators

BINARY = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
    "//": operator.floordiv, "%": operator.mod, "**": operator.pow, "@": operator.matmul,
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt,
    ">=": operator.ge, "divmod": divmod,
}
INTEGER = {"&": operator.and_, "|": operator.or_, "^": operator.xor, "<<": operator.lshift,
           ">>": operator.rshift}


def _same(got, want, what):
    if isinstance(want, tuple):
        for g, w in zip(got, want):
            _same(g, w, what)
        return
    assert hasattr(got, "__cuda_array_interface__") and not isinstance(got, (np.ndarray, np.generic)), what
    got = got.get()
    assert got.dtype == np.asarray(want).dtype, f"{what}: dtype {got.dtype} != {np.asarray(want).dtype}"
    np.testing.assert_allclose(got, want, rtol=1e-6, err_msg=what)


@pytest.mark.parametrize("name", list(BINARY) + list(INTEGER))
def test_binary_operators_match_numpy(em, name):
    op = BINARY.get(name) or INTEGER[name]
    if name in INTEGER:
        h1, h2 = np.arange(1, 13, dtype=np.int64).reshape(3, 4), np.full((4,), 2, np.int64)
        s = 3
    else:
        h1, h2 = np.abs(host(0)) + 0.5, np.abs(host(1, shape=(4,))) + 0.5
        s = 1.5
    if name == "@":
        h2 = np.abs(host(1, shape=(4, 2))) + 0.5
    d1, d2 = em.asarray(h1), em.asarray(h2)
    _same(op(d1, d2), op(h1, h2), f"a {name} b")
    if name != "@":
        _same(op(d1, s), op(h1, s), f"a {name} scalar")
        _same(op(s, d1), op(s, h1), f"scalar {name} a (reflected)")
        _same(op(d1, np.float32(s) if name not in INTEGER else np.int64(s)),
              op(h1, np.float32(s) if name not in INTEGER else np.int64(s)), f"a {name} numpy scalar")


@pytest.mark.parametrize("name,iop", [("+=", operator.iadd), ("-=", operator.isub), ("*=", operator.imul),
                                      ("/=", operator.itruediv), ("//=", operator.ifloordiv),
                                      ("%=", operator.imod), ("**=", operator.ipow),
                                      ("&=", operator.iand), ("|=", operator.ior), ("^=", operator.ixor),
                                      ("<<=", operator.ilshift), (">>=", operator.irshift)])
def test_inplace_operators_write_the_same_memory(em, name, iop):
    integer = name in ("&=", "|=", "^=", "<<=", ">>=")
    h = np.arange(1, 13, dtype=np.int64).reshape(3, 4) if integer else np.abs(host()) + 0.5
    other = 2 if integer else em.asarray(np.abs(host(1, shape=(4,))) + 0.5)
    d = em.asarray(h)
    p = ptr(d)
    result = iop(d, other)
    assert result is d and ptr(d) == p
    want = iop(h.copy(), other if integer else other.get())
    np.testing.assert_allclose(d.get(), want, rtol=1e-6)


def test_unary_operators_and_conversions(em):
    h = host()
    a = em.asarray(h)
    _same(-a, -h, "-a")
    _same(abs(a), abs(h), "abs(a)")
    assert +a is a
    _same(~em.asarray(np.arange(3)), ~np.arange(3), "~a")
    one = a[1, 2]
    assert float(one) == float(h[1, 2]) and int(em.asarray(7)) == 7 and complex(em.asarray(2.0)) == 2
    assert bool(em.asarray([1])) is True and bool(em.zeros(())) is False
    assert em.asarray([[3.5]]).item() == 3.5 and a.tolist() == h.tolist()
    with pytest.raises(ValueError, match="size 1"):
        a.item()
    with pytest.raises(ValueError, match="ambiguous"):
        bool(a)
    with pytest.raises(TypeError):
        float(a)
    with pytest.raises(TypeError, match="unsized"):
        len(em.asarray(1.0))
    with pytest.raises(TypeError, match="unhashable"):
        hash(a)
    assert len(a) == 3 and [r.shape for r in a] == [(4,)] * 3
    assert repr(a) == repr(h) and str(a) == str(h) and f"{a[0, 0]:.3f}" == f"{h[0, 0]:.3f}"
    assert (a == a).all() and not (a != a).any()
    assert (a == np.array(h[0, 0])).sum() == 1  # a 0-d host array compares as its value, as in CuPy


# ------------------------------------------------------------------ reductions

@pytest.mark.parametrize("name", ["sum", "mean", "max", "min", "argmax", "argmin", "std", "var", "prod",
                                  "any", "all", "cumsum"])
@pytest.mark.parametrize("kwargs", [{}, {"axis": 0}, {"axis": 1}, {"axis": -1, "keepdims": True}],
                         ids=["all", "axis0", "axis1", "keepdims"])
def test_reductions_match_numpy(em, name, kwargs):
    if name in ("argmax", "argmin", "cumsum") and kwargs.get("keepdims"):
        kwargs = {"axis": -1}
    h = host() > 0 if name in ("any", "all") else host()
    got = getattr(em.asarray(h), name)(**kwargs)
    want = getattr(h, name)(**kwargs)
    assert isinstance(got, em.ndarray) and got.shape == np.shape(want)
    np.testing.assert_allclose(got.get(), want, rtol=1e-5)


def test_reduction_into_out(em):
    a, out = em.asarray(host()), em.empty(4, dtype=np.float32)
    assert a.sum(axis=0, out=out) is out
    np.testing.assert_allclose(out.get(), host().sum(axis=0), rtol=1e-6)


# ------------------------------------------------------------------ setitem and copies

def test_setitem_with_device_values_scalars_and_masks(em):
    h = np.zeros((4, 5), np.float32)
    a = em.asarray(h)
    a[0] = em.arange(5)                          # device row
    a[1:3, 1:4] = em.ones((1, 3))                # broadcast
    a[3, ::2] = 9                                # Python scalar
    a[a > 8] = -1                                # device mask
    a[em.asarray([2]), em.asarray([4])] = 7      # device integer indices
    h[0] = np.arange(5)
    h[1:3, 1:4] = 1
    h[3, ::2] = 9
    h[h > 8] = -1
    h[2, 4] = 7
    np.testing.assert_array_equal(a.get(), h)
    a[...] = a[::-1].copy()                      # whole-array assignment from a device array
    np.testing.assert_array_equal(a.get(), h[::-1])


def test_get_set_astype_fill_copy(em):
    a = em.asarray(host())
    out = np.empty((3, 4), np.float32)
    assert a.get(out=out) is out and (out == host()).all()
    with pytest.raises(TypeError):
        a.get(out=np.empty((3, 4), np.float64))
    with pytest.raises(ValueError, match="Shape mismatch"):
        a.get(out=np.empty((4, 3), np.float32))
    a.set(host(2))
    np.testing.assert_array_equal(a.get(), host(2))
    f = a.get(order="F")
    assert f.flags.f_contiguous and (f == host(2)).all()
    c = a.copy()
    c.fill(3)
    assert (a.get() == host(2)).all() and (c.get() == 3).all()
    i = a.astype(np.int32)
    assert i.dtype == np.int32 and (i.get() == host(2).astype(np.int32)).all()
    assert em.asnumpy(a[:, 1]).shape == (3,)
    b = pickle.loads(pickle.dumps(a))
    assert isinstance(b, em.ndarray) and on_device(b) and (b.get() == a.get()).all()


def test_iteration_and_take(em):
    a = em.asarray(host(shape=(5, 2)))
    rows = list(a)
    assert len(rows) == 5 and all(isinstance(r, em.ndarray) for r in rows)
    assert ptr(rows[2]) == ptr(a) + 2 * 8
    idx_host = np.array([4, 0, 4])
    for idx in (idx_host, em.asarray(idx_host), [4, 0, 4]):   # host indices are copied over, as in CuPy
        np.testing.assert_array_equal(em.take(a, idx, axis=0).get(), host(shape=(5, 2))[idx_host])
        np.testing.assert_array_equal(a.take(idx, axis=0).get(), host(shape=(5, 2))[idx_host])
        np.testing.assert_array_equal(a[idx].get(), host(shape=(5, 2))[idx_host])
    out = em.empty((3, 2), dtype=np.float32)
    assert em.take(a, em.asarray(idx_host), axis=0, out=out) is out


# ------------------------------------------------------------------ streams and devices

def test_streams_become_current_and_nest(em):
    from cudnn_lite import _C
    null = em.cuda.Stream.null
    assert null.ptr == 0 and em.cuda.get_current_stream() is null
    s1, s2 = em.cuda.Stream(), em.cuda.Stream(non_blocking=True)
    assert s1.ptr != 0 and s2.ptr not in (0, s1.ptr) and s2.non_blocking
    with s1:
        assert em.cuda.get_current_stream() is s1 and _C.emulator_current_stream() == s1.ptr
        with s2 as inner:
            assert inner is s2 and em.cuda.get_current_stream() is s2
            s2.synchronize()
            assert s2.done
        assert em.cuda.get_current_stream() is s1
    assert em.cuda.get_current_stream() is null and _C.emulator_current_stream() == 0
    s1.use()
    assert em.cuda.get_current_stream() is s1
    null.use()
    assert em.cuda.get_current_stream() is null


def test_a_current_stream_stays_alive(em):
    from cudnn_lite import _C
    em.cuda.Stream().use()          # no other reference: CuPy keeps the current stream alive
    gc.collect()
    assert em.cuda.get_current_stream().ptr == _C.emulator_current_stream() != 0


def test_devices(em):
    assert em.cuda.runtime.getDeviceCount() == 1 and em.cuda.is_available()
    with em.cuda.Device(0) as d:
        assert d.id == 0 and int(d) == 0
        em.cuda.Device().synchronize()
    assert em.zeros(1).device == em.cuda.Device(0)
    with pytest.raises(em.cuda.runtime.CUDARuntimeError, match="invalid device ordinal"):
        with em.cuda.Device(1):
            pass
    assert issubclass(em.cuda.runtime.CUDARuntimeError, RuntimeError)
    assert em.cuda.set_allocator(None) is None  # accepted, no effect


# ------------------------------------------------------------- the package on emulator arrays

@pytest.fixture
def emulated(em, monkeypatch):
    """The package as in the emulated build (cudnn_lite.cuda_emulated): backend.xp('cuda') is em."""
    monkeypatch.setattr(package, "cuda_emulated", True)
    return em


def test_backend_dispatches_to_the_emulator(emulated):
    from cudnn_lite import backend, losses, metrics, ops
    em = emulated
    x = em.asarray(host())
    assert backend.xp("cuda") is em and backend.array_module(x) is em and ops._xp(x) is em
    assert backend.array_module(host(), 1.0) is np and backend.is_device_array(x)
    assert not backend.is_device_array(host()) and backend.device_of(x) == "cuda"
    d = backend.to_device(host(), "cuda", np.float32)
    assert isinstance(d, em.ndarray) and backend.to_device(d, "cuda") is d
    np.testing.assert_array_equal(backend.to_numpy(d), host())
    t, p = losses._as_2d(em.asarray(np.eye(3)[[0, 2]]), em.asarray(np.eye(3)[[0, 1]]))
    assert isinstance(t, em.ndarray) and t.dtype == np.float32 and t.flags.c_contiguous
    acc = metrics.categorical_accuracy(em.asarray(np.eye(3)[[0, 2]]), em.asarray(np.eye(3)[[0, 1]]))
    assert isinstance(acc, em.ndarray) and acc.get().tolist() == [1.0, 0.0]


def test_image_statistics_on_emulator_arrays(emulated):
    from cudnn_lite.preprocessing.image import ImageDataGenerator
    em = emulated
    x = (np.random.default_rng(0).random((6, 5, 4, 3)) * 255).astype(np.uint8)
    kw = dict(featurewise_center=True, featurewise_std_normalization=True, samplewise_center=True,
              rescale=1 / 255)
    host_gen, dev_gen = ImageDataGenerator(**kw).fit(x), ImageDataGenerator(**kw).fit(em.asarray(x))
    np.testing.assert_allclose(dev_gen.mean, host_gen.mean, rtol=1e-5)
    np.testing.assert_allclose(dev_gen.std, host_gen.std, rtol=1e-5)
    got = dev_gen.standardize(em.asarray(x))
    assert isinstance(got, em.ndarray)
    np.testing.assert_allclose(got.get(), host_gen.standardize(x), rtol=1e-5, atol=1e-6)


@pytest.mark.skipif(not (package and package.cuda_emulated), reason="the op bindings take emulator "
                    "arrays only in the emulated build (CUDNN_LITE_CUDA=EMULATE)")
def test_an_op_on_emulator_arrays_gives_an_emulator_array(em):
    from cudnn_lite import ops
    h = host(shape=(4, 7))
    y = ops.activation_forward(em.asarray(h), "relu")
    assert isinstance(y, em.ndarray) and on_device(y)
    np.testing.assert_array_equal(y.get(), np.maximum(h, 0))
    with pytest.raises(ValueError, match="C-contiguous"):
        ops.activation_forward(em.asarray(h).T, "relu")
