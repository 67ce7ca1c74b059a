"""The textbook's five networks end to end: training and inference images/s, cudnn_lite vs PyTorch.

    python benchmarks/bench_models.py                    # full run (a few minutes on 2 cores)
    python benchmarks/bench_models.py --only cifar10     # some networks (substring)
    python benchmarks/bench_models.py --quick            # smoke run, seconds
    python benchmarks/plot_results.py                    # bar chart of the ratios (PNG)

cudnn_lite: ``cudnn_lite.zoo.build(name, compile=False)`` compiled with the
book's optimizer and loss (no metrics, so the step is forward + loss +
backward + optimizer, like the PyTorch step; ``--metrics`` adds Keras's
accuracy), timed through ``model.train_on_batch`` and ``model.predict``.
PyTorch: benchmarks/torch_models.py (same architecture, channels_last,
textbook optimizer), timed as zero_grad + forward + cross_entropy + backward +
step, and inference as eval + inference_mode + softmax.

Training: synthetic data of the right shape at the book's batch size
(mnist_* 128, cifar10_cnn 32, cifar10_improved 128); each timed repeat runs N
steps (N picked by the warm-up so a repeat lasts >= --min-time seconds),
median of --repeats (default 5) repeats, cudnn_lite and PyTorch interleaved.
Inference: one call on a batch of 1000 (--infer-batch). Same thread count for
both. Ratio = cudnn_lite images/s / PyTorch images/s: above 1 means cudnn_lite
is faster (issue 5 targets >= 1.0, stretch 1.5).
"""
from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

import harness  # noqa: E402
import torch_models  # noqa: E402


def import_zoo():
    """cudnn_lite.zoo and the layer API it builds on, or SystemExit naming what is missing."""
    harness.import_cudnn_lite()
    try:
        from cudnn_lite import layers, models, optimizers, zoo  # noqa: F401
    except ImportError as exc:
        missing = getattr(exc, "name", None) or str(exc)
        raise SystemExit(
            f"bench_models: the model API is not available: cannot import {missing!r} ({exc}). "
            "bench_models.py needs cudnn_lite.zoo, cudnn_lite.models, cudnn_lite.layers and "
            "cudnn_lite.optimizers in the INSTALLED package; bench_ops.py and bench_sgemm.py "
            "work without them.") from None
    return zoo


def synthetic(rng, batch, input_shape, classes=10):
    x = rng.standard_normal((batch,) + tuple(input_shape), dtype=np.float32)
    labels = rng.integers(0, classes, batch)
    return x, labels, np.eye(classes, dtype=np.float32)[labels]


def build_ours(zoo, name, metrics):
    model = zoo.build(name, seed=0, compile=False)
    r = zoo.recipe(name)
    model.compile(optimizer=r.optimizer(), loss=r.loss,
                  metrics=list(r.metrics) if metrics else None)
    return model, r.optimizer_text


def profile_ours(model, step, steps):
    """Seconds per step spent in each layer's forward / backward, the loss and the optimizer.

    Wraps the methods on the instances (layer.forward/backward, optimizer.apply)
    for ``steps`` calls of ``step``, then removes the wrappers.
    """
    import time
    spent = {}

    def wrap(obj, attr, key):
        original = getattr(obj, attr)

        def timed(*a, **kw):
            t = time.perf_counter()
            try:
                return original(*a, **kw)
            finally:
                spent[key] = spent.get(key, 0.0) + time.perf_counter() - t
        setattr(obj, attr, timed)

    wrapped = []
    for i, layer in enumerate(model.layers):
        for attr, phase in (("forward", "fwd"), ("backward", "bwd")):
            wrap(layer, attr, (i, phase))
            wrapped.append((layer, attr))
    if getattr(model, "optimizer", None) is not None and hasattr(model.optimizer, "apply"):
        wrap(model.optimizer, "apply", ("optimizer", "step"))
        wrapped.append((model.optimizer, "apply"))
    step()  # not counted: first call after wrapping
    spent.clear()
    start = time.perf_counter()
    try:
        for _ in range(steps):
            step()
    finally:
        total = time.perf_counter() - start
        for obj, attr in wrapped:
            try:
                delattr(obj, attr)  # back to the class's method
            except AttributeError:
                pass
    rows = []
    for i, layer in enumerate(model.layers):
        shape = getattr(layer, "output_shape", None)
        rows.append({"layer": f"{i} {type(layer).__name__}", "output_shape": str(shape),
                     "fwd_s": spent.get((i, "fwd"), 0.0) / steps,
                     "bwd_s": spent.get((i, "bwd"), 0.0) / steps})
    opt = spent.get(("optimizer", "step"), 0.0) / steps
    layers = sum(r["fwd_s"] + r["bwd_s"] for r in rows)
    rows.append({"layer": "optimizer", "output_shape": "", "fwd_s": 0.0, "bwd_s": opt})
    rows.append({"layer": "rest (loss, metrics, Python glue)", "output_shape": "",
                 "fwd_s": max(total / steps - layers - opt, 0.0), "bwd_s": 0.0})
    return {"step_s": total / steps, "rows": rows}


