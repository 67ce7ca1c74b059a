"""Shared test machinery: run an op on float32 data, its reference on float64, compare.

Tolerances (float32 kernels against the float64 reference):
    a kernel result `got` matches the reference `ref` when, elementwise,
        |got - ref| <= atol + rtol * |ref|,   atol = rtol * max(|ref|, 1e-30)
    with rtol = f32_rtol(reduction) = clamp(1e-4 * sqrt(reduction / 16), 1e-4, 1e-3), where
    `reduction` is the length of the longest sum behind one output element (k for
    sgemm, kh*kw*c for conv forward, ...). The atol term measures errors against the
    array's magnitude, since a sum with cancellation can land near zero.
Finite differences (float64 reference only): central differences with step 1e-6 of
    L = sum(forward(x) * dy) for every input element (a random subset of FD_MAX_ELEMENTS
    for bigger inputs), compared with the reference backward at rtol 1e-5,
    atol 1e-6 * max(|grad|, 1).
"""
from __future__ import annotations

import dataclasses
import importlib.util
import math
import os
import sys
from typing import Callable, Sequence

import numpy as np

try:
    import cudnn_lite as package  # the installed package (see conftest.py)
    from cudnn_lite import ops
except Exception:  # conftest fails every test that needs it, with instructions
    package = ops = None

# The reference is loaded from the source tree, so it never depends on the
# compiled extension (and the tests check the latest source of it). It is a package:
# registered under its own name so that its modules' relative imports resolve.
_REF_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        "cudnn_lite", "reference")
_spec = importlib.util.spec_from_file_location(
    "cudnn_lite_reference_source", os.path.join(_REF_DIR, "__init__.py"),
    submodule_search_locations=[_REF_DIR])
ref = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = ref
_spec.loader.exec_module(ref)

FD_STEP = 1e-6
FD_RTOL = 1e-5
FD_MAX_ELEMENTS = 150


def f32_rtol(reduction: int = 1) -> float:
    return float(min(max(1e-4 * math.sqrt(max(reduction, 1) / 16.0), 1e-4), 1e-3))


# --------------------------------------------------------------- devices

def device_array_module():
    """The CUDA device's array module: CuPy on a GPU machine, cudnn_lite.emulator in the emulated
    build (cudnn_lite.backend decides). Tests reach it only through here (or conftest's ``cp``)."""
    from cudnn_lite import backend
    return backend.xp("cuda")


def to_device(a, device):
    if device == "cuda":
        return device_array_module().asarray(a)
    return a


def to_host(a):
    if a is None or isinstance(a, np.ndarray):
        return a
    return device_array_module().asnumpy(a)


# ------------------------------------------------------------------ data

def rng_for(seed):
    return np.random.default_rng(seed)


def randn(rng, *shape, scale=1.0):
    """Normal data, float64 holding float32-representable values, never exactly zero."""
    a = rng.standard_normal(shape) * scale
    a[a == 0] = 0.5
    return a.astype(np.float32).astype(np.float64)


def quantised(rng, *shape, levels=3):
    """Data with many ties (values in {0, 1, ..., levels-1} - 1), float64."""
    return rng.integers(0, levels, size=shape).astype(np.float64) - 1.0


# ------------------------------------------------------------ comparison

def assert_close(got, want, rtol, what):
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != reference {want.shape}"
    if want.size == 0:
        return
    assert np.isfinite(got).all() == np.isfinite(want).all(), \
        f"{what}: non-finite values (got {np.count_nonzero(~np.isfinite(got))} non-finite)"
    scale = max(float(np.max(np.abs(want))), 1e-30)
    atol = rtol * scale
    err = np.abs(got - want)
    bad = err > atol + rtol * np.abs(want)
    if bad.any():
        idx = np.unravel_index(int(np.argmax(np.where(bad, err, -1))), want.shape)
        raise AssertionError(
            f"{what}: {np.count_nonzero(bad)}/{want.size} elements off; max |err| {err.max():.3g} "
            f"(max |ref| {scale:.3g}, rtol {rtol:.2g}); worst at {idx}: got {got[idx]!r}, "
            f"want {want[idx]!r}")


def _as_tuple(r):
    return tuple(r) if isinstance(r, (tuple, list)) else (r,)


# --------------------------------------------------------- finite differences

