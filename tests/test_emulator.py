"""The host SIMT emulator itself (the emulated CUDA build, CUDNN_LITE_CUDA=EMULATE).

Its self-test kernels (csrc/emulator/selftest.cpp) are correct controls, a planted race, and one
kernel per kind of undefined behaviour the emulator reports. Every control must give the right
values under every schedule and block order; every undefined behaviour must fail its launch
with the CUDA error a GPU would give (or, where a GPU gives garbage or hangs, a launch failure)
and a message that says what happened; the race must be caught by the schedule check.
Skipped in the other builds, where `_C.cuda_emulated` is False (checked below).
"""
from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys

import pytest

from helpers import package

C = package._C if package is not None else None
emulated = pytest.mark.skipif(C is None or not getattr(C, "cuda_emulated", False),
                              reason="not the emulated CUDA build (CUDNN_LITE_CUDA=EMULATE)")

SCHEDULES = ["in-order", "reverse", "warp-greedy", "random"]
BLOCK_ORDERS = ["forward", "reverse", "random"]

# case -> (CUDA error name, a regular expression for what the message must say; where the
# schedule decides which thread notices first, either wording)
UNDEFINED = {
    "barrier_after_early_exit": ("cudaErrorLaunchFailure", "reached by 16 of 64 threads; the others have exited"),
    "divergent_barriers": ("cudaErrorLaunchFailure", "threads wait at different __syncthreads"),
    "deadlock": ("cudaErrorLaunchFailure", r"deadlock: 31 lane\(s\) of warp 0 wait in a warp collective"),
    "shuffle_exited_lane": ("cudaErrorLaunchFailure",
                            r"thread exited while \d+ lane\(s\) of warp 0 wait|of warp 0 named by the mask have exited"),
    "partial_mask": ("cudaErrorLaunchFailure", r"with mask 0x0000ffff"),
    "partial_warp": ("cudaErrorLaunchFailure", "in a partial warp: warp 1 has 16 lanes"),
    "diverging_collectives": ("cudaErrorLaunchFailure", r"lanes of warp \d diverge: __\w+_sync"),
    "bad_width": ("cudaErrorLaunchFailure", "with width 12"),
    "misaligned_ldg": ("cudaErrorMisalignedAddress", "__ldg of a misaligned address"),
    "block_too_large": ("cudaErrorInvalidConfiguration", r"block 1025x1x1"),
    "block_z_too_large": ("cudaErrorInvalidConfiguration", r"block 1x1x65"),
    "grid_zero": ("cudaErrorInvalidConfiguration", r"grid 0x1x1"),
    "grid_y_too_large": ("cudaErrorInvalidConfiguration", r"grid 1x65536x1"),
    "dynamic_shared_memory": ("cudaErrorInvalidValue", "dynamic shared memory"),
}
CONTROLS = ["control_block_sum", "control_shuffle_width", "control_grid_stride",
            "control_by_value_parameters"]


@pytest.fixture
def options():
    """Emulator options changed by a test are put back afterwards."""
    saved = C.emulator_options()
    yield
    C.emulator_configure(**{k: v for k, v in saved.items()})


def test_build_flags():
    assert isinstance(C.cuda_emulated, bool)
    info = package.build_info()
    assert info["cuda_emulated"] is C.cuda_emulated
    if C.cuda_emulated:
        assert C.with_cuda and package.with_cuda
        assert C.cuda_device_count() == 1
        assert info["cuda_runtime"].endswith("(emulated)")
        assert package.cuda_available()


@emulated
def test_every_case_is_covered():
    assert sorted(C.emulator_selftest_cases()) == sorted(list(UNDEFINED) + CONTROLS + ["race_shared_scratch"])


@emulated
@pytest.mark.parametrize("schedule,order", list(itertools.product(SCHEDULES, BLOCK_ORDERS)))
def test_controls_correct_under_every_schedule(options, schedule, order):
    C.emulator_configure(schedule=schedule, block_order=order, seed=11, check_schedule="none")
    for case in CONTROLS:
        assert C.emulator_selftest(case) == "", f"{case} under {schedule}/{order}"


