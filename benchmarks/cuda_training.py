"""bench_cuda.py --train-only: one training epoch of a zoo network with the layer API on the GPU
against the same network in PyTorch eager + cuDNN, the data set on the GPU for both."""
from __future__ import annotations

import os
import time

import numpy as np

import harness
from cuda_context import machine
from cuda_report import train_markdown


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
        harness.write_result(out_dir, "bench_train", record, train_markdown(record))
    return record
