"""GPU timings of every cudnn_lite CUDA op on the textbook's layer shapes, against cuDNN (through
PyTorch, channels_last) and cuBLAS (through CuPy), TF32 off on both sides.

    python benchmarks/bench_cuda.py --out DIR                # the op table (about 2 minutes on an H100)
    python benchmarks/bench_cuda.py --out DIR --train-only   # one training epoch: cudnn_lite vs PyTorch eager
    python benchmarks/bench_cuda.py --dry-run [--out DIR]    # the case list and import check; no GPU needed
    python benchmarks/bench_cuda.py --emulate-cpu --quick    # run the whole script on NumPy/CPU torch
                                                             # (checks its logic without a GPU; times are meaningless)
    --only conv2d       run the cases whose name contains a substring    --batches 32,128
    --time-budget S     stop starting new cases after S seconds (partial results are still written)

Method. NVIDIA_TF32_OVERRIDE=0 is set before CuPy/PyTorch load; torch.backends.cudnn.allow_tf32 and
torch.backends.cuda.matmul.allow_tf32 are False; torch.backends.cudnn.benchmark is True (cuDNN picks its
fastest algorithm during the warm-up: the yardstick at its best). Every case is first VALIDATED: the
cudnn_lite GPU result against the cudnn_lite CPU path (NumPy arrays, same inputs) and against the
yardstick's result; the max abs error and max abs error / max |CPU| are recorded (bit-identity for
dropout and max-pool). Then each implementation is timed with CUDA events around ONE call after 3
warm-up calls, the L2 cache flushed (a 256 MiB memset) before each repeat, median of 10..100
repeats (~0.1 s per implementation). Ratio = cudnn_lite time / yardstick time (< 1: cudnn_lite faster).
Memory-bound ops also report % of the measured device bandwidth: the minimal DRAM traffic of the op
(each input read once, each output written once) / time / bandwidth, the bandwidth being the best of a
1 GiB device-to-device cudaMemcpy and a CuPy copy kernel (2 bytes moved per byte copied).

Cases: each op's cudnn_lite call (its arguments at the layer's sizes) comes from the op table,
tests/opinfo/ (OpInfo.bench), through table_call; this file adds the shapes, yardsticks and timing.

Yardsticks: conv forward = F.conv2d (+ relu_ where the layer fuses relu: what eager runs); conv
backward = aten.convolution_backward with one output mask (what autograd calls); 2x2 'same' convs get a
pre-padded input on the PyTorch side (Keras pads only bottom/right). SGEMM and dense layers = cupy.matmul
(cuBLAS SGEMM; ours also applies bias + activation in dense forward). Max-pool = aten
max_pool2d_with_indices(+_backward); batch norm = F.batch_norm / aten.native_batch_norm_backward; dropout =
aten.native_dropout(+_backward); relu = torch.relu / aten.threshold_backward; softmax + CE = F.cross_entropy
forward + autograd backward; Adam = torch.optim.Adam(fused=True) over all the network's weights.
Outputs: DIR/bench_cuda.json and bench_cuda.md (card, driver, CUDA, cuDNN, commit, date), or
bench_train.json/.md with --train-only; the commit comes from git or $CUDNN_LITE_COMMIT.
"""
from __future__ import annotations

import os

os.environ.setdefault("NVIDIA_TF32_OVERRIDE", "0")  # before CuPy / PyTorch load cuBLAS

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import datetime  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from typing import Callable, Dict, List, Optional  # noqa: E402

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

# ------------------------------------------------------------------ shapes
# the textbook's networks (benchmarks/layer_shapes.py, shared with bench_ops.py)
sys.path.insert(0, HERE)
from layer_shapes import (BN_LAYERS, CONV_LAYERS, DENSE_LAYERS, DROPOUT_LAYERS,  # noqa: E402
                          PARAM_SHAPES, POOL_LAYERS)

ACT_LAYERS = [("mnist_cnn conv1 out", (28, 28, 32)), ("cifar10_improved conv2 out", (32, 32, 32)),
              ("cifar10_improved conv4 out", (16, 16, 64))]
MEMORY_GROUPS = ("pool", "activation", "softmax", "batchnorm", "dropout", "optimizer")


@dataclasses.dataclass
class Case:
    group: str            # sgemm | conv_fwd | conv_bwd_data | conv_bwd_filter | dense | pool | ...
    op: str
    layer: str
    batch: int
    shape: str
    build: Callable       # build(ctx) -> {'ours': fn, 'torch'|'cupy': fn, 'check': fn -> dict}
    yardstick: str        # 'torch' (cuDNN / PyTorch) or 'cupy' (cuBLAS)
    flops: Optional[float] = None
    bytes: Optional[float] = None   # minimal DRAM traffic (memory-bound ops)

    @property
    def name(self):
        return f"{self.op} {self.layer} b{self.batch}"


