"""The ``cudnn-lite`` command (also ``python -m cudnn_lite``).

    cudnn-lite train MODEL [--epochs N] [--batch-size B] [--device cpu|cuda]
                           [--data DIR] [--out DIR] [--seed S] [--verbose 0|1|2]
                           [--distributed]      (under mpirun -np N: data-parallel)
    cudnn-lite evaluate MODEL WEIGHTS [--data DIR] [--batch-size B] [--device cpu|cuda] [--json]
    cudnn-lite summary MODEL
    cudnn-lite info
    cudnn-lite list
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import cudnn_lite

from . import zoo

__all__ = ["main", "build_parser"]


def _model_name(value):
    try:
        return zoo.canonical(value)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _positive(value):
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}")
    return n


def build_parser():
    p = argparse.ArgumentParser(
        prog="cudnn-lite",
        description="Train and inspect the textbook's networks with cudnn_lite's kernels.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    t = sub.add_parser("train", help="train a zoo model with its textbook recipe, evaluate it "
                                     "on the test split, write checkpoint, history and plot")
    t.add_argument("model", type=_model_name, help="zoo model name (see `cudnn-lite list`)")
    t.add_argument("--epochs", type=_positive, default=None, help="default: the recipe's")
    t.add_argument("--batch-size", type=_positive, default=None, help="default: the recipe's")
    t.add_argument("--device", choices=["cpu", "cuda"], default=None,
                   help="default: cuda when usable, else cpu")
    t.add_argument("--data", default=None, metavar="DIR",
                   help="folder with the data set (or holding mnist/, cifar10/); default: "
                        "$CUDNN_LITE_DATA, then ~/.cudnn_lite/datasets, then download")
    t.add_argument("--out", default="runs", metavar="DIR",
                   help="where checkpoint, history JSON and learning curve go (default: runs)")
    t.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    t.add_argument("--verbose", type=int, choices=[0, 1, 2], default=2,
                   help="0 silent, 1 progress bar, 2 one line per epoch (default)")
    t.add_argument("--distributed", action="store_true",
                   help="data-parallel training over the ranks of mpirun (mpirun -np 4 cudnn-lite "
                        "train MODEL --distributed); --batch-size is the global batch")

    e = sub.add_parser("evaluate", help="evaluate trained weights of a zoo model on its test split "
                                        "(loss, accuracy, macro precision/recall/F1, confusion matrix)")
    e.add_argument("model", type=_model_name, help="zoo model name (see `cudnn-lite list`)")
    e.add_argument("weights", metavar="WEIGHTS",
                   help="weights or model file: the best checkpoint `train` writes "
                        "(<model>.best.weights.npz), a .npz/.keras/.h5 model, or Keras weights")
    e.add_argument("--data", default=None, metavar="DIR", help="as for train")
    e.add_argument("--batch-size", type=_positive, default=None,
                   help="evaluation batch (default: the recipe's, at least 128)")
    e.add_argument("--device", choices=["cpu", "cuda"], default=None,
                   help="default: cuda when usable, else cpu")
    e.add_argument("--json", action="store_true", help="print the result as one JSON object")

    s = sub.add_parser("summary", help="print a zoo model's summary table")
    s.add_argument("model", type=_model_name, help="zoo model name (see `cudnn-lite list`)")

    sub.add_parser("info", help="build information, devices and threads")
    sub.add_parser("list", help="the zoo's models with their recipes")
    return p


def _cmd_info():
    info = cudnn_lite.build_info()
    print(f"cudnn_lite {info.get('version', cudnn_lite.__version__)}")
    for k, v in info.items():
        if k == "version":
            continue
        lines = str(v).strip().splitlines() or [""]
        if len(lines) == 1:
            print(f"  {k}: {lines[0]}")
        else:
            print(f"  {k}:")
            for line in lines:
                print(f"    {line}")
    devices = ["cpu"]
    if cudnn_lite.cuda_available():
        devices.append("cuda")
    print(f"devices: {', '.join(devices)}")
    if cudnn_lite.with_cuda and "cuda" not in devices:
        print("  (built with CUDA, but no GPU is visible or CuPy does not import)")
    print(f"threads: {cudnn_lite.get_num_threads()}")
    return 0


def _cmd_list():
    width = max(len(n) for n in zoo.names())
    for name in zoo.names():
        r = zoo.RECIPES[name]
        params = f"{r.params:,} params" if r.params is not None else ""
        print(f"{name.replace('_', '-'):<{width}}  {r.description}")
        print(f"{'':<{width}}  {params}; {r.dataset}; {r.optimizer_text}, {r.loss}, "
              f"batch {r.batch_size}, {r.epochs} epochs")
    return 0


def _cmd_summary(model):
    zoo.build(model).summary()
    return 0


def _cmd_train(a):
    result = zoo.train(a.model, epochs=a.epochs, batch_size=a.batch_size, device=a.device,
                       data_dir=a.data, out_dir=a.out, verbose=a.verbose, seed=a.seed,
                       distributed=a.distributed)
    if a.verbose and result.get("rank", 0) == 0:
        short = {k: result[k] for k in ("model", "epochs", "test_accuracy", "test_loss",
                                         "train_seconds", "checkpoint", "history_path",
                                         "plot_path")}
        print(json.dumps(short))
    return 0


def _cmd_evaluate(a):
    result = zoo.evaluate(a.model, a.weights, data_dir=a.data, batch_size=a.batch_size,
                          device=a.device)
    if a.json:
        print(json.dumps(result))
        return 0
    print(f"{result['model']} with {result['weights']} on {result['test_samples']} test samples "
          f"({result['device']})")
    print(f"test loss: {result['test_loss']:.4f}")
    print(f"test accuracy: {result['test_accuracy']:.4f}")
    cm = result.get("confusion_matrix")
    if cm is not None:
        print(f"macro precision {result['precision']:.4f}, recall {result['recall']:.4f}, "
              f"F1 {result['f1']:.4f}")
        width = max(5, len(str(max(max(row) for row in cm))) + 1)
        print("confusion matrix (rows: true class, columns: predicted class)")
        print(" " * 6 + "".join(f"{j:>{width}}" for j in range(len(cm))))
        for i, row in enumerate(cm):
            print(f"{i:>6}" + "".join(f"{v:>{width}}" for v in row))
    return 0


def main(argv=None):
    """Entry point of the console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "info":
            return _cmd_info()
        if args.command == "list":
            return _cmd_list()
        if args.command == "summary":
            return _cmd_summary(args.model)
        if args.command == "evaluate":
            return _cmd_evaluate(args)
        return _cmd_train(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `cudnn-lite evaluate ... | head`: the reader left; no traceback
        try:  # and none at exit either, when Python flushes stdout into the closed pipe
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError, AttributeError):
            pass
        return 141
    except (FileNotFoundError, ValueError, RuntimeError, ImportError) as e:
        print(f"cudnn-lite {args.command}: error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
