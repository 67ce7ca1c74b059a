"""How close a cudnn_lite training step comes to the machine's own limits (issue 14).

    python benchmarks/bench_efficiency.py              # the four networks, ~2-3 min on 2 cores
    python benchmarks/bench_efficiency.py --only mnist_cnn
    python benchmarks/bench_efficiency.py --quick      # smoke run, seconds

1. Measures the machine: FP32 FMA peak and STREAM-triad bandwidth, at 1 thread and
   at --threads (machine_limits.py compiles and runs the microkernels now).
2. Per network (mnist_mlp b128, mnist_cnn b128, cifar10_cnn b32, cifar10_improved
   b128): training images/s (bench_models.py's step: train_on_batch with the book's
   optimizer, no metrics), training FLOPs per image (flop_count.py) and the fraction
   of the FP32 peak the whole step reaches.
3. Per layer (bench_models.profile_ours: each layer's forward and backward timed
   inside the step): conv and dense layers as achieved GFLOP/s and fraction of the
   peak; pooling, batch norm, activations, dropout and the optimizer as bytes moved
   (flop_count.py's minimum) per second and fraction of the measured bandwidth.
   That fraction-of-its-roof column is the roofline table; the plot shows it per layer.

Writes results/efficiency-latest.{json,md} (harness.Bench: machine,
commit, date) and efficiency-latest.png (with --plot, the default when matplotlib
is importable).
"""
from __future__ import annotations

import argparse
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

import bench_models  # noqa: E402
import flop_count  # noqa: E402
import harness  # noqa: E402
import machine_limits  # noqa: E402

NETWORKS = {"mnist_mlp": 128, "mnist_cnn": 128, "cifar10_cnn": 32, "cifar10_improved": 128}
INPUT_SHAPE = {"mnist_mlp": (28, 28), "mnist_cnn": (28, 28, 1), "cifar10_cnn": (32, 32, 3),
               "cifar10_improved": (32, 32, 3)}


PROFILE_SECONDS = 2.0  # the least time the per-layer profile of a network runs


def layer_rows(costs, profile, peak, bandwidth):
    """Join flop_count's costs with profile_ours's times: one row per layer, optimizer, rest."""
    timed = {r["layer"]: r for r in profile["rows"]}
    rows = []
    for c in costs:
        t = timed.get(c["layer"], {"fwd_s": 0.0, "bwd_s": 0.0})
        seconds = t["fwd_s"] + t["bwd_s"]
        flops, nbytes = c["fwd_flops"] + c["bwd_flops"], c["fwd_bytes"] + c["bwd_bytes"]
        row = dict(c, output_shape=t.get("output_shape", ""), fwd_s=t["fwd_s"], bwd_s=t["bwd_s"],
                   share=seconds / profile["step_s"])
        if c["kind"] == "compute" and seconds > 0:
            row["gflops"] = flops / seconds * 1e-9
            row["gflops_fwd"] = c["fwd_flops"] / t["fwd_s"] * 1e-9 if t["fwd_s"] else None
            row["gflops_bwd"] = c["bwd_flops"] / t["bwd_s"] * 1e-9 if t["bwd_s"] else None
            row["fraction_of_roof"] = row["gflops"] / peak
        elif c["kind"] == "memory" and seconds > 0:
            row["gbytes_s"] = nbytes / seconds * 1e-9
            row["fraction_of_roof"] = row["gbytes_s"] / bandwidth
        rows.append(row)
    rest = timed.get("rest (loss, metrics, Python glue)")
    if rest:
        rows.append({"index": None, "layer": "rest (loss, Python glue)", "kind": "overhead",
                     "fwd_s": rest["fwd_s"], "bwd_s": 0.0, "share": rest["fwd_s"] / profile["step_s"]})
    return rows


