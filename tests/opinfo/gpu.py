"""The CUDA-path machinery of the op table (tests/test_cuda_paths.py runs the cases, the family
modules hold them as `cuda_*_case` functions): device copies at unaligned offsets, poisoned
outputs with guard cells, every GPU op run twice (a difference is a race), and the comparison
of a GPU result with the CPU path and the float64 reference. `cp` is the device's array module
(CuPy on a GPU, cudnn_lite.emulator in the emulated build)."""
import numpy as np

from helpers import assert_close

GUARD = 8               # guard cells after every poisoned output
GUARD_VALUE = 7.25      # what the guard cells hold (and must still hold afterwards)


def f32(a):
    return np.ascontiguousarray(a, dtype=np.float32)


def dev(cp, a, offset=0):
    """a (NumPy) copied to the GPU, starting `offset` floats into a NaN-guarded allocation
    (offset 1..3: a pointer that is not 16-byte aligned)."""
    a = f32(a)
    if offset == 0:
        return cp.asarray(a)
    base = cp.full(offset + a.size + GUARD, np.nan, dtype=cp.float32)
    view = base[offset:offset + a.size].reshape(a.shape)
    view[...] = cp.asarray(a)
    return view


class Out:
    """A poisoned GPU output: NaN inside (or `init`), GUARD_VALUE in the guard cells around it."""

    def __init__(self, cp, shape, offset=0, init=None):
        self.cp, self.shape, self.offset = cp, tuple(int(s) for s in shape), offset
        self.size = int(np.prod(self.shape, dtype=np.int64))
        self.base = cp.full(offset + self.size + GUARD, GUARD_VALUE, dtype=cp.float32)
        self.view = self.base[offset:offset + self.size].reshape(self.shape)
        if init is None:
            self.view.fill(np.nan)
        else:
            self.view[...] = cp.asarray(f32(init))

    def host(self, what):
        base = self.cp.asnumpy(self.base)
        guards = np.concatenate([base[:self.offset], base[self.offset + self.size:]])
        assert (guards == np.float32(GUARD_VALUE)).all(), f"{what}: wrote outside its output array"
        return base[self.offset:self.offset + self.size].reshape(self.shape)


def bits(a):
    return np.ascontiguousarray(a, dtype=np.float32).view(np.uint32)


def assert_bitwise(got, want, what):
    got, want = f32(got), f32(want)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    diff = bits(got) != bits(want)
    if diff.any():
        i = np.unravel_index(int(np.argmax(diff)), got.shape)
        raise AssertionError(f"{what}: {int(diff.sum())}/{got.size} elements differ bitwise; first at {i}: "
                             f"got {got[i]!r}, want {want[i]!r}")


def assert_written(got, want_cpu, what):
    """NaN only where the CPU result has NaN (a NaN left elsewhere is an element never written)."""
    extra = np.isnan(got) & ~np.isnan(want_cpu)
    assert not extra.any(), f"{what}: {int(extra.sum())}/{got.size} elements left unwritten (poison NaN)"


def gpu_twice(run, what):
    """run() -> tuple of host arrays from freshly poisoned outputs; runs it twice, demands
    bit-identical results (a difference is a race), returns the first."""
    first = run()
    second = run()
    for i, (a, b) in enumerate(zip(first, second)):
        assert_bitwise(a, b, f"{what} output {i}: second run differs from the first (race?)")
    return first


def compare(got, cpu, want, rtol, what):
    """GPU result against the CPU path and the float64 reference (None to skip it)."""
    assert_written(got, cpu, what)
    assert_close(got, cpu, rtol, f"{what} vs CPU")
    if want is not None:
        assert_close(got, want, rtol, f"{what} vs reference")
