"""The op table's record types (see tests/opinfo/__init__.py for how the table is read).

An `OpInfo` describes one function of `cudnn_lite.ops`:
    samples     the calls its tests make: each a `Sample` whose `make()` builds fresh seeded data
                (float64 holding float32 values, odd shapes, never all zeros) and returns a `Call`
                that `run_sample` checks against `reference.<op>` (helpers.check_op: the float32
                tolerance of the call's reduction length, every output, CUDA also against the
                CPU), with the finite-difference checks the call names; or, for an op whose
                contract is more than "same values as the reference" (in-place updates, bit-exact
                masks, poisoned outputs), a `check(device)` holding that sample's own assertions;
    valid       one small valid call (float32 keyword arguments): what the bad-input tests
                corrupt, the leak check repeats (once per `variants` entry) and the benchmarks'
                smoke runs start from;
    bad         the bad-input description (`BadInputs`): which arguments to corrupt, wrong
                ranks and shapes, the empty batch, in-place arguments, plus explicit `Bad`
                variants (a call, the exception type, the argument its message must name);
    devices     where the op runs ('cpu', 'cuda'; 'cuda' is a GPU or the emulated CUDA build);
    bench       make(rng, **sizes) -> the float32 keyword arguments of one call at a benchmark's
                sizes (benchmarks/bench_ops.py and bench_cuda.py build their calls with it).

This package imports NumPy and tests/helpers.py only (no pytest): the benchmarks and
tests/leak_check.py read it too.
"""
from __future__ import annotations

import dataclasses
from typing import Callable, Optional, Sequence

import numpy as np

from helpers import Grad


@dataclasses.dataclass
class Call:
    """One call of an op for the generic check: float64 `inputs` (arrays are cast to float32
    for the kernel; the reference sees the same float32 values in float64), extra `kwargs`,
    the tolerance (`reduction` length -> helpers.f32_rtol, or an explicit `rtol`), and the
    finite-difference checks: `grad` (of the reference output, through check_op) and `fd`
    (a (Grad, analytic) pair: the reference backward evaluated separately, e.g. at exact
    float64 statistics the kernel does not see)."""
    inputs: dict
    kwargs: dict = dataclasses.field(default_factory=dict)
    seed: Optional[int] = None
    reduction: int = 1
    rtol: Optional[float] = None
    grad: Optional[Grad] = None
    fd: Optional[tuple] = None
    outputs: Optional[Sequence[int]] = None


@dataclasses.dataclass
class Sample:
    """One sample of an op: `make()` -> Call for the generic check, or `check(device)` for a
    sample with its own assertions. `id` is unique within the op (the pytest id)."""
    id: str
    make: Optional[Callable[[], Call]] = None
    check: Optional[Callable[[str], None]] = None

    def __post_init__(self):
        assert (self.make is None) != (self.check is None), f"sample {self.id}: give make or check"


@dataclasses.dataclass
class Bad:
    """An explicit bad call: kwargs() -> the call's keyword arguments; it must raise `error`
    whose message names `arg` as a word."""
    id: str
    kwargs: Callable[[], dict]
    arg: str
    error: type = ValueError


@dataclasses.dataclass
class BadInputs:
    """What tests/test_bad_inputs.py does to an op's valid call (OpInfo.valid): every array in
    `arrays` gets a wrong dtype, a list, a non-contiguous and a negatively strided view; `out`
    (if has_out) read-only, wrong dtype, wrong shape; `rank` / `shape`: arg -> a bad array;
    `empty`: a call with batch 0 (must work, or raise a ValueError naming `empty_error`);
    `writes`: in-place arguments besides out; `variants`: explicit `Bad` calls."""
    arrays: tuple
    rank: dict = dataclasses.field(default_factory=dict)
    shape: dict = dataclasses.field(default_factory=dict)
    empty: Optional[Callable[[], dict]] = None
    empty_error: Optional[str] = None
    has_out: bool = True
    writes: tuple = ()
    variants: Sequence[Bad] = ()


@dataclasses.dataclass
class OpInfo:
    name: str
    family: str
    samples: Callable[[], list]          # -> [Sample]; called once per test session
    valid: Callable[[], dict]
    bad: BadInputs
    variants: Sequence[dict] = ({},)     # kwargs overrides for the leak check (every enum value)
    devices: tuple = ("cpu", "cuda")
    bench: Optional[Callable[..., dict]] = None


# ----------------------------------------------------------------- data helpers

def f(*shape, seed=0):
    """float32 uniform in [0.1, 0.9) (the bad-input and leak-check data: never zero)."""
    return np.random.default_rng(seed + len(shape)).uniform(0.1, 0.9, size=shape).astype(np.float32)


def shape_id(shape):
    return "x".join(str(s) for s in shape) if isinstance(shape, (tuple, list)) else str(shape)