# ------------------------------------------------------------------ context

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
            self.flush_buf = None
        else:
            import cupy
            self.xp, self.tdev = cupy, "cuda"
            self.asnumpy = cupy.asnumpy
            self.flush_buf = cupy.empty(256 * 2**20 // 4, dtype=cupy.float32) if flush else None
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
        if not self.emulate:
            self.xp.cuda.Device().synchronize()
            self.torch.cuda.synchronize()

    # timing
    def _events(self, kind):
        if self.emulate:
            class E:
                def record(self):
                    self.t = time.perf_counter()

                def synchronize(self):
                    pass
            return E(), E(), lambda s, e: e.t - s.t
        if kind == "torch":
            s, e = self.torch.cuda.Event(enable_timing=True), self.torch.cuda.Event(enable_timing=True)
            return s, e, lambda s, e: s.elapsed_time(e) * 1e-3
        s, e = self.xp.cuda.Event(), self.xp.cuda.Event()
        return s, e, lambda s, e: self.xp.cuda.get_elapsed_time(s, e) * 1e-3

    def time(self, fn, kind, target_s=0.1, min_rep=10, max_rep=100):
        for _ in range(3):
            fn()
        self.sync()
        t0 = time.perf_counter()
        fn()
        self.sync()
        est = time.perf_counter() - t0
        repeats = int(min(max(target_s / max(est, 1e-6), min_rep), max_rep))
        start, end, elapsed = self._events(kind)
        times = []
        for _ in range(repeats):
            if self.flush_buf is not None:
                self.flush_buf.fill(0)
            start.record()
            fn()
            end.record()
            end.synchronize()
            times.append(elapsed(start, end))
        return {"median_s": statistics.median(times), "min_s": min(times), "repeats": repeats}


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


# ------------------------------------------------------------------ cases

TESTS = os.path.join(REPO, "tests")


def table_call(ctx, name, **sizes):
    """ops.<name>'s keyword arguments at these sizes, from the op table (tests/opinfo/, OpInfo.bench),
    its arrays on the device."""
    if TESTS not in sys.path:
        sys.path.insert(0, TESTS)
    import opinfo  # here, not at the top: it imports cudnn_lite, after the TF32 environment is set
    kw = opinfo.bench_args(name, ctx.rng, **sizes)
    if isinstance(kw, list):  # optimizer_update: one call per weight
        return [{k: ctx.xp.asarray(v) if isinstance(v, np.ndarray) else v for k, v in c.items()} for c in kw]
    return {k: ctx.xp.asarray(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}


def _conv_case(op, layer, n, h, w, c, kern, f, act):
    def build(ctx):
        xp, ops, torch, F = ctx.xp, ctx.ops, ctx.torch, ctx.F
        kw = table_call(ctx, op, n=n, h=h, w=w, c=c, k=kern, f=f,
                        **({"activation": act} if op == "conv2d_forward" else {}))
        # the arrays this op's call does not take, for PyTorch's call
        x = kw["x"] if "x" in kw else ctx.rand(n, h, w, c)
        wt = kw["w"] if "w" in kw else ctx.rand(kern, kern, c, f, scale=0.1)
        b = kw["b"] if "b" in kw else ctx.rand(f)
        dy = kw["dy"] if "dy" in kw else ctx.rand(n, h, w, f)
        hkw = {k: ctx.asnumpy(v) if k in ("x", "w", "b", "dy") else v for k, v in kw.items()}
        y, dx, dw = (xp.empty((n, h, w, f), np.float32), xp.empty((n, h, w, c), np.float32),
                     xp.empty((kern, kern, c, f), np.float32))
        tx = ctx.t_nchw(x)
        pad = 1 if kern == 3 else 0
        if kern == 2:  # Keras 'same' for 2x2: one extra row/col at the bottom/right only
            tx = F.pad(tx, (0, 1, 0, 1)).contiguous(memory_format=torch.channels_last)
        tw = ctx.t(wt).permute(3, 2, 0, 1).contiguous(memory_format=torch.channels_last)
        tb, tdy = ctx.t(b), ctx.t_nchw(dy)
        cb = torch.ops.aten.convolution_backward
        if op == "conv2d_forward":
            def ours():
                return ops.conv2d_forward(**kw, out=y)

            def theirs():
                out = F.conv2d(tx, tw, tb, padding=pad)
                return out.relu_() if act == "relu" else out

            def check():
                ours()
                got = ctx.asnumpy(y)
                cpu = ops.conv2d_forward(**hkw)
                tor = theirs().permute(0, 2, 3, 1).cpu().numpy()
                return {"cpu": err(got, cpu), "yardstick": err(got, tor)}
        elif op == "conv2d_backward_data":
            def ours():
                return ops.conv2d_backward_data(**kw, out=dx)

            def theirs():
                return cb(tdy, tx, tw, None, [1, 1], [pad, pad], [1, 1], False, [0, 0], 1, [True, False, False])[0]

            def check():
                ours()
                got = ctx.asnumpy(dx)
                cpu = ops.conv2d_backward_data(**hkw)
                tor = theirs()[:, :, :h, :w].permute(0, 2, 3, 1).cpu().numpy()
                return {"cpu": err(got, cpu), "yardstick": err(got, tor)}
        else:
            def ours():
                return ops.conv2d_backward_filter(**kw, out=dw)

            def theirs():
                return cb(tdy, tx, tw, None, [1, 1], [pad, pad], [1, 1], False, [0, 0], 1, [False, True, False])[1]

            def check():
                ours()
                got = ctx.asnumpy(dw)
                cpu = ops.conv2d_backward_filter(**hkw)
                tor = theirs().permute(2, 3, 1, 0).cpu().numpy()
                return {"cpu": err(got, cpu), "yardstick": err(got, tor)}
        return {"ours": ours, "torch": theirs, "check": check}

    flops = 2.0 * n * h * w * f * kern * kern * c
    group = {"conv2d_forward": "conv_fwd", "conv2d_backward_data": "conv_bwd_data",
             "conv2d_backward_filter": "conv_bwd_filter"}[op]
    return Case(group, op, layer, n, f"x({n},{h},{w},{c}) w({kern},{kern},{c},{f}) same {act}", build,
                "torch", flops=flops)


def _sgemm_case(op, layer, m, n, k, ta=False, tb=False, bias_act=None):
    """op(A)(m,k) @ op(B)(k,n): ours (sgemm or dense_forward) vs cupy.matmul vs torch.mm."""
    def build(ctx):
        xp, ops = ctx.xp, ctx.ops
        if bias_act is None:
            kw = table_call(ctx, "sgemm", m=m, n=n, k=k, trans_a=ta, trans_b=tb)
            a, b, bias = kw["a"], kw["b"], ctx.rand(n)
        else:  # dense_forward: x (m, k), w (k, n), bias (n)
            kw = table_call(ctx, "dense_forward", n=m, fan_in=k, fan_out=n, activation=bias_act)
            a, b, bias = kw["x"], kw["w"], kw["b"]
        c, c2 = xp.empty((m, n), np.float32), xp.empty((m, n), np.float32)
        opa, opb = (a.T if ta else a), (b.T if tb else b)
        if bias_act is None:
            def ours():
                return ops.sgemm(a, b, trans_a=ta, trans_b=tb, out=c)
        else:
            def ours():
                return ops.dense_forward(a, b, bias, bias_act, out=c)

        def theirs():
            return xp.matmul(opa, opb, out=c2)
        ta_t, tb_t = ctx.t(a), ctx.t(b)
        ta_t, tb_t = (ta_t.t() if ta else ta_t), (tb_t.t() if tb else tb_t)
        tc = ctx.torch.empty((m, n), device=ctx.tdev)

        def torch_mm():
            return ctx.torch.mm(ta_t, tb_t, out=tc)

        def check():
            ours()
            got = ctx.asnumpy(c)
            rows = min(m, 64)  # the CPU checks the first rows of op(A) @ op(B) (big problems are slow there)
            ha, hb, hbias = ctx.asnumpy(a), ctx.asnumpy(b), ctx.asnumpy(bias)
            ha_rows = np.ascontiguousarray(ha[:, :rows] if ta else ha[:rows])
            if bias_act is None:
                cpu = ops.sgemm(ha_rows, hb, trans_a=ta, trans_b=tb)
                yard = ctx.asnumpy(theirs())
            else:
                cpu = ops.dense_forward(ha_rows, hb, hbias, bias_act)
                yard = ops.activation_forward(ctx.asnumpy(theirs()) + hbias, bias_act) \
                    if bias_act in ("relu", "linear") else got
            return {"cpu": err(got[:rows], cpu), "yardstick": err(got, yard)}
        return {"ours": ours, "cupy": theirs, "torch": torch_mm, "check": check}

    group = "sgemm" if layer.startswith("sgemm") else "dense"
    t = ("T" if ta else "N") + ("T" if tb else "N")
    return Case(group, op, layer, m, f"m{m} n{n} k{k} {t}" + (f" +bias {bias_act}" if bias_act else ""),
                build, "cupy", flops=2.0 * m * n * k)


def _pool_case(op, layer, n, h, w, c):
    def build(ctx):
        xp, ops, torch = ctx.xp, ctx.ops, ctx.torch
        kw = table_call(ctx, "maxpool2d_backward", n=n, h=h, w=w, c=c)  # x and dy; the forward takes x
        x, dy = kw["x"], kw["dy"]
        y, dx = xp.empty((n, h // 2, w // 2, c), np.float32), xp.empty((n, h, w, c), np.float32)
        tx, tdy = ctx.t_nchw(x), ctx.t_nchw(dy)
        _, idx = torch.ops.aten.max_pool2d_with_indices(tx, [2, 2], [2, 2])
        hx, hdy = ctx.asnumpy(x), ctx.asnumpy(dy)
        if op == "maxpool2d_forward":
            def ours():
                return ops.maxpool2d_forward(x, 2, out=y)

            def theirs():
                return torch.ops.aten.max_pool2d_with_indices(tx, [2, 2], [2, 2])

            def check():
                ours()
                return {"cpu": bitwise(ctx.asnumpy(y), ops.maxpool2d_forward(hx, 2)),
                        "yardstick": err(ctx.asnumpy(y), theirs()[0].permute(0, 2, 3, 1).cpu().numpy())}
        else:
            def ours():
                return ops.maxpool2d_backward(x, dy, 2, out=dx)

            def theirs():
                return torch.ops.aten.max_pool2d_with_indices_backward(tdy, tx, [2, 2], [2, 2], [0, 0], [1, 1],
                                                                       False, idx)

            def check():
                ours()
                return {"cpu": bitwise(ctx.asnumpy(dx), ops.maxpool2d_backward(hx, hdy, 2)),
                        "yardstick": err(ctx.asnumpy(dx), theirs().permute(0, 2, 3, 1).cpu().numpy())}
        return {"ours": ours, "torch": theirs, "check": check}

    numel = n * h * w * c
    nbytes = 4 * (numel + numel / 4) if op == "maxpool2d_forward" else 4 * (2 * numel + numel / 4)
    return Case("pool", op, layer, n, f"x({n},{h},{w},{c}) 2x2/2", build, "torch", bytes=nbytes)


def _act_case(op, layer, n, shape, act):
    full = (n,) + tuple(shape)
    numel = int(np.prod(full))

    def build(ctx):
        xp, ops, torch = ctx.xp, ctx.ops, ctx.torch
        x = table_call(ctx, "activation_forward", n=n, shape=shape, act=act)["x"]
        dy = ctx.rand(*full)
        y, dx = xp.empty(full, np.float32), xp.empty(full, np.float32)
        tx, tdy = ctx.t(x), ctx.t(dy)
        ty = torch.relu(tx)
        hx, hdy = ctx.asnumpy(x), ctx.asnumpy(dy)
        if op == "activation_forward":
            def ours():
                return ops.activation_forward(x, act, out=y)

            def theirs():
                return torch.relu(tx) if act == "relu" else torch.sigmoid(tx)

            def check():
                ours()
                got = ctx.asnumpy(y)
                return {"cpu": err(got, ops.activation_forward(hx, act)), "yardstick": err(got, theirs().cpu().numpy())}
        else:
            ops.activation_forward(x, act, out=y)

            def ours():
                return ops.activation_backward(y, y, dy, act, out=dx)

            def theirs():
                return torch.ops.aten.threshold_backward(tdy, ty, 0)

            def check():
                ours()
                got, hy = ctx.asnumpy(dx), ctx.asnumpy(y)
                return {"cpu": err(got, ops.activation_backward(hy, hy, hdy, act)),
                        "yardstick": err(got, theirs().cpu().numpy())}
        return {"ours": ours, "torch": theirs, "check": check}

    return Case("activation", op, layer, n, f"{full} {act}", build, "torch",
                bytes=4 * numel * (2 if op == "activation_forward" else 3))


def _softmax_ce_case(layer, n, classes):
    def build(ctx):
        xp, ops, torch, F = ctx.xp, ctx.ops, ctx.torch, ctx.F
        z = table_call(ctx, "softmax_forward", rows=n, cols=classes)["x"]
        labels = ctx.rng.integers(0, classes, n)
        t = xp.asarray(np.eye(classes, dtype=np.float32)[labels])
        p, per, g = xp.empty((n, classes), np.float32), xp.empty((n,), np.float32), xp.empty((n, classes), np.float32)
        tz = ctx.t(z).clone().requires_grad_(True)
        tl = torch.as_tensor(labels, device=ctx.tdev)

        def ours():
            ops.softmax_forward(z, out=p)
            ops.loss_forward(p, t, "categorical_crossentropy", out=per)
            return ops.softmax_cross_entropy_backward(p, t, out=g)

        def theirs():
            loss = F.cross_entropy(tz, tl)
            return torch.autograd.grad(loss, tz)[0]

        def check():
            ours()
            hz, ht = ctx.asnumpy(z), ctx.asnumpy(t)
            hp = ops.softmax_forward(hz)
            return {"cpu": err(ctx.asnumpy(g), ops.softmax_cross_entropy_backward(hp, ht)),
                    "yardstick": err(ctx.asnumpy(g), theirs().cpu().numpy())}
        return {"ours": ours, "torch": theirs, "check": check}

    return Case("softmax", "softmax+CE fwd+bwd", layer, n, f"({n},{classes})", build, "torch",
                bytes=4 * n * classes * 3)


def _softmax_case(layer, rows, cols):
    def build(ctx):
        xp, ops, torch = ctx.xp, ctx.ops, ctx.torch
        x = table_call(ctx, "softmax_forward", rows=rows, cols=cols)["x"]
        y = xp.empty((rows, cols), np.float32)
        tx = ctx.t(x)

        def ours():
            return ops.softmax_forward(x, out=y)

        def theirs():
            return torch.softmax(tx, 1)

        def check():
            ours()
            return {"cpu": err(ctx.asnumpy(y), ops.softmax_forward(ctx.asnumpy(x))),
                    "yardstick": err(ctx.asnumpy(y), theirs().cpu().numpy())}
        return {"ours": ours, "torch": theirs, "check": check}

    return Case("softmax", "softmax_forward", layer, rows, f"({rows},{cols})", build, "torch",
                bytes=8.0 * rows * cols)


def _bn_case(op, layer, n, h, w, c):
    def build(ctx):
        xp, ops, torch, F = ctx.xp, ctx.ops, ctx.torch, ctx.F
        kw = table_call(ctx, "batchnorm_forward_train", n=n, h=h, w=w, c=c)
        x, gamma, beta, mm, mv = (kw[k] for k in ("x", "gamma", "beta", "moving_mean", "moving_var"))
        dy = ctx.rand(n, h, w, c)
        y, dx = xp.empty((n, h, w, c), np.float32), xp.empty((n, h, w, c), np.float32)
        _, sm, si = ops.batchnorm_forward_train(x, gamma, beta, mm, mv, out=y)
        tx, tdy, tg, tb = ctx.t_nchw(x), ctx.t_nchw(dy), ctx.t(gamma), ctx.t(beta)
        rm, rv = torch.zeros(c, device=ctx.tdev), torch.ones(c, device=ctx.tdev)
        _, tsm, tsi = torch.ops.aten.native_batch_norm(tx, tg, tb, rm, rv, True, 0.01, 1e-3)
        hx, hdy, hg, hb = (ctx.asnumpy(a) for a in (x, dy, gamma, beta))
        if op == "batchnorm_forward_train":
            def ours():
                return ops.batchnorm_forward_train(x, gamma, beta, mm, mv, out=y)

            def theirs():
                return F.batch_norm(tx, rm, rv, tg, tb, training=True, momentum=0.01, eps=1e-3)

            def check():
                ours()
                cpu = ops.batchnorm_forward_train(hx, hg, hb, np.zeros(c, np.float32), np.ones(c, np.float32))[0]
                return {"cpu": err(ctx.asnumpy(y), cpu),
                        "yardstick": err(ctx.asnumpy(y), theirs().permute(0, 2, 3, 1).cpu().numpy())}
        else:
            def ours():
                return ops.batchnorm_backward(x, dy, gamma, sm, si, out=dx)

            def theirs():
                return torch.ops.aten.native_batch_norm_backward(tdy, tx, tg, rm, rv, tsm, tsi, True, 1e-3,
                                                                 [True, True, True])

            def check():
                ours()
                _, csm, csi = ops.batchnorm_forward_train(hx, hg, hb, np.zeros(c, np.float32), np.ones(c, np.float32))
                cpu = ops.batchnorm_backward(hx, hdy, hg, csm, csi)[0]
                return {"cpu": err(ctx.asnumpy(dx), cpu),
                        "yardstick": err(ctx.asnumpy(dx), theirs()[0].permute(0, 2, 3, 1).cpu().numpy())}
        return {"ours": ours, "torch": theirs, "check": check}

    numel = n * h * w * c
    return Case("batchnorm", op, layer, n, f"x({n},{h},{w},{c})", build, "torch",
                bytes=4.0 * numel * (2 if op == "batchnorm_forward_train" else 3))


def _dropout_case(op, layer, n, shape, rate):
    full = (n,) + tuple(shape)
    numel = int(np.prod(full))

    def build(ctx):
        xp, ops, torch = ctx.xp, ctx.ops, ctx.torch
        x = table_call(ctx, "dropout_forward", shape=full, rate=rate, seed=42)["x"]
        y = xp.empty(full, np.float32)
        tx = ctx.t(x)
        _, mask = torch.ops.aten.native_dropout(tx, rate, True)
        state = {"offset": 1}  # odd offsets, advancing like the layer's

        if op == "dropout_forward":
            def ours():
                state["offset"] += numel
                return ops.dropout_forward(x, rate, 42, state["offset"], out=y)

            def theirs():
                return torch.ops.aten.native_dropout(tx, rate, True)
        else:
            def ours():
                return ops.dropout_backward(x, rate, 42, 7, out=y)

            def theirs():
                return torch.ops.aten.native_dropout_backward(tx, mask, 1.0 / (1.0 - rate))

        def check():
            if op == "dropout_forward":
                ops.dropout_forward(x, rate, 42, 7, out=y)
                cpu = ops.dropout_forward(ctx.asnumpy(x), rate, 42, 7)
            else:
                ours()
                cpu = ops.dropout_backward(ctx.asnumpy(x), rate, 42, 7)
            return {"cpu": bitwise(ctx.asnumpy(y), cpu)}
        return {"ours": ours, "torch": theirs, "check": check}

    return Case("dropout", op, layer, n, f"{full} rate {rate}", build, "torch", bytes=8.0 * numel)


def _adam_case(layer, shapes):
    numel = sum(int(np.prod(s)) for s in shapes)

    def build(ctx):
        xp, ops, torch = ctx.xp, ctx.ops, ctx.torch
        calls = table_call(ctx, "optimizer_update", shapes=shapes)  # one call per weight
        params, grads = [c["param"] for c in calls], [c["grad"] for c in calls]
        slots = [(c["slot1"], c["slot2"]) for c in calls]
        host_before = [ctx.asnumpy(a).copy() for a in params]

        def ours():
            for p, g, (m, v) in zip(params, grads, slots):
                ops.optimizer_update("adam", p, g, m, v, lr=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-7, c1=3.16e-5)

        tparams = [torch.nn.Parameter(ctx.t(a).clone()) for a in params]
        for tp, g in zip(tparams, grads):
            tp.grad = ctx.t(g).clone()
        try:
            opt = torch.optim.Adam(tparams, lr=1e-3, eps=1e-7, fused=True)
        except (RuntimeError, TypeError):
            opt = torch.optim.Adam(tparams, lr=1e-3, eps=1e-7, foreach=True)

        def theirs():
            opt.step()

        def check():
            p0 = ctx.xp.asarray(host_before[0].copy())
            m0, v0 = xp.zeros_like(p0), xp.zeros_like(p0)
            ops.optimizer_update("adam", p0, grads[0], m0, v0, lr=1e-3, c1=3.16e-5)
            cpu, cm, cv = host_before[0].copy(), np.zeros_like(host_before[0]), np.zeros_like(host_before[0])
            ops.optimizer_update("adam", cpu, ctx.asnumpy(grads[0]), cm, cv, lr=1e-3, c1=3.16e-5)
            return {"cpu": err(ctx.asnumpy(p0), cpu)}
        return {"ours": ours, "torch": theirs, "check": check}

    return Case("optimizer", "adam step (all weights)", layer, 0, f"{len(shapes)} arrays, {numel} floats",
                build, "torch", bytes=28.0 * numel)


def plan(batches: List[int], quick: bool) -> List[Case]:
    cases: List[Case] = []
    big = 1024 if quick else 4096
    cases.append(_sgemm_case("sgemm", f"sgemm {big}^3", big, big, big))
    cases.append(_sgemm_case("sgemm", f"sgemm {big}^3 TN", big, big, big, ta=True))
    conv_layers = CONV_LAYERS[:2] if quick else CONV_LAYERS
    for op in ("conv2d_forward", "conv2d_backward_data", "conv2d_backward_filter"):
        for n in batches:
            for layer, h, w, c, kern, f, act in conv_layers:
                cases.append(_conv_case(op, layer, n, h, w, c, kern, f, act if op == "conv2d_forward" else "linear"))
    for n in batches:
        for layer, fi, fo, act in (DENSE_LAYERS[:2] if quick else DENSE_LAYERS):
            cases.append(_sgemm_case("dense_forward", layer, n, fo, fi, bias_act=act))
            cases.append(_sgemm_case("dense dx = dy w^T", layer, n, fi, fo, tb=True))
            cases.append(_sgemm_case("dense dw = x^T dy", layer, fi, fo, n, ta=True))
    for n in batches:
        for layer, h, w, c in (POOL_LAYERS[:2] if quick else POOL_LAYERS):
            cases.append(_pool_case("maxpool2d_forward", layer, n, h, w, c))
            cases.append(_pool_case("maxpool2d_backward", layer, n, h, w, c))
        for layer, shape in ACT_LAYERS[:1 if quick else None]:
            cases.append(_act_case("activation_forward", layer, n, shape, "relu"))
            cases.append(_act_case("activation_backward", layer, n, shape, "relu"))
        cases.append(_act_case("activation_forward", ACT_LAYERS[1][0], n, ACT_LAYERS[1][1], "sigmoid"))
        cases.append(_softmax_ce_case("output (10 classes)", n, 10))
        for layer, h, w, c in (BN_LAYERS[:1] if quick else BN_LAYERS):
            cases.append(_bn_case("batchnorm_forward_train", layer, n, h, w, c))
            cases.append(_bn_case("batchnorm_backward", layer, n, h, w, c))
        for layer, shape, rate in (DROPOUT_LAYERS[:2] if quick else DROPOUT_LAYERS):
            cases.append(_dropout_case("dropout_forward", layer, n, shape, rate))
            cases.append(_dropout_case("dropout_backward", layer, n, shape, rate))
    cases.append(_softmax_case("wide softmax (kernel1)", 8192, 1000))
    cases.append(_softmax_case("wide softmax (kernel2, cols > 1024)", 2048, 4097))
    for net, shapes in PARAM_SHAPES.items():
        cases.append(_adam_case(net, shapes))
    cases.append(_adam_case("one 16M-float array", [(4096, 4096)]))
    return cases


# ------------------------------------------------------------------ machine

def _run(*cmd):
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
        return out.stdout.strip() if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def machine(ctx) -> dict:
    info = {"date_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "host": platform.node(), "python": platform.python_version(),
            "commit": _run("git", "-C", REPO, "rev-parse", "HEAD") or os.environ.get("CUDNN_LITE_COMMIT"),
            "tf32": {"NVIDIA_TF32_OVERRIDE": os.environ.get("NVIDIA_TF32_OVERRIDE"),
                     "cudnn.allow_tf32": ctx.torch.backends.cudnn.allow_tf32,
                     "cuda.matmul.allow_tf32": ctx.torch.backends.cuda.matmul.allow_tf32},
            "torch": ctx.torch.__version__, "torch_cuda": ctx.torch.version.cuda,
            "cudnn": ctx.torch.backends.cudnn.version() if not ctx.emulate else None,
            "emulated_on_cpu": ctx.emulate}
    import cudnn_lite
    info["cudnn_lite_build"] = {k: str(v) for k, v in cudnn_lite.build_info().items()}
    if not ctx.emulate:
        cp = ctx.xp
        props = cp.cuda.runtime.getDeviceProperties(0)
        name = props["name"]
        info.update({"gpu": name.decode() if isinstance(name, bytes) else str(name),
                     "sm": f"{props['major']}{props['minor']}", "sms": props["multiProcessorCount"],
                     "gpu_memory_gib": round(props["totalGlobalMem"] / 2**30, 1),
                     "cuda_driver_api": cp.cuda.runtime.driverGetVersion(),
                     "cuda_runtime": cp.cuda.runtime.runtimeGetVersion(), "cupy": cp.__version__})
        info["nvidia_smi"] = _run("nvidia-smi", "--query-gpu=name,driver_version,clocks.max.sm,clocks.max.mem,"
                                  "power.limit", "--format=csv,noheader")
    else:
        info["gpu"] = "none (emulated on the CPU)"
    return info


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


# ------------------------------------------------------------------ run ops

def run_ops(args, ctx, cases, out_dir):
    t_start = time.perf_counter()
    record = {"machine": machine(ctx), "method": __doc__.split("Method.")[1].split("Outputs:")[0].strip(),
              "bandwidth": None, "results": [], "skipped": []}
    record["bandwidth"] = ctx.bandwidth = measure_bandwidth(ctx)
    print(f"device bandwidth: {ctx.bandwidth['bytes_per_s'] / 1e9:.0f} GB/s", flush=True)
    for i, case in enumerate(cases):
        if time.perf_counter() - t_start > args.time_budget:
            record["skipped"].append(case.name)
            continue
        row = {"group": case.group, "op": case.op, "layer": case.layer, "batch": case.batch, "shape": case.shape,
               "yardstick": case.yardstick}
        impls = None
        try:
            impls = case.build(ctx)
            row["error"] = impls["check"]()
            row["ours"] = ctx.time(impls["ours"], "cupy")
            yard = impls.get(case.yardstick)
            row["yardstick_time"] = ctx.time(yard, case.yardstick) if yard else None
            if case.yardstick == "cupy" and "torch" in impls:
                row["torch_time"] = ctx.time(impls["torch"], "torch")
            t_ours = row["ours"]["median_s"]
            if row["yardstick_time"]:
                row["ratio"] = t_ours / row["yardstick_time"]["median_s"]
            if case.flops:
                row["ours_tflops"] = case.flops / t_ours / 1e12
            if case.bytes:
                row["ours_bw_pct"] = 100.0 * case.bytes / t_ours / ctx.bandwidth["bytes_per_s"]
                if row["yardstick_time"]:
                    row["yard_bw_pct"] = 100.0 * case.bytes / row["yardstick_time"]["median_s"] / \
                        ctx.bandwidth["bytes_per_s"]
        except Exception as exc:  # one broken case must not lose the others
            row["failed"] = f"{type(exc).__name__}: {exc}"
        del impls
        record["results"].append(row)
        print(_line(row), flush=True)
        if i % 10 == 9 or i == len(cases) - 1:
            _write(out_dir, "bench_cuda", record, ops_markdown(record))
        if not ctx.emulate:
            ctx.xp.get_default_memory_pool().free_all_blocks()
            ctx.torch.cuda.empty_cache()
    record["targets"] = targets(record)
    record["elapsed_s"] = time.perf_counter() - t_start
    _write(out_dir, "bench_cuda", record, ops_markdown(record))
    return record


def _fmt_us(s):
    return "-" if s is None else f"{s * 1e6:.1f}"


def _line(row):
    if "failed" in row:
        return f"FAILED {row['op']} {row['layer']} b{row['batch']}: {row['failed']}"
    e = row.get("error", {}).get("cpu", {})
    yt = row.get("yardstick_time")
    return (f"{row['op']:<28} {row['layer']:<28} b{row['batch']:<4} ours {_fmt_us(row['ours']['median_s'])} us  "
            f"{row['yardstick']} {_fmt_us(yt['median_s'] if yt else None)} us  ratio {row.get('ratio', float('nan')):.2f}"
            f"  err vs CPU {e.get('rel', float('nan')):.2g}"
            + (f"  bw {row['ours_bw_pct']:.0f}%" if "ours_bw_pct" in row else ""))


def _geomean(xs):
    xs = [x for x in xs if x and x > 0 and math.isfinite(x)]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else None


def _bad_error(row):
    """True when the GPU result disagrees with the CPU path beyond float32 reduction noise (or bitwise)."""
    e = row.get("error", {}).get("cpu", {})
    if "bit_identical" in e:
        return not e["bit_identical"]
    return not (e.get("rel", float("inf")) <= 1e-3)


def targets(record) -> dict:
    rows = [r for r in record["results"] if "failed" not in r]
    out = {}

    def ratios(group):
        return [r["ratio"] for r in rows if r["group"] == group and "ratio" in r]
    sg = [r for r in rows if r["group"] == "sgemm" and r["shape"].endswith("NN") and "ratio" in r]
    if sg:
        pct = 100.0 / sg[0]["ratio"]
        out["sgemm_4096_pct_of_cublas"] = {"value": pct, "target": ">= 90", "met": pct >= 90}
    d = ratios("dense")
    if d:
        out["dense_worst_ratio_vs_cublas"] = {"value": max(d), "target": "<= 1.25", "met": max(d) <= 1.25}
    fw = ratios("conv_fwd")
    if fw:
        g = _geomean(fw)
        out["conv_fwd_geomean_vs_cudnn"] = {"value": g, "target": "<= 1.0", "met": g <= 1.0}
        out["conv_fwd_worst_vs_cudnn"] = {"value": max(fw), "target": "<= 1.5", "met": max(fw) <= 1.5}
    for grp in ("conv_bwd_data", "conv_bwd_filter"):
        r = ratios(grp)
        if r:
            g = _geomean(r)
            out[f"{grp}_geomean_vs_cudnn"] = {"value": g, "target": "<= 1.25", "met": g <= 1.25}
    mem = [r for r in rows if r["group"] in MEMORY_GROUPS and "ours_bw_pct" in r]
    if mem:
        below = [f"{r['op']} {r['layer']} b{r['batch']} ({r['ours_bw_pct']:.0f}%)" for r in mem if r["ours_bw_pct"] < 70]
        out["memory_bound_min_pct_of_bandwidth"] = {"value": min(r["ours_bw_pct"] for r in mem), "target": ">= 70",
                                                    "met": not below, "below": below}
    bad = [f"{r['op']} {r['layer']} b{r['batch']}" for r in rows if _bad_error(r)]
    out["validation_vs_cpu"] = {"value": len(bad), "target": "0 mismatches", "met": not bad, "bad": bad}
    failed = [f"{r['op']} {r['layer']} b{r['batch']}: {r['failed']}" for r in record["results"] if "failed" in r]
    out["cases_failed"] = {"value": len(failed), "target": "0", "met": not failed, "failed": failed}
    return out


def _header(m):
    return (f"- card: {m.get('gpu')} (sm_{m.get('sm')}, {m.get('sms')} SMs, {m.get('gpu_memory_gib')} GiB); "
            f"nvidia-smi: {m.get('nvidia_smi')}\n"
            f"- CUDA driver API {m.get('cuda_driver_api')}, runtime {m.get('cuda_runtime')}, CuPy {m.get('cupy')}, "
            f"PyTorch {m.get('torch')} (CUDA {m.get('torch_cuda')}, cuDNN {m.get('cudnn')})\n"
            f"- commit {m.get('commit')}, {m.get('date_utc')}, TF32 {m.get('tf32')}\n")


def ops_markdown(record) -> str:
    m = record["machine"]
    bw = record.get("bandwidth") or {}
    lines = ["# cudnn_lite CUDA ops vs cuDNN (PyTorch) / cuBLAS (CuPy)", "", _header(m),
             f"- measured device bandwidth: {bw.get('bytes_per_s', 0) / 1e9:.0f} GB/s "
             f"(memcpy {bw.get('memcpy_GBps', 0):.0f}, copy kernel {bw.get('copy_kernel_GBps', 0):.0f})", "",
             "Times: median of one-call CUDA-event timings, L2 flushed; ratio = ours / yardstick (< 1: ours faster);"
             " err = max |GPU - CPU path| / max |CPU| (bit = bit-identical).", ""]
    if record.get("targets"):
        lines += ["## Targets", "", "| target | value | goal | met |", "|---|---|---|---|"]
        for k, t in record["targets"].items():
            v = t["value"]
            lines.append(f"| {k} | {v:.3g} | {t['target']} | {'yes' if t['met'] else '**NO**'} |"
                         if isinstance(v, float) else f"| {k} | {v} | {t['target']} | {'yes' if t['met'] else '**NO**'} |")
            for extra in ("below", "bad", "failed"):
                if t.get(extra):
                    lines.append(f"|  {extra}: {'; '.join(t[extra][:20])} | | | |")
        lines.append("")
    lines += ["## All cases", "",
              "| group | op | layer | batch | shape | ours us | yardstick us | ratio | TFLOP/s | ours %BW | yard %BW "
              "| err vs CPU | err vs yardstick |", "|" + "---|" * 13]
    for r in record["results"]:
        if "failed" in r:
            lines.append(f"| {r['group']} | {r['op']} | {r['layer']} | {r['batch']} | {r['shape']} | FAILED: "
                         f"{r['failed'][:120]} | | | | | | | |")
            continue
        e = r.get("error", {})
        ec = e.get("cpu", {})
        ecs = "bit" if ec.get("bit_identical") else f"{ec.get('rel', float('nan')):.1e}"
        if "bit_identical" in ec and not ec["bit_identical"]:
            ecs = f"**NOT bit-identical** ({ec.get('max_abs', 0):.1e})"
        elif _bad_error(r):
            ecs = f"**{ecs}**"
        ey = e.get("yardstick", {})
        yt = r.get("yardstick_time")
        lines.append(f"| {r['group']} | {r['op']} | {r['layer']} | {r['batch']} | {r['shape']} | "
                     f"{_fmt_us(r['ours']['median_s'])} | {_fmt_us(yt['median_s'] if yt else None)} | "
                     f"{r.get('ratio', float('nan')):.2f} | {r.get('ours_tflops', float('nan')):.2f} | "
                     f"{r.get('ours_bw_pct', float('nan')):.0f} | {r.get('yard_bw_pct', float('nan')):.0f} | {ecs} | "
                     f"{ey.get('rel', float('nan')):.1e} |")
    if record.get("skipped"):
        lines += ["", f"Skipped (time budget): {len(record['skipped'])} cases: " + "; ".join(record["skipped"])]
    return "\n".join(lines) + "\n"


def _write(out_dir, stem, record, markdown):
    os.makedirs(out_dir, exist_ok=True)
    for ext, text in (("json", json.dumps(record, indent=1, default=str)), ("md", markdown)):
        path = os.path.join(out_dir, f"{stem}.{ext}")
        with open(path + ".tmp", "w") as f:
            f.write(text)
        os.replace(path + ".tmp", path)


# ------------------------------------------------------------------ training

def _load_data(name, n_synthetic, ctx):
    data_dir = os.environ.get("CUDNN_LITE_DATA")
    if data_dir:
        try:
            from cudnn_lite import zoo
            (x, y), _, _ = zoo.load_dataset(name, data_dir)
            return np.ascontiguousarray(x, np.float32), np.ascontiguousarray(y, np.float32), f"real ({data_dir})"
        except Exception as exc:  # missing or unreadable: fall back to synthetic data
            print(f"{name}: no real data ({type(exc).__name__}: {exc}); using synthetic data", flush=True)
    shape = (28, 28, 1) if name.startswith("mnist") else (32, 32, 3)
    x = ctx.rng.random((n_synthetic,) + shape, dtype=np.float32)
    y = np.eye(10, dtype=np.float32)[ctx.rng.integers(0, 10, n_synthetic)]
    return x, y, "synthetic (random images, random labels: timing only)"


def train_epoch(ctx, name, batch, n_synthetic):
    """One epoch of zoo model `name`: cudnn_lite (layer API, device 'cuda') vs PyTorch eager + cuDNN."""
    import torch_models
    from cudnn_lite import backend, zoo
    torch, xp = ctx.torch, ctx.xp
    x, y, source = _load_data(name, n_synthetic, ctx)
    n = x.shape[0]
    x_dev, y_dev = xp.asarray(x), xp.asarray(y)  # the data set lives on the GPU for both
    steps = -(-n // batch)
    warm = batch * 8 + (n % batch or batch)       # covers the full and the last partial batch size
    res = {"model": name, "batch": batch, "samples": n, "steps": steps, "data": source}

    previous = backend._device
    backend.set_device("cpu" if ctx.emulate else "cuda")
    try:
        model = zoo.build(name, seed=0)
        model.fit(x_dev[:warm], y_dev[:warm], batch_size=batch, epochs=1, verbose=0)
        ctx.sync()
        t0 = time.perf_counter()
        hist = model.fit(x_dev, y_dev, batch_size=batch, epochs=1, verbose=0)
        ctx.sync()
        res["ours_epoch_s"] = time.perf_counter() - t0
        res["ours_loss"] = float(hist.history["loss"][-1])
        on_gpu = all(not isinstance(w.value, np.ndarray) for w in model.weights)
        res["ours_weights_on_device"] = bool(on_gpu) if not ctx.emulate else None
    finally:
        backend._device = previous

    with torch.device(ctx.tdev):
        net = torch_models.build(name, torch, channels_last=True, seed=0)
    tx = ctx.t(x_dev)                                         # NHWC
    labels = torch.as_tensor(np.argmax(y, axis=1), device=ctx.tdev)

    def torch_epoch(count):
        perm = torch.randperm(n, device=ctx.tdev)
        total = torch.zeros((), device=ctx.tdev)
        for i in range(0, count, batch):
            idx = perm[i:min(i + batch, count)]
            xb = tx.index_select(0, idx)
            xb = xb.permute(0, 3, 1, 2) if xb.dim() == 4 else xb
            loss = torch_models.train_step(torch, net, xb, labels.index_select(0, idx))
            total += loss.detach() * idx.numel()
        return float(total) / count  # one read-back per epoch, as cudnn_lite

    torch_epoch(batch * 8)
    torch_epoch(n % batch or batch)
    ctx.sync()
    t0 = time.perf_counter()
    res["torch_loss"] = torch_epoch(n)
    ctx.sync()
    res["torch_epoch_s"] = time.perf_counter() - t0
    res["torch_optimizer"] = net.optimizer_text
    res["ratio"] = res["ours_epoch_s"] / res["torch_epoch_s"]
    return res


def run_training(args, ctx, out_dir):
    t_start = time.perf_counter()
    sys.path.insert(0, HERE)
    record = {"machine": machine(ctx), "results": [], "failed": []}
    for name, batch in (("mnist_cnn", 128), ("cifar10_improved", 128)):
        if time.perf_counter() - t_start > args.time_budget:
            record["failed"].append(f"{name}: skipped (time budget)")
            continue
        try:
            r = train_epoch(ctx, name, batch, 2048 if args.quick else (60000 if name.startswith("mnist") else 45000))
            record["results"].append(r)
            print(f"{name} b{batch}: ours {r['ours_epoch_s']:.2f} s/epoch (loss {r['ours_loss']:.4f}), PyTorch "
                  f"{r['torch_epoch_s']:.2f} s/epoch (loss {r['torch_loss']:.4f}), ratio {r['ratio']:.2f}", flush=True)
        except Exception as exc:
            record["failed"].append(f"{name}: {type(exc).__name__}: {exc}")
            print(f"FAILED {name}: {type(exc).__name__}: {exc}", flush=True)
        _write(out_dir, "bench_train", record, train_markdown(record))
    return record


def train_markdown(record):
    lines = ["# One training epoch: cudnn_lite (layer API on the GPU) vs PyTorch eager + cuDNN", "",
             _header(record["machine"]),
             "Same batch, data set resident on the GPU for both, shuffled each epoch, losses read back once per "
             "epoch; warm-up epochs on a subset first (CuPy kernel compilation, cuDNN autotuning).", "",
             "| model | batch | samples | data | ours s/epoch | PyTorch s/epoch | ratio | ours loss | PyTorch loss "
             "| weights on GPU |", "|" + "---|" * 10]
    for r in record["results"]:
        lines.append(f"| {r['model']} | {r['batch']} | {r['samples']} | {r['data']} | {r['ours_epoch_s']:.2f} | "
                     f"{r['torch_epoch_s']:.2f} | {r['ratio']:.2f} | {r['ours_loss']:.4f} | {r['torch_loss']:.4f} | "
                     f"{r['ours_weights_on_device']} |")
    for f in record["failed"]:
        lines.append(f"\nFAILED / skipped: {f}")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------ main

def dry_run(args, cases):
    mods = {m: importlib.util.find_spec(m) is not None for m in ("cupy", "torch", "cudnn_lite")}
    print("imports available (not imported):", mods)
    groups: Dict[str, int] = {}
    for c in cases:
        groups[c.group] = groups.get(c.group, 0) + 1
    print(f"cases: {len(cases)}", groups)
    for c in cases:
        print(f"  {c.group:<16} {c.name:<60} {c.shape}")
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "bench_cuda_plan.json"), "w") as f:
            json.dump({"imports": mods, "cases": [dict(group=c.group, op=c.op, layer=c.layer, batch=c.batch,
                                                       shape=c.shape, yardstick=c.yardstick) for c in cases]},
                      f, indent=1)
    return 0


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default=os.path.join(REPO, "benchmarks", "results", "device"))
    p.add_argument("--dry-run", action="store_true", help="list the cases and check imports; no GPU needed")
    p.add_argument("--emulate-cpu", action="store_true", help="NumPy/CPU torch stand-ins (script logic check)")
    p.add_argument("--quick", action="store_true", help="a few cases per group, small sgemm")
    p.add_argument("--only", default=None, help="run cases whose name contains this substring")
    p.add_argument("--batches", default="32,128")
    p.add_argument("--time-budget", type=float, default=150.0, help="seconds; later cases are skipped")
    p.add_argument("--no-flush", action="store_true", help="do not flush L2 between repeats")
    p.add_argument("--train-only", action="store_true", help="only the training-epoch comparison")
    args = p.parse_args(argv)
    batches = [int(b) for b in args.batches.split(",") if b]
    cases = plan(batches, args.quick)
    if args.only:
        cases = [c for c in cases if args.only in c.name or args.only in c.group]
    if args.dry_run:
        return dry_run(args, cases)
    ctx = Ctx(emulate=args.emulate_cpu, flush=not args.no_flush)
    if args.train_only:
        record = run_training(args, ctx, args.out)
        return 1 if record["failed"] else 0
    record = run_ops(args, ctx, cases, args.out)
    print("\n".join(f"TARGET {k}: {v['value']} (goal {v['target']}) {'met' if v['met'] else 'NOT MET'}"
                    for k, v in record["targets"].items()))
    # correctness problems fail the run; missed speed targets do not (they are measurements)
    t = record["targets"]
    return 0 if t["validation_vs_cpu"]["met"] and t["cases_failed"]["met"] else 1


if __name__ == "__main__":
    sys.exit(main())
