"""bench_cuda.py's context: array modules (CuPy, or NumPy with --emulate-cpu), PyTorch with TF32
off, random inputs, the harness's CUDA-event timers with the L2 flush, result comparison (err,
bitwise) and the device bandwidth the memory-bound ops are measured against."""
from __future__ import annotations

import numpy as np

import harness


class Ctx:
    """Array modules, timers and the L2 flush; a NumPy/CPU-torch stand-in with emulate=True."""

    def __init__(self, emulate: bool, flush: bool):
        import torch
        from cudnn_lite import ops
        self.emulate, self.torch, self.ops = emulate, torch, ops
        self.F = torch.nn.functional
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.benchmark = True
        if emulate:
            self.xp, self.tdev = np, "cpu"
            self.asnumpy = np.asarray
            self.timers = {"cupy": harness.DeviceTimer("host"), "torch": harness.DeviceTimer("host")}
        else:
            import cupy
            self.xp, self.tdev = cupy, "cuda"
            self.asnumpy = cupy.asnumpy
            l2 = harness.l2_flush(256) if flush else None
            # our kernels are timed with CuPy's events, the yardsticks with their library's
            self.timers = {"cupy": harness.DeviceTimer("cupy", torch, flush=l2),
                           "torch": harness.DeviceTimer("torch", torch, flush=l2)}
        self.rng = np.random.default_rng(0)
        self.bandwidth = None

    # data
    def rand(self, *shape, scale=1.0):
        return self.xp.asarray((self.rng.standard_normal(shape) * scale).astype(np.float32))

    def t(self, a):
        """A CuPy (or NumPy) array as a torch tensor sharing its memory (DLPack)."""
        return self.torch.from_dlpack(a) if not self.emulate else self.torch.from_numpy(np.ascontiguousarray(a))

    def t_nchw(self, a):
        """NHWC array -> NCHW-shaped torch tensor with channels_last strides (no copy)."""
        return self.t(a).permute(0, 3, 1, 2)

    def sync(self):
        self.timers["cupy"].sync()

    def time(self, fn, kind, target_s=0.1, min_rep=10, max_rep=100):
        """harness.DeviceTimer.time with the timer of ``kind`` ('cupy' or 'torch')."""
        return self.timers[kind].time(fn, target_s=target_s, min_rep=min_rep, max_rep=max_rep)


def err(got, want):
    """max |got - want| and that over max |want| (NaN-aware: a NaN mismatch gives inf)."""
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        return {"max_abs": float("inf"), "rel": float("inf"), "note": f"shape {got.shape} != {want.shape}"}
    if not np.array_equal(np.isnan(got), np.isnan(want)):
        return {"max_abs": float("inf"), "rel": float("inf"), "note": "NaN pattern differs"}
    ok = ~np.isnan(want)
    d = float(np.max(np.abs(got[ok] - want[ok]))) if ok.any() else 0.0
    scale = float(np.max(np.abs(want[ok]))) if ok.any() else 0.0
    return {"max_abs": d, "rel": d / scale if scale else d}


def bitwise(got, want):
    got, want = np.ascontiguousarray(got, np.float32), np.ascontiguousarray(want, np.float32)
    same = got.shape == want.shape and np.array_equal(got.view(np.uint32), want.view(np.uint32))
    e = err(got, want)
    e["bit_identical"] = bool(same)
    return e


def measure_bandwidth(ctx) -> dict:
    """Best of a 1 GiB device-to-device memcpy and a CuPy copy kernel, bytes read + written per second."""
    if ctx.emulate:
        return {"bytes_per_s": 10e9, "note": "emulated"}
    cp = ctx.xp
    n = 2**28  # floats: 1 GiB
    src, dst = cp.ones(n, dtype=cp.float32), cp.empty(n, dtype=cp.float32)
    nbytes = 4 * n

    def memcpy():
        cp.cuda.runtime.memcpyAsync(dst.data.ptr, src.data.ptr, nbytes, cp.cuda.runtime.memcpyDeviceToDevice,
                                    cp.cuda.get_current_stream().ptr)

    def kernel():
        cp.copyto(dst, src)
    r1 = ctx.time(memcpy, "cupy", target_s=0.2, min_rep=10, max_rep=30)
    r2 = ctx.time(kernel, "cupy", target_s=0.2, min_rep=10, max_rep=30)
    bw = max(2 * nbytes / r1["median_s"], 2 * nbytes / r2["median_s"])
    del src, dst
    cp.get_default_memory_pool().free_all_blocks()
    return {"bytes_per_s": bw, "memcpy_GBps": 2 * nbytes / r1["median_s"] / 1e9,
            "copy_kernel_GBps": 2 * nbytes / r2["median_s"] / 1e9}


def machine(ctx) -> dict:
    """The harness's machine record with the card (threads pinned as every benchmark pins them)."""
    threads = harness.pin_threads(harness.default_threads(), ctx.torch)
    return harness.machine_record(threads, ctx.torch, gpu=True, emulated=ctx.emulate)
