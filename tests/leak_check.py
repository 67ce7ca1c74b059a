"""Leak check: 1,000 forward/backward calls of every op family (and of rejected calls, whose
exceptions cross the binding), and the process RSS must not grow after warm-up. The calls come
from the op table (tests/opinfo/): a new op is checked here by its table entry.

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


def _rejected(fn):
    """fn() must raise TypeError/ValueError (an exception crossing the binding)."""
    def call():
        try:
            fn()
        except (TypeError, ValueError):
            return
        raise AssertionError("a bad call was accepted")
    return call


def families(ops, _C):
    """{family: call} from the op table (tests/opinfo): every op's valid call once per variant
    (every activation, loss, optimizer rule, fill mode), grouped by family; then the rejected
    calls: each op's valid call with its first array argument in float64 and as a list, its
    wrong ranks and shapes and its explicit bad variants, plus a few calls straight into _C."""
    import opinfo  # tests/ is sys.path[0] when this file runs as a script
    calls = {}
    for op in opinfo.OPS:
        fn = getattr(ops, op.name)
        for variant in op.variants:
            kw = dict(op.valid(), **variant)  # fresh arrays per variant (in-place ops keep their own)
            calls.setdefault(op.family, []).append(lambda fn=fn, kw=kw: fn(**kw))
    rejected = []
    for op in opinfo.OPS:
        fn, bad = getattr(ops, op.name), op.bad
        first = bad.arrays[0]
        for wrong in (lambda a: a.astype(np.float64), lambda a: a.tolist()):
            kw = op.valid()
            kw[first] = wrong(kw[first])
            rejected.append(_rejected(lambda fn=fn, kw=kw: fn(**kw)))
        for arg, value in list(bad.rank.items()) + list(bad.shape.items()):
            kw = dict(op.valid(), **{arg: value})
            rejected.append(_rejected(lambda fn=fn, kw=kw: fn(**kw)))
        for variant in bad.variants:
            kw = variant.kwargs()
            rejected.append(_rejected(lambda fn=fn, kw=kw: fn(**kw)))
    xd, wd = opinfo.f(4, 8), opinfo.f(8, 5)
    x, w = opinfo.f(2, 6, 6, 3), opinfo.f(3, 3, 3, 4)
    rejected += [_rejected(lambda: _C.conv2d_forward(x, w, None, np.empty((2, 4, 4, 4), np.float32),
                                                     0, 1, 0, 0, 0, 0, 0, 0.0)),
                 _rejected(lambda: _C.sgemm(xd, wd, np.empty((4, 4), np.float32), False, False, 1.0, 0.0)),
                 _rejected(lambda: ops.softmax_forward(xd[:, ::2])),
                 _rejected(lambda: _C.check_array(xd.T, "x"))]
    fams = {name: (lambda group=group: [c() for c in group]) for name, group in calls.items()}
    fams["rejected calls"] = lambda: [c() for c in rejected]
    return fams


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