def profile_torch(torch, step, steps, top=12):
    """Self CPU time per step of the top aten ops (torch.profiler)."""
    step()
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            step()
    events = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
    return [{"op": e.key, "self_s": e.self_cpu_time_total / 1e6 / steps, "calls": e.count / steps}
            for e in events[:top]]


def print_profile(name, ours, theirs):
    print(f"\n  profile {name}: cudnn_lite {ours['step_s'] * 1e3:.2f} ms/step")
    for r in ours["rows"]:
        t = r["fwd_s"] + r["bwd_s"]
        print(f"    {r['layer']:38s} {r['output_shape']:22s} fwd {r['fwd_s'] * 1e3:8.3f} ms  "
              f"bwd {r['bwd_s'] * 1e3:8.3f} ms  {100 * t / ours['step_s']:5.1f}%")
    if theirs:
        print(f"  profile {name}: torch top ops (self CPU per step)")
        for r in theirs:
            print(f"    {r['op'][:50]:50s} {r['self_s'] * 1e3:8.3f} ms  x{r['calls']:.0f}")


def profile_markdown(bench):
    out = []
    for r in bench.rows:
        p = r.get("profile_cudnn_lite")
        if not p:
            continue
        out += ["", f"### {r['network']}: where a cudnn_lite training step goes "
                    f"({p['step_s'] * 1e3:.2f} ms/step)", "",
                harness.markdown_table(
                    ["layer", "output", "fwd", "bwd", "share"],
                    [[x["layer"], x["output_shape"], harness.fmt_time(x["fwd_s"]),
                      harness.fmt_time(x["bwd_s"]),
                      f"{100 * (x['fwd_s'] + x['bwd_s']) / p['step_s']:.1f}%"] for x in p["rows"]])]
        t = r.get("profile_torch")
        if t:
            out += ["", f"PyTorch top ops (self CPU per step): " + ", ".join(
                f"{x['op']} {harness.fmt_time(x['self_s'])}" for x in t)]
    return "\n".join(out)


