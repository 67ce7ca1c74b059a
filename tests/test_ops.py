"""Every op of the table (tests/opinfo/) on every device: each sample against the float64
reference (and finite differences where the sample names them), on 'cpu' and, where the
build has it, 'cuda' (a GPU or the emulated CUDA build; CUDA results also against the CPU's).
A new op needs no test here: its OpInfo entry's samples run automatically."""
import pytest

import opinfo
from helpers import ops

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
