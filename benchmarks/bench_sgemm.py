"""SGEMM GFLOP/s: cudnn_lite.ops.sgemm against numpy.matmul (OpenBLAS), same threads.

    python benchmarks/bench_sgemm.py                 # full run (about a minute)
    python benchmarks/bench_sgemm.py --quick         # smoke run, seconds
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_sgemm.py   # fair NumPy

Shapes: square 256, 512, 1024, 2048, and the dense layers of the textbook's
networks at their training batch: forward y = x @ w (m=batch, k=in, n=out),
backward-data dx = dy @ w^T (m=batch, k=out, n=in) and backward-filter
dw = x^T @ dy (m=in, k=batch, n=out). NumPy gets the same transposed views
(no copies: OpenBLAS reads them with its transpose flags). Target (issue 5):
ours >= 0.9x NumPy's GFLOP/s.

OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE in the environment can make OpenBLAS pick
a slower kernel; the record lists which of them are set.
"""
from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

import harness  # noqa: E402

# (network, layer, batch, in, out)
DENSE_LAYERS = [
    ("mnist_mlp", "dense1 784->512", 128, 784, 512),
    ("mnist_mlp", "dense2 512->512", 128, 512, 512),
    ("mnist_mlp", "dense3 512->10", 128, 512, 10),
    ("mnist_cnn", "dense1 3136->64", 128, 3136, 64),
    ("mnist_cnn", "dense2 64->10", 128, 64, 10),
    ("cifar10_cnn", "dense1 1024->500", 32, 1024, 500),
    ("cifar10_cnn", "dense2 500->10", 32, 500, 10),
    ("cifar10_improved", "dense 2048->10", 128, 2048, 10),
]
SQUARE = [256, 512, 1024, 2048]


def cases(quick: bool):
    """(name, m, n, k, trans_a, trans_b)"""
    out = []
    for s in ([64, 96] if quick else SQUARE):
        out.append((f"square {s}", s, s, s, False, False))
    layers = DENSE_LAYERS[:2] if quick else DENSE_LAYERS
    for net, layer, batch, fan_in, fan_out in layers:
        if quick:
            batch = 8
        tag = f"{net} {layer} b{batch}"
        out.append((f"{tag} fwd", batch, fan_out, fan_in, False, False))
        out.append((f"{tag} bwd-data", batch, fan_in, fan_out, False, True))
        out.append((f"{tag} bwd-filter", fan_in, fan_out, batch, True, False))
    return out


def operands(m, n, k, trans_a, trans_b, rng):
    a = rng.standard_normal((k, m) if trans_a else (m, k), dtype=np.float32)
    b = rng.standard_normal((n, k) if trans_b else (k, n), dtype=np.float32)
    return a, b


def main(argv=None) -> int:
    parser = harness.add_common_args(argparse.ArgumentParser(description=__doc__.split("\n")[0]))
    args = parser.parse_args(argv)
    harness.import_cudnn_lite()
    from cudnn_lite import ops
    bench = harness.Bench("sgemm", args, torch=None,
                          timing=harness.timing_options(args, repeats=7, warmup=2, min_time=0.2))
    rng = np.random.default_rng(0)
    rows = []
    print(f"sgemm, {bench.threads} threads; ratio = cudnn_lite GFLOP/s / numpy GFLOP/s "
          f"(>1: cudnn_lite faster)")
    for name, m, n, k, ta, tb in cases(args.quick):
        if not bench.wanted(name):
            continue
        a, b = operands(m, n, k, ta, tb, rng)
        out = np.empty((m, n), dtype=np.float32)
        a_np = a.T if ta else a
        b_np = b.T if tb else b
        out_np = np.empty((m, n), dtype=np.float32)
        # correctness guard: a benchmark of a wrong result is worthless
        ops.sgemm(a, b, trans_a=ta, trans_b=tb, out=out)
        np.matmul(a_np, b_np, out=out_np)
        err = float(np.max(np.abs(out - out_np)) / (np.max(np.abs(out_np)) + 1e-30))
        if err > 1e-4:
            bench.note(f"{name}: cudnn_lite and numpy differ (relative max error {err:.2e})")
        stats = bench.compare({
            "cudnn_lite": lambda: ops.sgemm(a, b, trans_a=ta, trans_b=tb, out=out),
            "numpy": lambda: np.matmul(a_np, b_np, out=out_np),
        })
        flops = 2.0 * m * n * k
        ours, theirs = stats["cudnn_lite"], stats["numpy"]
        row = {"case": name, "m": m, "n": n, "k": k, "trans_a": ta, "trans_b": tb,
               "flops": flops, "rel_error": err,
               "cudnn_lite": ours, "numpy": theirs,
               "gflops_cudnn_lite": flops / ours["median"] / 1e9,
               "gflops_numpy": flops / theirs["median"] / 1e9,
               "ratio_gflops": theirs["median"] / ours["median"]}
        bench.add_row(row)
        rows.append(row)
        print(f"  {name:45s} ours {row['gflops_cudnn_lite']:7.1f} GFLOP/s "
              f"{harness.fmt_spread(ours):>5s}   numpy {row['gflops_numpy']:7.1f} GFLOP/s "
              f"{harness.fmt_spread(theirs):>5s}   ours/numpy {row['ratio_gflops']:.2f}",
              flush=True)
    headers = ["case", "m x n x k", "cudnn_lite GFLOP/s", "numpy GFLOP/s", "ours/numpy (>=0.9 target)"]
    table = [[r["case"], f"{r['m']}x{r['n']}x{r['k']}",
              f"{r['gflops_cudnn_lite']:.1f} {harness.fmt_spread(r['cudnn_lite'])}",
              f"{r['gflops_numpy']:.1f} {harness.fmt_spread(r['numpy'])}",
              f"{r['ratio_gflops']:.2f}"] for r in rows]
    print()
    print(harness.text_table(headers, table))
    body = ("GFLOP/s = 2mnk / median seconds. Ratio > 1: cudnn_lite is faster than NumPy "
            "(OpenBLAS).\n\n" + harness.markdown_table(headers, table))
    bench.write(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
