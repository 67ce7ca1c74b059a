"""One training run for bench_contention.py: steps a network for a while, prints images/s.

    python benchmarks/contention_worker.py --impl cudnn_lite --network mnist_cnn --threads 2 --seconds 3

Run as a subprocess by bench_contention.py, so that each measurement has a fresh process
and the library under test (the installed cudnn_lite, another build through PYTHONPATH,
or PyTorch) is the only one imported. Prints one JSON line: img_s (images over the timed
steps' wall time), steps, seconds, step_s (every timed step), and which module ran.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

import harness  # noqa: E402
import torch_models  # noqa: E402


def make_step(impl, name, batch, threads):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch,) + torch_models.INPUT_SHAPE[name], dtype=np.float32)
    labels = rng.integers(0, 10, batch)
    if impl == "torch":
        import torch
        harness.pin_threads(threads, torch)
        net = torch_models.build(name, torch, channels_last=True)
        tx, tl = net.to_input(torch, x), torch.from_numpy(labels)
        return (lambda: torch_models.train_step(torch, net, tx, tl)), torch.__file__
    import bench_models
    harness.pin_threads(threads)
    zoo = bench_models.import_zoo()
    model, _ = bench_models.build_ours(zoo, name, metrics=False)
    onehot = np.eye(10, dtype=np.float32)[labels]
    import cudnn_lite
    return (lambda: model.train_on_batch(x, onehot)), cudnn_lite.__file__


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--impl", choices=["cudnn_lite", "torch"], required=True)
    p.add_argument("--network", required=True)
    p.add_argument("--batch", type=int, default=None)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--warmup", type=int, default=3, help="untimed steps first (at least)")
    p.add_argument("--warmup-seconds", type=float, default=6.0,
                   help="and untimed steps for at least this long (cudnn_lite's thread governor "
                        "settles its team in the first steps under load; the timed part is the "
                        "steady state of a long training)")
    p.add_argument("--min-steps", type=int, default=3)
    args = p.parse_args(argv)
    batch = args.batch or torch_models.BATCH[args.network]
    step, module = make_step(args.impl, args.network, batch, args.threads)
    warm = time.perf_counter()
    for _ in range(args.warmup):
        step()
    while time.perf_counter() - warm < args.warmup_seconds:
        step()
    times = []
    start = time.perf_counter()
    while time.perf_counter() - start < args.seconds or len(times) < args.min_steps:
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    wall = time.perf_counter() - start
    print(json.dumps({"img_s": batch * len(times) / wall, "steps": len(times), "seconds": wall,
                      "batch": batch, "step_s": times, "module": module}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