def roofline_markdown(name, batch, net, rows):
    head = (f"### {name} (batch {batch}): {net['img_s']:,.0f} img/s, {net['mflop_per_img']:.1f} "
            f"MFLOP/img, {net['gflops']:.1f} GFLOP/s = {net['fraction_of_peak']:.2f} of peak "
            f"(profiled step {net['profiled_step_s'] * 1e3:.2f} ms)")
    table = []
    for r in rows:
        roof = {"compute": "FP32 peak", "memory": "bandwidth"}.get(r["kind"], "-")
        if r["kind"] == "compute":
            achieved = f"{r.get('gflops', 0):.1f} GFLOP/s"
            work = f"{(r['fwd_flops'] + r['bwd_flops']) / 1e6:.1f} MFLOP"
        elif r["kind"] == "memory":
            achieved = f"{r.get('gbytes_s', 0):.1f} GB/s"
            work = f"{(r['fwd_bytes'] + r['bwd_bytes']) / 1e6:.2f} MB"
        else:
            achieved, work = "-", "-"
        frac = r.get("fraction_of_roof")
        table.append([r["layer"], r.get("output_shape", ""), work, harness.fmt_time(r["fwd_s"]),
                      harness.fmt_time(r["bwd_s"]), f"{100 * r['share']:.1f}%", achieved, roof,
                      f"{frac:.2f}" if frac is not None else "-"])
    return "\n".join([head, "", harness.markdown_table(
        ["layer", "output", "work / batch", "fwd", "bwd", "share of step", "achieved", "roof",
         "fraction of roof"], table)])


