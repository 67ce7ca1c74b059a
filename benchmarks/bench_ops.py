"""Per-op, per-layer-shape timings: cudnn_lite CPU vs PyTorch CPU vs the NumPy reference.

    python benchmarks/bench_ops.py                    # full run (several minutes on 2 cores)
    python benchmarks/bench_ops.py --only conv2d      # one group (substring of the case name)
    python benchmarks/bench_ops.py --quick            # smoke run, seconds
    python benchmarks/bench_ops.py --no-reference     # skip the (slow) NumPy reference

Ops and shapes are those of the textbook's networks at batch 32 and 128:
conv2d forward / backward-data / backward-filter for every conv layer (Keras
'same' padding; 2x2 kernels pad right/bottom), max-pool 2x2 forward/backward,
dense forward (bias + activation) / backward (dx, dw, db), softmax +
cross-entropy (forward + fused gradient), batch-norm training forward /
backward, dropout forward / backward, and one Adam step over all the
weights of a network.

PyTorch runs torch.nn.functional / the aten kernels autograd itself calls
(convolution_backward with only the wanted output, native_batch_norm_backward,
max_pool2d_with_indices_backward, native_dropout_backward), in NCHW shape; for
4-D ops it is timed in BOTH memory formats, channels_last ("cl") and
contiguous NCHW ("nchw"), and the ratio uses the faster one (the table says
which). The Adam step is timed with torch.optim.Adam(fused=True) and
(foreach=True), the faster counts. Ratio = cudnn_lite time / PyTorch time:
below 1 means cudnn_lite is faster.

Each case's call of cudnn_lite.ops (and of the reference) is built by the op table,
tests/opinfo/ (OpInfo.bench: the op's arguments at the layer's sizes); this file adds the
layer shapes, the PyTorch counterparts and the timing.

The NumPy reference (cudnn_lite.reference) is slow: it runs once per case (no
warm-up, not interleaved), only at batch 32 (all batches in --quick); its
column is marked "1 run".
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from typing import Callable, Dict, List, Optional

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

import harness  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests"))
import opinfo  # noqa: E402  (the op table, tests/opinfo/: each case's call of cudnn_lite.ops comes from it)

from layer_shapes import (BN_LAYERS, CONV_LAYERS, DENSE_LAYERS, DROPOUT_LAYERS,  # noqa: E402
                          PARAM_SHAPES, POOL_LAYERS)


@dataclasses.dataclass
class Case:
    """One measured op at one shape. build() makes the data and returns the callables."""
    group: str
    op: str
    layer: str
    batch: int
    shape: str
    build: Callable[[], dict]
    flops: Optional[float] = None

    @property
    def name(self) -> str:
        return f"{self.op} | {self.layer} | b{self.batch}"


# --------------------------------------------------------------- helpers

def _rand(rng, shape, scale=1.0):
    return (rng.standard_normal(shape, dtype=np.float32) * np.float32(scale))


def _same_pads(size, k):
    total = max(k - 1, 0)  # stride 1: ceil(size/1) - 1 + k - size
    return total // 2, total - total // 2


def _torch_4d(torch, a_nhwc, layout):
    """NHWC numpy -> NCHW-shaped torch tensor in the given memory format."""
    t = torch.from_numpy(np.ascontiguousarray(a_nhwc)).permute(0, 3, 1, 2)  # channels_last view
    if layout == "nchw":
        return t.contiguous()
    return t.contiguous(memory_format=torch.channels_last)


def _torch_kernel(torch, w_hwio, layout):
    t = torch.from_numpy(np.ascontiguousarray(w_hwio)).permute(3, 2, 0, 1)  # (k, c, kh, kw)
    return t.contiguous() if layout == "nchw" else t.contiguous(memory_format=torch.channels_last)


def _rel_err(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b)) / (np.max(np.abs(b)) + 1e-30))


# ------------------------------------------------------------ case makers

def conv_cases(ctx, batches, quick):
    layers = [CONV_LAYERS[i] for i in (0, 2, 6)] if quick else CONV_LAYERS
    out = []
    for layer, h, w, c, k, f, act in layers:
        for n in batches:
            flops = 2.0 * n * h * w * f * k * k * c
            shape = f"{h}x{w}x{c} -> {k}x{k}x{f} same"
            for op in ("conv2d fwd", "conv2d bwd-data", "conv2d bwd-filter"):
                out.append(Case("conv2d", op, layer, n, shape,
                                _conv_builder(ctx, op, n, h, w, c, k, f, act), flops))
    return out


def _conv_builder(ctx, op, n, h, w, c, k, f, act):
    def build():
        ops, ref, torch = ctx["ops"], ctx["ref"], ctx["torch"]
        rng = np.random.default_rng(1)
        name = {"conv2d fwd": "conv2d_forward", "conv2d bwd-data": "conv2d_backward_data",
                "conv2d bwd-filter": "conv2d_backward_filter"}[op]
        kw = opinfo.bench_args(name, rng, n=n, h=h, w=w, c=c, k=k, f=f,
                               **({"activation": act} if name == "conv2d_forward" else {}))
        # the arrays the call does not take, for PyTorch's call
        x = kw["x"] if "x" in kw else _rand(rng, kw["x_shape"])
        wt = kw["w"] if "w" in kw else _rand(rng, kw["w_shape"], 1.0 / np.sqrt(k * k * c))
        b = kw["b"] if "b" in kw else _rand(rng, (f,), 0.1)
        dy = kw["dy"] if "dy" in kw else _rand(rng, (n, h, w, f))
        y = np.empty((n, h, w, f), np.float32)
        dx = np.empty_like(x)
        dw = np.empty_like(wt)
        result = {"conv2d_forward": y, "conv2d_backward_data": dx, "conv2d_backward_filter": dw}[name]
        ours = lambda: getattr(ops, name)(**kw, out=result)  # noqa: E731
        reference = lambda: getattr(ref, name)(**kw)  # noqa: E731
        variants, check = {}, None
        if torch is not None:
            F = torch.nn.functional
            top, bottom = _same_pads(h, k)
            pad = None if top == bottom else (0, bottom - top, 0, bottom - top)  # extra right/bottom
            sym = top if top == bottom else 0
            for layout in ctx["layouts"]:
                tx = _torch_4d(torch, x, layout)
                tw = _torch_kernel(torch, wt, layout)
                tb = torch.from_numpy(b)
                tdy = _torch_4d(torch, dy, layout)
                tx_pad = F.pad(tx, pad) if pad else tx   # autograd saves the padded input
                if op == "conv2d fwd":
                    def fn(tx=tx, tw=tw, tb=tb):
                        xi = F.pad(tx, pad) if pad else tx
                        yo = F.conv2d(xi, tw, tb, padding=sym)
                        return F.relu(yo, inplace=True) if act == "relu" else yo
                    if check is None:
                        check = (fn, lambda r: r.permute(0, 2, 3, 1).numpy(), y, ours)
                elif op == "conv2d bwd-data":
                    def fn(tx_pad=tx_pad, tw=tw, tdy=tdy):
                        g = torch.ops.aten.convolution_backward(
                            tdy, tx_pad, tw, None, [1, 1], [sym, sym], [1, 1], False, [0, 0], 1,
                            [True, False, False])[0]
                        return g[:, :, :h, :w] if pad else g  # crop the padding (a view)
                    if check is None:
                        check = (fn, lambda r: r.permute(0, 2, 3, 1).numpy(), dx, ours)
                else:
                    def fn(tx_pad=tx_pad, tw=tw, tdy=tdy):
                        return torch.ops.aten.convolution_backward(
                            tdy, tx_pad, tw, None, [1, 1], [sym, sym], [1, 1], False, [0, 0], 1,
                            [False, True, False])[1]
                    if check is None:
                        check = (fn, lambda r: r.permute(2, 3, 1, 0).numpy(), dw, ours)
                variants[f"torch[{layout}]"] = fn
        return {"ours": ours, "torch": variants, "reference": reference, "check": check}
    return build


def pool_cases(ctx, batches, quick):
    layers = POOL_LAYERS[:2] if quick else POOL_LAYERS
    out = []
    for layer, h, w, c in layers:
        for n in batches:
            for op in ("maxpool2x2 fwd", "maxpool2x2 bwd"):
                out.append(Case("maxpool", op, layer, n, f"{h}x{w}x{c}",
                                _pool_builder(ctx, op, n, h, w, c)))
    return out


def _pool_builder(ctx, op, n, h, w, c):
    def build():
        ops, ref, torch = ctx["ops"], ctx["ref"], ctx["torch"]
        rng = np.random.default_rng(2)
        name = "maxpool2d_forward" if op.endswith("fwd") else "maxpool2d_backward"
        kw = opinfo.bench_args(name, rng, n=n, h=h, w=w, c=c)  # 2x2 windows, stride 2
        x = kw["x"]
        y = np.empty((n, h // 2, w // 2, c), np.float32)
        dy = kw["dy"] if "dy" in kw else _rand(rng, y.shape)
        dx = np.empty_like(x)
        result = y if name == "maxpool2d_forward" else dx
        ours = lambda: getattr(ops, name)(**kw, out=result)  # noqa: E731
        reference = lambda: getattr(ref, name)(**kw)  # noqa: E731
        variants, check = {}, None
        if torch is not None:
            F = torch.nn.functional
            for layout in ctx["layouts"]:
                tx = _torch_4d(torch, x, layout)
                tdy = _torch_4d(torch, dy, layout)
                if op.endswith("fwd"):
                    def fn(tx=tx):
                        return F.max_pool2d(tx, 2)
                    if check is None:
                        check = (fn, lambda r: r.permute(0, 2, 3, 1).numpy(), y, ours)
                else:
                    _, idx = torch.ops.aten.max_pool2d_with_indices(tx, [2, 2], [2, 2])
                    def fn(tx=tx, tdy=tdy, idx=idx):  # indices come from the forward
                        return torch.ops.aten.max_pool2d_with_indices_backward(
                            tdy, tx, [2, 2], [2, 2], [0, 0], [1, 1], False, idx)
                variants[f"torch[{layout}]"] = fn
        return {"ours": ours, "torch": variants, "reference": reference, "check": check}
    return build


def dense_cases(ctx, batches, quick):
    layers = DENSE_LAYERS[:2] if quick else DENSE_LAYERS
    out = []
    for layer, fan_in, fan_out, act in layers:
        for n in batches:
            for op in ("dense fwd", "dense bwd"):
                flops = 2.0 * n * fan_in * fan_out * (1 if op == "dense fwd" else 2)
                out.append(Case("dense", op, layer, n, f"{fan_in}->{fan_out} {act}",
                                _dense_builder(ctx, op, n, fan_in, fan_out, act), flops))
    return out


def _dense_builder(ctx, op, n, fan_in, fan_out, act):
    def build():
        ops, ref, torch = ctx["ops"], ctx["ref"], ctx["torch"]
        rng = np.random.default_rng(3)
        if op == "dense fwd":
            kw = opinfo.bench_args("dense_forward", rng, n=n, fan_in=fan_in, fan_out=fan_out, activation=act)
        else:
            kw = opinfo.bench_args("dense_backward", rng, n=n, fan_in=fan_in, fan_out=fan_out)
        x, w = kw["x"], kw["w"]
        b = kw["b"] if "b" in kw else _rand(rng, (fan_out,), 0.1)
        dy = kw["dy"] if "dy" in kw else _rand(rng, (n, fan_out))
        y = np.empty((n, fan_out), np.float32)
        if op == "dense fwd":
            ours = lambda: ops.dense_forward(**kw, out=y)  # noqa: E731
            reference = lambda: ref.dense_forward(**kw)  # noqa: E731
        else:
            ours = lambda: ops.dense_backward(**kw)  # noqa: E731
            reference = lambda: ref.dense_backward(**kw)  # noqa: E731
        variants, check = {}, None
        if torch is not None:
            F = torch.nn.functional
            tx, tb, tdy = torch.from_numpy(x), torch.from_numpy(b), torch.from_numpy(dy)
            tw = torch.from_numpy(w).t().contiguous()  # nn.Linear's (out, in)
            if op == "dense fwd":
                def fn():
                    yo = F.linear(tx, tw, tb)
                    return F.relu(yo, inplace=True) if act == "relu" else yo
                check = (fn, lambda r: r.numpy(), y, ours)
            else:
                def fn():
                    return torch.mm(tdy, tw), torch.mm(tdy.t(), tx), tdy.sum(0)
            variants["torch"] = fn
        return {"ours": ours, "torch": variants, "reference": reference, "check": check}
    return build


def softmax_ce_cases(ctx, batches, quick):
    return [Case("softmax+ce", "softmax+CE fwd+bwd", "output (10 classes)", n, f"{n}x10",
                 _softmax_builder(ctx, n)) for n in batches]


def _softmax_builder(ctx, n, classes=10):
    def build():
        ops, ref, torch = ctx["ops"], ctx["ref"], ctx["torch"]
        rng = np.random.default_rng(4)
        logits = opinfo.bench_args("softmax_forward", rng, rows=n, cols=classes)["x"] * np.float32(3.0)
        labels = rng.integers(0, classes, n)
        t = np.eye(classes, dtype=np.float32)[labels]
        p = np.empty_like(logits)
        per_row = np.empty((n,), np.float32)
        d = np.empty_like(logits)

        def ours():
            ops.softmax_forward(logits, out=p)
            loss = ops.loss_forward(p, t, out=per_row).mean()
            ops.softmax_cross_entropy_backward(p, t, out=d)
            return loss

        def reference():
            pr = ref.softmax_forward(logits)
            return ref.loss_forward(pr, t).mean(), ref.softmax_cross_entropy_backward(pr, t)
        variants = {}
        if torch is not None:
            F = torch.nn.functional
            tl = torch.from_numpy(logits).requires_grad_(True)
            tlab = torch.from_numpy(labels)

            def fn():
                loss = F.cross_entropy(tl, tlab)
                return torch.autograd.grad(loss, tl)[0]
            variants["torch"] = fn
        return {"ours": ours, "torch": variants, "reference": reference, "check": None}
    return build


def batchnorm_cases(ctx, batches, quick):
    layers = BN_LAYERS[:1] if quick else BN_LAYERS
    out = []
    for layer, h, w, c in layers:
        for n in batches:
            for op in ("batchnorm train fwd", "batchnorm bwd"):
                out.append(Case("batchnorm", op, layer, n, f"{h}x{w}x{c}",
                                _bn_builder(ctx, op, n, h, w, c)))
    return out


def _bn_builder(ctx, op, n, h, w, c):
    def build():
        ops, ref, torch = ctx["ops"], ctx["ref"], ctx["torch"]
        rng = np.random.default_rng(5)
        train = opinfo.bench_args("batchnorm_forward_train", rng, n=n, h=h, w=w, c=c)
        back = opinfo.bench_args("batchnorm_backward", rng, n=n, h=h, w=w, c=c)
        x, gamma, beta, dy = train["x"], train["gamma"], train["beta"], back["dy"]
        y, dx = np.empty_like(x), np.empty_like(x)
        if op == "batchnorm train fwd":
            ours = lambda: ops.batchnorm_forward_train(**train, out=y)  # noqa: E731
            reference = lambda: ref.batchnorm_forward_train(**train)  # noqa: E731
        else:
            x, gamma = back["x"], back["gamma"]
            ours = lambda: ops.batchnorm_backward(**back, out=dx)  # noqa: E731
            reference = lambda: ref.batchnorm_backward(**back)  # noqa: E731
        variants = {}
        if torch is not None:
            tg, tbeta = torch.from_numpy(gamma), torch.from_numpy(beta)
            trm, trv = torch.zeros(c), torch.ones(c)
            for layout in ctx["layouts"]:
                tx, tdy = _torch_4d(torch, x, layout), _torch_4d(torch, dy, layout)
                if op == "batchnorm train fwd":
                    def fn(tx=tx):  # Keras momentum 0.99 = torch momentum 0.01; eps 1e-3
                        return torch.ops.aten.native_batch_norm(tx, tg, tbeta, trm, trv, True,
                                                                0.01, 1e-3)
                else:
                    _, sm, si = torch.ops.aten.native_batch_norm(tx, tg, tbeta, trm.clone(),
                                                                 trv.clone(), True, 0.01, 1e-3)
                    def fn(tx=tx, tdy=tdy, sm=sm, si=si):
                        return torch.ops.aten.native_batch_norm_backward(
                            tdy, tx, tg, trm, trv, sm, si, True, 1e-3, [True, True, True])
                variants[f"torch[{layout}]"] = fn
        return {"ours": ours, "torch": variants, "reference": reference, "check": None}
    return build


def dropout_cases(ctx, batches, quick):
    layers = DROPOUT_LAYERS[:1] + DROPOUT_LAYERS[4:5] if quick else DROPOUT_LAYERS
    out = []
    for layer, shape, rate in layers:
        for n in batches:
            for op in ("dropout fwd", "dropout bwd"):
                out.append(Case("dropout", op, layer, n,
                                "x".join(map(str, shape)) + f" rate {rate}",
                                _dropout_builder(ctx, op, (n,) + shape, rate)))
    return out


def _dropout_builder(ctx, op, shape, rate):
    def build():
        ops, ref, torch = ctx["ops"], ctx["ref"], ctx["torch"]
        rng = np.random.default_rng(6)
        kw = opinfo.bench_args("dropout_forward", rng, shape=shape, rate=rate, seed=1234)
        x = kw["x"]
        y = np.empty_like(x)
        step = [0]

        def ours_fwd():  # a new offset per step, as the layer does
            step[0] += 1
            return ops.dropout_forward(**dict(kw, offset=step[0] * x.size), out=y)

        def ours_bwd():
            return ops.dropout_backward(x, rate, 1234, offset=x.size, out=y)
        if op == "dropout fwd":
            ours = ours_fwd
            reference = lambda: ref.dropout_forward(x, rate, 1234)  # noqa: E731
        else:
            ours = ours_bwd
            reference = lambda: ref.dropout_backward(x, rate, 1234)  # noqa: E731
        variants = {}
        if torch is not None:
            tx = torch.from_numpy(x)
            if op == "dropout fwd":
                def fn():
                    return torch.ops.aten.native_dropout(tx, rate, True)
            else:
                _, mask = torch.ops.aten.native_dropout(tx, rate, True)
                scale = 1.0 / (1.0 - rate)

                def fn():
                    return torch.ops.aten.native_dropout_backward(tx, mask, scale)
            variants["torch"] = fn
        return {"ours": ours, "torch": variants, "reference": reference, "check": None}
    return build


def adam_cases(ctx, batches, quick):
    nets = ["mnist_cnn"] if quick else list(PARAM_SHAPES)
    out = []
    for net in nets:
        shapes = PARAM_SHAPES[net]
        total = sum(int(np.prod(s)) for s in shapes)
        out.append(Case("adam", "adam update", f"{net} ({len(shapes)} weights)", 0,
                        f"{total:,} params", _adam_builder(ctx, shapes)))
    return out


def _adam_builder(ctx, shapes):
    def build():
        ops, ref, torch = ctx["ops"], ctx["ref"], ctx["torch"]
        rng = np.random.default_rng(7)
        calls = opinfo.bench_args("optimizer_update", rng, shapes=shapes)  # one call per weight
        params, grads = [c["param"] for c in calls], [c["grad"] for c in calls]
        m, v = [c["slot1"] for c in calls], [c["slot2"] for c in calls]
        t = [0]
        lr, b1, b2 = 1e-3, 0.9, 0.999

        def ours():  # what cudnn_lite.optimizers.Adam does per step: one kernel per weight
            t[0] += 1
            c1 = lr * np.sqrt(1 - b2 ** t[0]) / (1 - b1 ** t[0])
            for p, g, s1, s2 in zip(params, grads, m, v):
                ops.optimizer_update("adam", p, g, s1, s2, lr=lr, beta1=b1, beta2=b2,
                                     epsilon=1e-7, c1=c1)

        def reference():
            c1 = lr * np.sqrt(1 - b2) / (1 - b1)
            for p, g, s1, s2 in zip(params, grads, m, v):
                ref.optimizer_update("adam", p, g, s1, s2, lr=lr, beta1=b1, beta2=b2,
                                     epsilon=1e-7, c1=c1)
        variants = {}
        if torch is not None:
            for mode in ("fused", "foreach"):
                tps = [torch.from_numpy(p.copy()).requires_grad_(True) for p in params]
                for tp, g in zip(tps, grads):
                    tp.grad = torch.from_numpy(g)
                try:
                    opt = torch.optim.Adam(tps, lr=lr, betas=(b1, b2), eps=1e-7, **{mode: True})
                    opt.step()
                except (RuntimeError, TypeError) as exc:
                    print(f"  torch Adam({mode}=True) unavailable: {exc}")
                    continue
                variants[f"torch[{mode}]"] = opt.step
        return {"ours": ours, "torch": variants, "reference": reference, "check": None}
    return build


MAKERS = [conv_cases, pool_cases, dense_cases, softmax_ce_cases, batchnorm_cases, dropout_cases,
          adam_cases]


# ------------------------------------------------------------------- main

def run_case(bench, case: Case, use_reference: bool) -> dict:
    parts = case.build()
    impls = {"cudnn_lite": parts["ours"]}
    impls.update(parts["torch"])
    err = None
    if parts.get("check"):
        fn, to_numpy, ours_out, ours_fn = parts["check"]
        ours_fn()
        err = _rel_err(ours_out, to_numpy(fn()))
        if err > 1e-3:
            bench.note(f"{case.name}: cudnn_lite and torch outputs differ (relative max error "
                       f"{err:.2e})")
    stats = bench.compare(impls)
    ours = stats["cudnn_lite"]
    torch_stats = {k: v for k, v in stats.items() if k != "cudnn_lite"}
    best = min(torch_stats, key=lambda k: torch_stats[k]["median"]) if torch_stats else None
    ref_stats = harness.time_once(parts["reference"]) if use_reference else None
    row = {
        "case": case.name, "group": case.group, "op": case.op, "layer": case.layer,
        "batch": case.batch, "shape": case.shape, "flops": case.flops,
        "cudnn_lite": ours, "torch": torch_stats, "torch_best": best,
        "reference_1run": ref_stats, "max_rel_error_vs_torch": err,
        "ratio_vs_torch": (ours["median"] / torch_stats[best]["median"]) if best else None,
        "ratio_vs_reference": (ours["median"] / ref_stats["median"]) if ref_stats else None,
        "gflops_cudnn_lite": (case.flops / ours["median"] / 1e9) if case.flops else None,
    }
    return row


def main(argv=None) -> int:
    parser = harness.add_common_args(argparse.ArgumentParser(description=__doc__.split("\n")[0]))
    parser.add_argument("--no-reference", action="store_true", help="skip the NumPy reference")
    parser.add_argument("--batches", default=None, help="comma-separated batch sizes (default 32,128)")
    parser.add_argument("--torch-layouts", default="cl,nchw",
                        help="memory formats PyTorch is timed in for 4-D ops (default cl,nchw)")
    args = parser.parse_args(argv)
    harness.import_cudnn_lite()
    from cudnn_lite import ops
    from cudnn_lite import reference as ref
    torch = harness.import_torch(args.no_torch)
    bench = harness.Bench("ops", args, torch=torch)
    batches = ([int(b) for b in args.batches.split(",")] if args.batches
               else ([2] if args.quick else [32, 128]))
    ctx = {"ops": ops, "ref": ref, "torch": torch,
           "layouts": [s.strip() for s in args.torch_layouts.split(",") if s.strip()]}
    bad = [lay for lay in ctx["layouts"] if lay not in ("cl", "nchw")]
    if bad or not ctx["layouts"]:
        parser.error(f"--torch-layouts: expected a comma-separated subset of cl,nchw, got {args.torch_layouts!r}")
    bench.record["torch_layouts"] = ctx["layouts"]
    ref_batch = min(batches)
    cases = [c for make in MAKERS for c in make(ctx, batches, args.quick)]
    cases = [c for c in cases if bench.wanted(c.name)]
    print(f"{len(cases)} cases, {bench.threads} threads; ratio = cudnn_lite / torch time "
          f"(<1: cudnn_lite faster)")
    for case in cases:
        use_ref = not args.no_reference and (args.quick or case.batch in (0, ref_batch))
        row = run_case(bench, case, use_ref)
        bench.add_row(row)
        t = row["torch"].get(row["torch_best"]) if row["torch_best"] else None
        print(f"  {case.name:58s} ours {harness.fmt_time(row['cudnn_lite']['median']):>9s} "
              f"{harness.fmt_spread(row['cudnn_lite']):>5s}  "
              f"{(row['torch_best'] or 'torch'):14s} {harness.fmt_time(t['median'] if t else None):>9s}"
              f"  ratio {harness.fmt_ratio(row['ratio_vs_torch'])}", flush=True)
    headers = ["op", "layer", "batch", "shape", "cudnn_lite", "torch (best layout)", "ours/torch",
               "NumPy ref (1 run)", "ours/ref", "GFLOP/s ours"]
    table = []
    for r in bench.rows:
        t = r["torch"].get(r["torch_best"]) if r["torch_best"] else None
        ref_t = r["reference_1run"]["median"] if r["reference_1run"] else None
        table.append([
            r["op"], r["layer"], r["batch"] or "-", r["shape"],
            f"{harness.fmt_time(r['cudnn_lite']['median'])} {harness.fmt_spread(r['cudnn_lite'])}",
            (f"{harness.fmt_time(t['median'])} {harness.fmt_spread(t)} {r['torch_best']}"
             if t else "skipped"),
            harness.fmt_ratio(r["ratio_vs_torch"]), harness.fmt_time(ref_t),
            harness.fmt_ratio(r["ratio_vs_reference"]),
            f"{r['gflops_cudnn_lite']:.1f}" if r["gflops_cudnn_lite"] else "-"])
    print()
    print(harness.text_table(headers, table))
    body = [
        "Times are median seconds per call (± half the IQR relative to the median). "
        "ours/torch < 1: cudnn_lite is faster. PyTorch: aten kernels in NCHW shape; for 4-D "
        "ops the faster of channels_last [cl] and contiguous NCHW [nchw] is shown (both are in "
        "the JSON). Adam: the faster of torch.optim.Adam(fused=True) / (foreach=True). "
        "NumPy reference: one run, no warm-up, batch "
        f"{ref_batch} only (slow).",
        "",
        harness.markdown_table(headers, table),
    ]
    if torch is None:
        body.insert(0, "PyTorch was not available: its columns are skipped.\n")
    bench.write("\n".join(body))
    return 0


if __name__ == "__main__":
    sys.exit(main())
