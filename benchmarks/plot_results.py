"""Bar chart (PNG) of the per-network cudnn_lite / PyTorch throughput ratios.

    python benchmarks/plot_results.py                               # results/models-latest.json
    python benchmarks/plot_results.py results/runs/models-2026-...json --png out.png   # an older run
    python benchmarks/plot_results.py benchmarks/results/ops-latest.json   # per-op time ratios

Reads a JSON written by bench_models.py (training and inference ratio per
network, lines at parity 1.0 and the 1.5 stretch target) or by bench_ops.py
(ours/torch time ratio per case, log scale, line at 1.0). The PNG goes beside
the JSON (same name, .png) unless --png says otherwise. Needs matplotlib
(``pip install 'cudnn_lite[bench]'`` or ``pip install matplotlib``); it is
imported only here.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402


def _pyplot():
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise SystemExit("plot_results: matplotlib is not installed "
                         "(pip install matplotlib, or pip install 'cudnn_lite[bench]')") from None
    return plt


def _subtitle(data):
    r = data["record"]
    quick = " QUICK smoke run" if r.get("quick") else ""
    return (f"{r['cpu']['model']}, {r['threads']['threads']} threads, "
            f"torch {r['versions'].get('torch')}, {r['date'][:10]}, "
            f"commit {(r['git'].get('commit') or '?')[:8]}{quick}")


def plot_models(data, plt):
    rows = [r for r in data["rows"] if "train_ratio" in r]
    if not rows:
        raise SystemExit("plot_results: no PyTorch ratios in this file (was torch skipped?)")
    names = [f"{r['network']}\n(b{r['batch']})" for r in rows]
    fig, ax = plt.subplots(figsize=(max(6, 1.6 * len(rows)), 4.5))
    width = 0.38
    xs = range(len(rows))
    bars_t = ax.bar([x - width / 2 for x in xs], [r["train_ratio"] for r in rows], width,
                    label="training step")
    bars_i = ax.bar([x + width / 2 for x in xs], [r["infer_ratio"] for r in rows], width,
                    label=f"inference (batch {rows[0]['infer_batch']})")
    for bars in (bars_t, bars_i):
        for b in bars:
            ax.annotate(f"{b.get_height():.2f}", (b.get_x() + b.get_width() / 2, b.get_height()),
                        ha="center", va="bottom", fontsize=8)
    ax.axhline(1.0, color="black", linewidth=1, label="parity (target)")
    ax.axhline(1.5, color="gray", linewidth=1, linestyle="--", label="stretch 1.5x")
    ax.set_xticks(list(xs))
    ax.set_xticklabels(names, fontsize=8)
    ax.set_ylabel("cudnn_lite / PyTorch images/s (>1: faster)")
    ax.set_title("cudnn_lite CPU vs PyTorch CPU\n" + _subtitle(data), fontsize=9)
    top = max(max(r["train_ratio"], r["infer_ratio"]) for r in rows)
    ax.set_ylim(0, max(1.7, top * 1.15))
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=4, frameon=False)
    fig.tight_layout()
    return fig


def plot_ops(data, plt):
    rows = [r for r in data["rows"] if r.get("ratio_vs_torch")]
    if not rows:
        raise SystemExit("plot_results: no PyTorch ratios in this file (was torch skipped?)")
    fig, ax = plt.subplots(figsize=(8, max(4, 0.22 * len(rows))))
    ys = range(len(rows))
    ratios = [r["ratio_vs_torch"] for r in rows]
    ax.barh(list(ys), ratios, color=["tab:green" if v <= 1 else "tab:red" for v in ratios])
    ax.set_yticks(list(ys))
    ax.set_yticklabels([f"{r['op']} | {r['layer']} | b{r['batch']}" for r in rows], fontsize=6)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.axvline(1.0, color="black", linewidth=1)
    ax.set_xlabel("cudnn_lite time / PyTorch time (<1: cudnn_lite faster)")
    ax.set_title("per-op time ratio\n" + _subtitle(data), fontsize=9)
    fig.tight_layout()
    return fig


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("json", nargs="?", default=None,
                        help="results JSON (default: <out>/models-latest.json)")
    parser.add_argument("--out", default=harness.DEFAULT_OUT, help="results folder")
    parser.add_argument("--png", default=None, help="output PNG (default: beside the JSON)")
    parser.add_argument("--quick", action="store_true", help="accepted for symmetry; no effect")
    args = parser.parse_args(argv)
    path = args.json or os.path.join(args.out, "models-latest.json")
    if not os.path.exists(path):
        raise SystemExit(f"plot_results: {path} does not exist; run benchmarks/bench_models.py first")
    with open(path) as f:
        data = json.load(f)
    plt = _pyplot()
    kind = data["record"].get("benchmark")
    if kind == "models":
        fig = plot_models(data, plt)
    elif kind == "ops":
        fig = plot_ops(data, plt)
    else:
        raise SystemExit(f"plot_results: cannot plot a {kind!r} result (models or ops only)")
    png = args.png or os.path.splitext(path)[0] + ".png"
    folder = os.path.dirname(os.path.abspath(png))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".", suffix=".png", dir=folder)
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=120)
        os.replace(tmp, png)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
        plt.close(fig)
    print(f"plot: {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
