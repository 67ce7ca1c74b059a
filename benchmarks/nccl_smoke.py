"""1-rank smoke test of cudnn_lite.distribute's NCCL engine on a GPU (run by device_check.sh).

1. NCCLCommunicator: in-place allreduce (float32 and float64) and broadcast of CuPy arrays.
2. The MNIST CNN on 'cuda' for 4 steps (synthetic data, global batch 32) through
   DataParallel(engine='nccl') against a plain fit: the same losses and weights (one rank:
   the gradient allreduce is the identity, so only the bucket views and streams are exercised).
Prints PASS/FAIL lines and writes one summary line to OUT/nccl.note. Exit 1 on a failure.
"""
from __future__ import annotations

import os
import sys
import time

import numpy as np


def main(out):
    import cupy as cp

    import cudnn_lite as cl
    from cudnn_lite import distribute, zoo

    note = []
    failed = False
    t0 = time.perf_counter()
    comm = distribute.make_communicator("nccl", timeout=60, device="cuda")
    print(comm)
    for dtype in (np.float32, np.float64):
        a = cp.arange(1000, dtype=dtype)
        comm.allreduce(a, "smoke allreduce")
        ok = bool(cp.all(a == cp.arange(1000, dtype=dtype)))
        print(f"{'PASS' if ok else 'FAIL'} allreduce {np.dtype(dtype).name}")
        failed |= not ok
    b = cp.full(17, 3.0, dtype=cp.float32)
    comm.bcast(b)
    ok = bool(cp.all(b == 3.0))
    print(f"{'PASS' if ok else 'FAIL'} bcast")
    failed |= not ok

    rng = np.random.default_rng(0)
    x = rng.random((128, 28, 28, 1), dtype=np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 128)]
    results = []
    for strategy in (None, distribute.DataParallel(communicator=comm)):
        cl.backend.set_random_seed(0)
        cl.backend.set_device("cuda")
        model = zoo.build("mnist-cnn")
        h = model.fit(x, y, batch_size=32, epochs=1, verbose=0, distribute=strategy)
        results.append((h.history["loss"][0], model.get_weights()))
    (l0, w0), (l1, w1) = results
    diff = max(float(np.abs(a - b).max()) for a, b in zip(w0, w1))
    ok = abs(l0 - l1) <= 1e-6 and diff <= 1e-6
    print(f"{'PASS' if ok else 'FAIL'} mnist_cnn 4 steps: loss {l0:.6f} vs {l1:.6f}, max |dw| {diff:.3g}")
    failed |= not ok
    note.append(f"nccl 1 rank: {'FAIL' if failed else 'PASS'}; fit loss diff {abs(l0 - l1):.2g}, "
                f"max |dw| {diff:.2g}; {time.perf_counter() - t0:.1f} s")
    with open(os.path.join(out, "nccl.note"), "w") as f:
        f.write("\n".join(note) + "\n")
    print(note[0])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "."))
