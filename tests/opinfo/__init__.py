"""The op table: one `OpInfo` per function of `cudnn_lite.ops` (like PyTorch's OpInfo).

Each family module (matmul, conv, pool, activation, loss, batchnorm, dropout, optimizer,
affine) lists its ops in `OPS`; this module gathers them. Readers:
    tests/test_ops.py          every sample of every op on every device (run_sample)
    tests/test_bad_inputs.py   OpInfo.valid corrupted as OpInfo.bad says
    tests/leak_check.py        OpInfo.valid (x OpInfo.variants) and the rejected bad calls, repeated
    tests/test_cuda_paths.py   each family's CUDA-path cases (`cuda_*_case`, `CUDA_*` lists; machinery in
                               gpu.py): poisoned outputs, unaligned pointers, run twice, vs CPU and reference
    benchmarks/bench_ops.py, benchmarks/bench_cuda.py   OpInfo.bench: an op's call at given sizes

Adding an op: one OpInfo entry in its family's module (record types: opinfo/core.py); a
CUDA-path case beside it where the op has a kernel path worth stressing on the device.
"""
from __future__ import annotations

import numpy as np

from helpers import check_finite_differences, check_op

from . import activation, affine, batchnorm, conv, dropout, loss, matmul, optimizer, pool
from .core import Bad, BadInputs, Call, OpInfo, Sample, f  # noqa: F401  (re-exported)

FAMILIES = [matmul, conv, pool, activation, loss, batchnorm, dropout, optimizer, affine]
OPS = [op for family in FAMILIES for op in family.OPS]
BY_NAME = {op.name: op for op in OPS}
assert len(BY_NAME) == len(OPS), "an op is listed twice in the table"


def samples(op: OpInfo):
    """op's samples, ids checked unique."""
    got = op.samples()
    ids = [s.id for s in got]
    assert len(set(ids)) == len(ids), f"{op.name}: duplicate sample ids"
    return got


def run_sample(op: OpInfo, sample: Sample, device: str):
    """The generic check of one sample on one device: ops.<name> (float32) against
    reference.<name> (float64) with helpers.check_op, then the sample's separate finite
    differences; or the sample's own check."""
    if sample.check is not None:
        sample.check(device)
        return
    call = sample.make()
    check_op(op.name, call.inputs, call.kwargs, device=device, seed=call.seed, reduction=call.reduction,
             rtol=call.rtol, grad_of=call.grad, outputs=call.outputs)
    if call.fd is not None:
        grad, analytic = call.fd
        check_finite_differences(grad, analytic(), f"{op.name} {sample.id}", call.seed or 0)


def bench_args(name, rng=None, **sizes):
    """The float32 keyword arguments of ops.<name> at a benchmark's sizes (OpInfo.bench)."""
    op = BY_NAME[name]
    if op.bench is None:
        raise KeyError(f"{name}: the op table has no benchmark call for it")
    return op.bench(rng if rng is not None else np.random.default_rng(0), **sizes)