@dataclasses.dataclass
class Grad:
    """What a backward op is the gradient of.

    forward(**at) -> the float64 forward output; dy the cotangent (same shape as
    that output); names[i] = the key of `at` that backward output i is the
    gradient of (None to skip that output).
    """
    forward: Callable
    at: dict
    dy: np.ndarray
    names: Sequence


def finite_difference(forward, at, name, dy, rng):
    """d/d at[name] of sum(forward(**at) * dy), central differences (float64)."""
    x = np.array(at[name], dtype=np.float64)
    flat = x.reshape(-1)
    idx = np.arange(flat.size)
    if flat.size > FD_MAX_ELEMENTS:
        idx = rng.choice(flat.size, FD_MAX_ELEMENTS, replace=False)
    grad = np.full(flat.size, np.nan)
    args = dict(at)
    for i in idx:
        old = flat[i]
        flat[i] = old + FD_STEP
        args[name] = x
        plus = float(np.sum(forward(**args) * dy))
        flat[i] = old - FD_STEP
        minus = float(np.sum(forward(**args) * dy))
        flat[i] = old
        grad[i] = (plus - minus) / (2 * FD_STEP)
    return grad.reshape(x.shape), idx


def check_finite_differences(grad_spec: Grad, analytic, what, seed):
    rng = np.random.default_rng(seed + 7919)
    for name, g in zip(grad_spec.names, _as_tuple(analytic)):
        if name is None:
            continue
        fd, idx = finite_difference(grad_spec.forward, grad_spec.at, name, grad_spec.dy, rng)
        got = np.asarray(g, dtype=np.float64).reshape(-1)[idx]
        want = fd.reshape(-1)[idx]
        atol = 1e-6 * max(float(np.max(np.abs(want))) if want.size else 0.0, 1.0)
        err = np.abs(got - want)
        bad = err > atol + FD_RTOL * np.abs(want)
        assert not bad.any(), (
            f"{what}: reference gradient d/d{name} disagrees with finite differences at "
            f"{np.count_nonzero(bad)}/{idx.size} elements, max |err| {err.max():.3g} (seed {seed})")


# ---------------------------------------------------------------- the check

def check_op(name, inputs, kwargs=None, *, device="cpu", seed=None, reduction=1, rtol=None,
             grad_of: Grad | None = None, compare_cpu=True, outputs=None):
    """Run ops.<name> on float32 `inputs` (on `device`) and reference.<name> on float64.

    inputs: dict of argument name -> float64 NumPy array (or non-array value, passed as is).
    Compares every output (tuples too, `outputs` selects which indices); on CUDA also
    against the CPU result. With grad_of, the reference output is also checked against
    finite differences of grad_of.forward. Returns (got, reference) as tuples of NumPy arrays.
    """
    kwargs = dict(kwargs or {})
    rtol = f32_rtol(reduction) if rtol is None else rtol
    what = f"{name}[{device}] seed={seed} shapes=" + ", ".join(
        f"{k}{tuple(v.shape)}" for k, v in inputs.items() if isinstance(v, np.ndarray)) + \
        (f" kwargs={kwargs}" if kwargs else "")

    def run(dev):
        args = {k: to_device(v.astype(np.float32), dev) if isinstance(v, np.ndarray) else v
                for k, v in inputs.items()}
        return tuple(to_host(r) for r in _as_tuple(getattr(ops, name)(**args, **kwargs)))

    got = run(device)
    # the reference sees exactly the float32 values the kernel sees, in float64
    want = _as_tuple(getattr(ref, name)(
        **{k: v.astype(np.float32).astype(np.float64) if isinstance(v, np.ndarray) else v
           for k, v in inputs.items()}, **kwargs))
    idx = range(len(want)) if outputs is None else outputs
    for i in idx:
        if want[i] is None:
            assert got[i] is None, f"{what}: output {i} should be None"
            continue
        assert_close(got[i], want[i], rtol, f"{what} output {i}")
    if device != "cpu" and compare_cpu:
        cpu = run("cpu")
        for i in idx:
            if want[i] is not None:
                assert_close(got[i], cpu[i], rtol, f"{what} output {i} vs CPU")
    if grad_of is not None:
        check_finite_differences(grad_of, want, what, seed or 0)
    return got, want


import pathlib  # noqa: E402

REPO_ROOT_FOR_TESTS = pathlib.Path(_REF_DIR).parent.parent