def main(argv=None) -> int:
    parser = harness.add_common_args(argparse.ArgumentParser(description=__doc__.split("\n")[0]))
    parser.add_argument("--infer-batch", type=int, default=None,
                        help="inference batch (default 1000; quick 8)")
    parser.add_argument("--metrics", action="store_true",
                        help="compile cudnn_lite models with the recipe's metrics (accuracy)")
    parser.add_argument("--torch-layout", choices=["channels_last", "nchw"],
                        default="channels_last", help="PyTorch memory format (default channels_last)")
    parser.add_argument("--profile", action="store_true",
                        help="after timing, split a step into per-layer forward/backward + optimizer "
                             "time (cudnn_lite) and the top aten ops (torch.profiler)")
    parser.add_argument("--profile-steps", type=int, default=None, help="steps profiled (default 5; quick 1)")
    args = parser.parse_args(argv)
    zoo = import_zoo()
    torch = harness.import_torch(args.no_torch)
    timing = harness.timing_options(args, repeats=5, warmup=2, min_time=1.0)
    bench = harness.Bench("models", args, torch=torch, timing=timing)
    infer_batch = args.infer_batch or (8 if args.quick else 1000)
    bench.record["infer_batch"] = infer_batch
    bench.record["torch_layout"] = args.torch_layout if torch is not None else None
    rng = np.random.default_rng(0)
    names = [n for n in torch_models.NAMES if bench.wanted(n)]
    print(f"{len(names)} networks, {bench.threads} threads; ratio = cudnn_lite img/s / torch "
          f"img/s (>1: cudnn_lite faster)")
    for name in names:
        batch = 4 if args.quick else torch_models.BATCH[name]
        shape = torch_models.INPUT_SHAPE[name]
        x, labels, onehot = synthetic(rng, batch, shape)
        xi, _, _ = synthetic(rng, infer_batch, shape)
        model, opt_text = build_ours(zoo, name, args.metrics)
        ours_params = int(model.count_params()) if hasattr(model, "count_params") else None
        train = {"cudnn_lite": lambda: model.train_on_batch(x, onehot)}
        infer = {"cudnn_lite": lambda: model.predict(xi, batch_size=infer_batch)}
        row = {"network": name, "batch": batch, "infer_batch": infer_batch,
               "cudnn_lite_optimizer": opt_text, "params_textbook": torch_models.TEXTBOOK_PARAMS[name],
               "params_cudnn_lite": ours_params}
        if torch is not None:
            net = torch_models.build(name, torch, channels_last=args.torch_layout == "channels_last")
            tx, tl = net.to_input(torch, x), torch.from_numpy(labels)
            txi = net.to_input(torch, xi)
            train["torch"] = lambda: torch_models.train_step(torch, net, tx, tl)
            infer["torch"] = lambda: torch_models.predict(torch, net, txi)
            row.update(torch_optimizer=net.optimizer_text, params_torch=net.params)
            if ours_params is not None and net.params != ours_params:
                bench.note(f"{name}: parameter counts differ: cudnn_lite {ours_params}, "
                           f"torch {net.params} (textbook {row['params_textbook']})")
        train_stats = bench.compare(train)
        infer_stats = bench.compare(infer, min_time=0.0 if args.quick else min(timing["min_time"], 0.5))
        row["train"], row["infer"] = train_stats, infer_stats
        for impl in train:
            row[f"train_img_s_{impl}"] = batch / train_stats[impl]["median"]
            row[f"infer_img_s_{impl}"] = infer_batch / infer_stats[impl]["median"]
        if torch is not None:
            row["train_ratio"] = row["train_img_s_cudnn_lite"] / row["train_img_s_torch"]
            row["infer_ratio"] = row["infer_img_s_cudnn_lite"] / row["infer_img_s_torch"]
        if args.profile:
            steps = args.profile_steps or (1 if args.quick else 5)
            row["profile_cudnn_lite"] = profile_ours(model, train["cudnn_lite"], steps)
            row["profile_torch"] = profile_torch(torch, train["torch"], steps) if torch is not None else None
        bench.add_row(row)
        print(f"  {name:18s} b{batch:<4d} train ours {row['train_img_s_cudnn_lite']:9.0f} img/s "
              f"{harness.fmt_spread(train_stats['cudnn_lite']):>5s}"
              + (f"  torch {row['train_img_s_torch']:9.0f} {harness.fmt_spread(train_stats['torch']):>5s}"
                 f"  ratio {row['train_ratio']:.2f}" if torch is not None else "")
              + f" | infer ours {row['infer_img_s_cudnn_lite']:9.0f}"
              + (f"  torch {row['infer_img_s_torch']:9.0f}  ratio {row['infer_ratio']:.2f}"
                 if torch is not None else ""), flush=True)
        if args.profile:
            print_profile(name, row["profile_cudnn_lite"], row["profile_torch"])
        del model
    headers = ["network", "batch", "train img/s cudnn_lite", "train img/s torch", "train ratio",
               f"infer img/s cudnn_lite (b{infer_batch})", "infer img/s torch", "infer ratio"]
    table = []
    for r in bench.rows:
        has_t = "train_ratio" in r
        table.append([
            r["network"], r["batch"],
            f"{r['train_img_s_cudnn_lite']:,.0f} {harness.fmt_spread(r['train']['cudnn_lite'])}",
            f"{r['train_img_s_torch']:,.0f} {harness.fmt_spread(r['train']['torch'])}" if has_t else "skipped",
            f"{r['train_ratio']:.2f}" if has_t else "-",
            f"{r['infer_img_s_cudnn_lite']:,.0f} {harness.fmt_spread(r['infer']['cudnn_lite'])}",
            f"{r['infer_img_s_torch']:,.0f} {harness.fmt_spread(r['infer']['torch'])}" if has_t else "skipped",
            f"{r['infer_ratio']:.2f}" if has_t else "-"])
    print()
    print(harness.text_table(headers, table))
    body = [
        "Images/s from the median of the timed repeats (± half the IQR relative to the median). "
        "Ratio = cudnn_lite / PyTorch images/s: > 1 means cudnn_lite is faster (target >= 1.0, "
        "stretch 1.5). Training step = forward + loss + backward + the book's optimizer on "
        "synthetic data; inference = predict on one batch"
        f" of {infer_batch}. PyTorch layout: {bench.record['torch_layout']}.",
        "",
        harness.markdown_table(headers, table),
    ]
    if torch is None:
        body.insert(0, "PyTorch was not available: its columns are skipped.\n")
    else:
        body += ["", "Optimizers: " + "; ".join(
            f"{r['network']}: cudnn_lite {r['cudnn_lite_optimizer']}, torch {r['torch_optimizer']}"
            for r in bench.rows)]
    if args.profile:
        body.append(profile_markdown(bench))
    bench.write("\n".join(body))
    return 0


if __name__ == "__main__":
    sys.exit(main())