@emulated
@pytest.mark.parametrize("case", sorted(UNDEFINED))
@pytest.mark.parametrize("schedule", SCHEDULES)
def test_undefined_behaviour_fails_the_launch(options, case, schedule):
    C.emulator_configure(schedule=schedule, check_schedule="none")
    name, text = UNDEFINED[case]
    message = C.emulator_selftest(case)
    assert name in message and re.search(text, message), message
    assert message.startswith("cudnn_lite CUDA error in "), message


@emulated
def test_failure_is_not_sticky(options):
    C.emulator_configure(schedule="in-order", check_schedule="none")
    assert C.emulator_selftest("deadlock") != ""
    assert C.emulator_selftest("control_block_sum") == ""
    assert C.emulator_selftest("block_too_large") != ""
    assert C.emulator_selftest("control_grid_stride") == ""


@emulated
def test_planted_race_depends_on_the_schedule_and_the_check_catches_it(options):
    C.emulator_configure(schedule="in-order", block_order="forward", check_schedule="none")
    assert C.emulator_selftest("race_shared_scratch") == "", "a lock-step order hides this race"
    C.emulator_configure(schedule="warp-greedy")
    assert C.emulator_selftest("race_shared_scratch").startswith("wrong result"), \
        "a warp running ahead must overwrite the scratch before the last warp reads it"
    C.emulator_configure(schedule="in-order", check_schedule="warp-greedy")
    before = C.emulator_stats()["checked_launches"]
    message = C.emulator_selftest("race_shared_scratch")
    assert "schedule check failed" in message and "racy_double_sum_kernel" in message, message
    assert C.emulator_selftest("control_block_sum") == ""
    assert C.emulator_stats()["checked_launches"] == before + 2


@emulated
def test_options_are_validated(options):
    with pytest.raises(ValueError, match="schedule"):
        C.emulator_configure(schedule="sideways")
    with pytest.raises(ValueError, match="block order"):
        C.emulator_configure(block_order="diagonal")
    with pytest.raises(TypeError, match="unknown option"):
        C.emulator_configure(colour="blue")
    with pytest.raises(ValueError, match="sms"):
        C.emulator_configure(sms=0)
    C.emulator_configure(check_schedule="random", seed=3)
    assert C.emulator_options()["check_schedule"] == "random"
    assert C.emulator_options()["seed"] == 3


@emulated
@pytest.mark.parametrize("kb, expected", [(8, 0), (15, 0), (16, 16), (96, 96)])
def test_stack_size_from_the_environment(tmp_path, kb, expected):
    """CUDNN_LITE_EMU_STACK_KB under 16 is ignored (the default stack, 0 here) with a message;
    from 16 up it is the stack of every emulated thread."""
    env = dict(os.environ, CUDNN_LITE_EMU_STACK_KB=str(kb))
    code = "import cudnn_lite._C as C; print(C.emulator_options()['stack_kb'])"
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert float(proc.stdout.split()[-1]) == expected
    assert ("CUDNN_LITE_EMU_STACK_KB below 16 ignored" in proc.stderr) == (kb < 16)


@emulated
def test_device_buffers_are_tracked_and_freed():
    base = C.emulator_stats()["device_bytes_in_use"]
    buf = C.emulator_device_buffer(1000)
    assert buf.dtype.name == "uint8" and buf.shape == (1000,)
    ptr = buf.ctypes.data
    assert ptr % 256 == 0
    assert C.emulator_is_device_pointer(ptr) and C.emulator_is_device_pointer(ptr + 999)
    assert not C.emulator_is_device_pointer(ptr + 1000)
    view = buf[10:20]
    del buf
    assert C.emulator_stats()["device_bytes_in_use"] == base + 1000  # the view keeps it alive
    del view
    assert C.emulator_stats()["device_bytes_in_use"] == base
    assert not C.emulator_is_device_pointer(ptr)
    with pytest.raises(MemoryError, match="CUDNN_LITE_EMU_MEMORY_MB"):
        C.emulator_device_buffer(1 << 50)


@emulated
def test_streams():
    s = C.emulator_stream_create()
    assert s != 0
    assert C.emulator_current_stream() == 0
    C.emulator_set_current_stream(s)
    try:
        assert C.emulator_current_stream() == s
        assert C.emulator_selftest("control_block_sum") == ""
    finally:
        C.emulator_set_current_stream(0)
    C.emulator_stream_destroy(s)
    with pytest.raises(ValueError, match="not a live stream"):
        C.emulator_set_current_stream(s)
