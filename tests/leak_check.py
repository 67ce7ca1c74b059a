"""Leak check: 1,000 forward/backward calls of every op family (and of rejected calls, whose
exceptions cross the binding), and the process RSS must not grow after warm-up.

    python tests/leak_check.py [--iterations 1000] [--warmup 100] [--max-growth-kb 2048]

Exit status 0 when the growth is within the bound. .ci/sanitize.sh also runs this file under
LeakSanitizer (the ASan build) and fails on any leak whose stack passes through cudnn_lite._C.
Run it directly with `python`, not pytest (it is not a test module: pytest collects test_*.py).
"""
from __future__ import annotations

import argparse
import gc
import os
import sys

import numpy as np


def rss_kb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def families(ops, _C):
    rng = np.random.default_rng(0)

    def r(*shape):
        return rng.uniform(0.1, 0.9, size=shape).astype(np.float32)

    x, w, b = r(2, 6, 6, 3), r(3, 3, 3, 4), r(4)
    dy_conv = r(2, 6, 6, 4)
    xd, wd, dyd = r(4, 8), r(8, 5), r(4, 5)
    xp, dyp, gdy = r(2, 4, 4, 3), r(2, 2, 2, 3), r(2, 3)
    p = ops.softmax_forward(r(4, 5))
    t = np.eye(5, dtype=np.float32)[[0, 1, 2, 3]]
    gamma, beta = r(3), r(3)
    mm, mv = np.zeros(3, np.float32), np.ones(3, np.float32)
    _, sm, si = ops.batchnorm_forward_train(x[..., :3], gamma, beta, mm, mv)
    param, grad = r(50), r(50)
    slots = {k: (np.zeros(50, np.float32), np.zeros(50, np.float32)) for k in ops.OPTIMIZERS}

    def bad(fn):
        def call():
            try:
                fn()
            except (TypeError, ValueError):
                return
            raise AssertionError("a bad call was accepted")
        return call

    return {
        "sgemm": lambda: ops.sgemm(xd, wd),
        "dense": lambda: (ops.dense_forward(xd, wd, b[:1].repeat(5), activation="relu"),
                          ops.dense_backward(xd, wd, dyd)),
        "conv2d": lambda: (ops.conv2d_forward(x, w, b, padding="same", activation="relu"),
                           ops.conv2d_backward_data(dy_conv, w, x.shape, padding="same"),
                           ops.conv2d_backward_filter(x, dy_conv, w.shape, padding="same")),
        "maxpool": lambda: (ops.maxpool2d_forward(xp), ops.maxpool2d_backward(xp, dyp)),
        "avgpool": lambda: (ops.avgpool2d_forward(xp, padding="same"),
                            ops.avgpool2d_backward(dyp, xp.shape, padding="same")),
        "global_avgpool": lambda: (ops.global_avgpool2d_forward(xp),
                                   ops.global_avgpool2d_backward(gdy, xp.shape)),
        "activation": lambda: [ops.activation_backward(xd, ops.activation_forward(xd, a), xd, a)
                               for a in ops.ACTIVATIONS],
        "softmax": lambda: (ops.softmax_forward(xd), ops.softmax_backward(p, p)),
        "loss": lambda: ([(ops.loss_forward(p, t, l), ops.loss_backward(p, t, l)) for l in ops.LOSSES],
                         ops.softmax_cross_entropy_backward(p, t)),
        "batchnorm": lambda: (ops.batchnorm_forward_train(x[..., :3], gamma, beta, mm, mv),
                              ops.batchnorm_forward_inference(x[..., :3], gamma, beta, mm, mv),
                              ops.batchnorm_backward(x[..., :3], x[..., :3], gamma, sm, si)),
        "dropout": lambda: (ops.dropout_forward(xd, 0.5, 7, 3), ops.dropout_backward(dyd, 0.5, 7, 3)),
        "optimizer": lambda: [ops.optimizer_update(k, param, grad, *slots[k], lr=1e-6, momentum=0.9,
                                                   c1=1e-6, c2=1e-6, c3=1.0)
                              for k in ops.OPTIMIZERS],
        "rejected calls": lambda: (bad(lambda: ops.conv2d_forward(x.astype(np.float64), w))(),
                                   bad(lambda: ops.conv2d_forward(x, w, strides=0))(),
                                   bad(lambda: _C.conv2d_forward(x, w, None, np.empty((2, 4, 4, 4), np.float32),
                                                                 0, 1, 0, 0, 0, 0, 0, 0.0))(),
                                   bad(lambda: _C.sgemm(xd, wd, np.empty((4, 4), np.float32), False, False, 1.0, 0.0))(),
                                   bad(lambda: ops.softmax_forward(xd[:, ::2]))(),
                                   bad(lambda: ops.dense_forward(xd, [[1.0]]))(),
                                   bad(lambda: ops.dropout_forward(xd, 1.5, 1))(),
                                   bad(lambda: _C.check_array(xd.T, "x"))()),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--max-growth-kb", type=int, default=256)
    args = parser.parse_args(argv)

    import cudnn_lite
    from cudnn_lite import _C, ops

    fams = families(ops, _C)
    for _ in range(args.warmup):
        for fn in fams.values():
            fn()
    gc.collect()
    start = rss_kb()
    per_family = {}
    for name, fn in fams.items():
        before = rss_kb()
        for _ in range(args.iterations):
            fn()
        gc.collect()
        per_family[name] = rss_kb() - before
    growth = rss_kb() - start
    print(f"leak_check: cudnn_lite from {os.path.dirname(cudnn_lite.__file__)}")
    print(f"leak_check: {args.iterations} calls of {len(fams)} op families after {args.warmup} warm-up rounds")
    for name, kb in per_family.items():
        print(f"  {name:<16} RSS {kb:+6d} KiB")
    ok = growth <= args.max_growth_kb
    print(f"leak_check: RSS growth {growth:+d} KiB (bound {args.max_growth_kb} KiB): {'OK' if ok else 'LEAK'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