def plot(path, results, limits, threads, subtitle):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("bench_efficiency: matplotlib not installed, no plot")
        return None
    nets = list(results)
    fig, axes = plt.subplots(len(nets), 1, figsize=(9, 2.2 + 0.32 * sum(len(results[n]["rows"]) for n in nets)),
                             squeeze=False)
    colors = {"compute": "tab:blue", "memory": "tab:orange"}
    for ax, name in zip(axes[:, 0], nets):
        rows = [r for r in results[name]["rows"] if r.get("fraction_of_roof") is not None]
        labels = [f"{r['layer']} ({100 * r['share']:.0f}% of step)" for r in rows]
        ax.barh(range(len(rows)), [r["fraction_of_roof"] for r in rows],
                color=[colors[r["kind"]] for r in rows])
        ax.set_yticks(range(len(rows)), labels, fontsize=7)
        ax.invert_yaxis()
        ax.axvline(1.0, color="k", lw=0.8)
        net = results[name]["network"]
        ax.set_title(f"{name} b{results[name]['batch']}: whole step {net['fraction_of_peak']:.2f} of "
                     f"FP32 peak", fontsize=9)
        ax.set_xlim(0, 1.05)
    axes[-1, 0].set_xlabel(f"fraction of roof (blue: FP32 peak {limits['peak_gflops'][threads]:.0f} "
                           f"GFLOP/s; orange: triad {limits['bandwidth_gbs'][threads]:.1f} GB/s), "
                           f"{threads} threads")
    fig.suptitle(subtitle, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv=None) -> int:
    parser = harness.add_common_args(argparse.ArgumentParser(description=__doc__.split("\n")[0]))
    parser.add_argument("--profile-steps", type=int, default=None, help="steps profiled (default: 10, or more to fill PROFILE_SECONDS)")
    parser.add_argument("--no-plot", action="store_true")
    args = parser.parse_args(argv)
    zoo = bench_models.import_zoo()
    timing = harness.timing_options(args, repeats=5, warmup=2, min_time=1.0)
    bench = harness.Bench("efficiency", args, torch=None, timing=timing)
    threads = bench.threads
    limits = machine_limits.measure(threads, quick=args.quick)
    peak, bw = limits["peak_gflops"][threads], limits["bandwidth_gbs"][threads]
    bench.record["machine_limits"] = limits
    print(f"FP32 peak {peak:.1f} GFLOP/s, triad {bw:.1f} GB/s at {threads} threads "
          f"(1 thread: {limits['peak_gflops'][1]:.1f} GFLOP/s, {limits['bandwidth_gbs'][1]:.1f} GB/s)")
    rng = np.random.default_rng(0)
    results = {}
    for name, batch in NETWORKS.items():
        if not bench.wanted(name):
            continue
        batch = 4 if args.quick else batch
        x, _, onehot = bench_models.synthetic(rng, batch, INPUT_SHAPE[name])
        model, _ = bench_models.build_ours(zoo, name, metrics=False)
        step = lambda: model.train_on_batch(x, onehot)  # noqa: E731
        stats = bench.compare({"cudnn_lite": step})["cudnn_lite"]
        # profiled steps: at least 10 and at least PROFILE_SECONDS of them (a 4 ms step
        # profiled 10 times let one late step triple a layer's mean)
        steps = args.profile_steps or (1 if args.quick else
                                       max(10, math.ceil(PROFILE_SECONDS / stats["median"])))
        profile = bench_models.profile_ours(model, step, steps)
        costs = flop_count.layer_costs(model, batch)
        flops = sum(c["fwd_flops"] + c["bwd_flops"] for c in costs)
        net = {"img_s": batch / stats["median"], "step_s": stats["median"], "train": stats,
               "mflop_per_img": flops / batch / 1e6, "gflops": flops / stats["median"] * 1e-9,
               "profiled_step_s": profile["step_s"]}
        net["fraction_of_peak"] = net["gflops"] / peak
        rows = layer_rows(costs, profile, peak, bw)
        results[name] = {"batch": batch, "network": net, "rows": rows}
        bench.add_row({"network": name, "batch": batch, **net, "layers": rows})
        print(f"  {name:18s} b{batch:<4d} {net['img_s']:9.0f} img/s {harness.fmt_spread(stats):>5s}  "
              f"{net['mflop_per_img']:6.1f} MFLOP/img  {net['gflops']:6.1f} GFLOP/s  "
              f"{net['fraction_of_peak']:.2f} of peak", flush=True)
        del model
    summary = harness.markdown_table(
        ["network", "batch", "train img/s", "MFLOP/img", "GFLOP/s", "fraction of FP32 peak"],
        [[n, r["batch"], f"{r['network']['img_s']:,.0f} {harness.fmt_spread(r['network']['train'])}",
          f"{r['network']['mflop_per_img']:.1f}", f"{r['network']['gflops']:.1f}",
          f"{r['network']['fraction_of_peak']:.2f}"] for n, r in results.items()])
    body = [
        f"Machine limits measured in this run ({threads} threads; 1 thread): FP32 FMA peak "
        f"{peak:.1f} GFLOP/s ({limits['peak_gflops'][1]:.1f}), STREAM triad {bw:.1f} GB/s "
        f"({limits['bandwidth_gbs'][1]:.1f}); {limits['vector_lanes']}-lane FMA, 16 chains per thread; "
        f"{limits['compiler']}.",
        "",
        "FLOPs: 2 x MACs forward, the same for the weight gradient, the same for the input gradient "
        "of every weighted layer but the first (flop_count.py). Bytes: the least traffic of one "
        "pass over each tensor (flop_count.py). Per-layer times come from timing each layer's "
        "forward and backward inside the step (bench_models.profile_ours), so they add the "
        "Python call overhead of each layer.",
        "", summary, ""]
    for name, r in results.items():
        body += [roofline_markdown(name, r["batch"], r["network"], r["rows"]), ""]
    paths = bench.write("\n".join(body))
    if not args.no_plot:
        png = os.path.join(args.out, "efficiency-latest.png")
        rec = bench.record
        sub = (f"{rec['cpu']['model']}, {threads} threads, commit {rec['git']['commit'][:10]}"
               f"{' (dirty)' if rec['git']['dirty'] else ''}, {rec['date']}"
               + (" QUICK smoke run" if args.quick else ""))
        if plot(png, results, limits, threads, sub):
            print(f"plot: {png}")
    return 0 if paths else 1


if __name__ == "__main__":
    sys.exit(main())
