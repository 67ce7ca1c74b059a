"""Learning curves of several runs of one network in one figure: cudnn_lite beside PyTorch.

    python benchmarks/plot_curves.py RUN [RUN ...] --png benchmarks/results/reproduce/X.png

A RUN is a record written by reproduce.py (``<stem>.json``, its ``history``) or a
``--checkpoint-dir`` folder of a run that may still be going (its ``history.jsonl``, one
line per finished epoch). The figure has two panels, loss and accuracy; each run draws its
training curve (solid) and validation curve (dashed) in one colour, and its legend entry
states the epochs done and the median seconds per epoch (training + validation). The
subtitle names the machine's threads and the commits the runs were made with. Needs
matplotlib; the PNG is written atomically.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile

METRICS = ("loss", "accuracy")


def _pyplot():
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise SystemExit("plot_curves: matplotlib is not installed (pip install matplotlib)") from None
    return plt


def load_run(path):
    """{'label', 'epochs': [dict per epoch], 'commits', 'threads'} from a record or a checkpoint dir."""
    if os.path.isdir(path):
        history = os.path.join(path, "history.jsonl")
        if not os.path.exists(history):
            raise SystemExit(f"plot_curves: {path} is a folder without history.jsonl "
                             "(not a reproduce.py --checkpoint-dir)")
        with open(history) as f:
            epochs = [json.loads(line) for line in f if line.strip()]
        meta_path = os.path.join(path, "meta.json")
        meta = json.load(open(meta_path)) if os.path.exists(meta_path) else {}
        label = meta.get("framework") or os.path.basename(os.path.normpath(path))
        seconds = [e.get("train_seconds", 0.0) + e.get("val_seconds", 0.0) for e in epochs]
        commits = sorted({e.get("commit", "?")[:8] for e in epochs})
        threads = sorted({(e.get("threads") or {}).get("threads") for e in epochs} - {None})
        total = meta.get("epochs")
    else:
        with open(path) as f:
            rec = json.load(f)
        h = rec["history"]
        n = len(h["loss"])
        epochs = [{k: v[i] for k, v in h.items() if len(v) == n} | {"epoch": i + 1} for i in range(n)]
        label = rec.get("framework", os.path.basename(path))
        seconds = rec.get("epoch_seconds") or []
        commits = [(rec.get("commit") or (rec.get("git") or {}).get("commit") or "?")[:8]]
        threads = [(rec.get("threads") or {}).get("threads")]
        total = rec.get("epochs")
    if not epochs:
        raise SystemExit(f"plot_curves: {path} holds no finished epoch yet")
    return {"label": label, "epochs": epochs, "commits": commits, "threads": threads,
            "seconds": seconds, "total": total}


def plot(runs, title, png):
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(METRICS), figsize=(12, 4.5))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, run in enumerate(runs):
        colour = colours[i % len(colours)]
        done = len(run["epochs"])
        of = f"/{run['total']}" if run["total"] else ""
        speed = (f", {statistics.median(run['seconds']):.0f} s/epoch (median)"
                 if run["seconds"] else "")
        name = f"{run['label']} ({done}{of} epochs{speed})"
        xs = [e["epoch"] for e in run["epochs"]]
        for ax, metric in zip(axes, METRICS):
            for key, style, part in ((metric, "-", "train"), ("val_" + metric, "--", "validation")):
                ys = [e.get(key) for e in run["epochs"]]
                if all(y is not None for y in ys):
                    ax.plot(xs, ys, style, color=colour, label=f"{name} {part}")
    for ax, metric in zip(axes, METRICS):
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.set_title(metric)
        ax.grid(True, alpha=0.3)
    axes[0].legend(fontsize=7, loc="upper right")
    commits = ", ".join(f"{r['label']} {'/'.join(r['commits'])}" for r in runs)
    threads = ", ".join(f"{r['label']} {'/'.join(map(str, r['threads']))}" for r in runs)
    fig.suptitle(f"{title}\nthreads: {threads}; commits: {commits}", fontsize=9)
    fig.tight_layout()
    folder = os.path.dirname(os.path.abspath(png))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".", suffix=".png", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            fig.savefig(f, format="png", dpi=110)
        os.replace(tmp, png)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
        plt.close(fig)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("runs", nargs="+", help="reproduce.py records (.json) or --checkpoint-dir folders")
    p.add_argument("--png", required=True, help="the figure to write")
    p.add_argument("--title", default="learning curves", help="the figure's title")
    args = p.parse_args(argv)
    runs = [load_run(r) for r in args.runs]
    plot(runs, args.title, args.png)
    for r in runs:
        best = max(r["epochs"], key=lambda e: e.get("val_accuracy", float("-inf")))
        print(f"{r['label']}: {len(r['epochs'])} epochs, best val_accuracy "
              f"{best.get('val_accuracy')} at epoch {best['epoch']}, median "
              f"{statistics.median(r['seconds']) if r['seconds'] else float('nan'):.1f} s/epoch")
    print(f"plot: {args.png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
