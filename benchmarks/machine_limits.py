"""The machine's own limits, measured at benchmark time: FP32 FMA peak and memory bandwidth.

    python benchmarks/machine_limits.py              # prints both, 1 thread and --threads
    from machine_limits import measure; measure(threads=2)

Compiles microkernels/fma_peak.cpp and microkernels/triad.cpp with the system C++
compiler (``$CXX`` or c++/g++, ``-O2 -march=native -pthread``) into a temporary
folder and runs them: the peak is 16 independent FMA chains per thread on the widest
vector the compiler targets (AVX-512 or AVX2), the bandwidth a STREAM triad over
three arrays far larger than the last-level cache. Each figure is the best of
``tries`` runs (a microkernel can only be slowed down by the machine, never sped up).
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCES = {"fma_peak": os.path.join(HERE, "microkernels", "fma_peak.cpp"),
           "triad": os.path.join(HERE, "microkernels", "triad.cpp")}
FLAGS = ["-O2", "-march=native", "-pthread"]


def compiler() -> str:
    for cand in (os.environ.get("CXX"), "c++", "g++", "clang++"):
        if cand and shutil.which(cand):
            return cand
    raise SystemExit("machine_limits: no C++ compiler found (set CXX)")


def build(folder: str) -> dict:
    """Compile both microkernels into folder; returns {name: executable path}."""
    cxx = compiler()
    exes = {}
    for name, src in SOURCES.items():
        exe = os.path.join(folder, name)
        subprocess.run([cxx, *FLAGS, src, "-o", exe], check=True)
        exes[name] = exe
    return exes


def _parse(line: str) -> dict:
    parts = line.split()
    return {parts[i]: float(parts[i + 1]) for i in range(0, len(parts) - 1, 2)}


def _run(cmd) -> dict:
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip()
    return _parse(out.splitlines()[-1])


def measure(threads: int, seconds: float = 0.5, mfloats: float = 32.0, tries: int = 3,
            quick: bool = False) -> dict:
    """{'peak_gflops': {1: .., threads: ..}, 'bandwidth_gbs': {...}, 'compiler': ..., ...}."""
    if quick:
        seconds, mfloats, tries = 0.05, 1.0, 1
    counts = sorted({1, threads})
    with tempfile.TemporaryDirectory(prefix="cudnn_lite_limits_") as folder:
        exes = build(folder)
        peak, bw, lanes = {}, {}, None
        for t in counts:
            runs = [_run([exes["fma_peak"], str(t), str(seconds)]) for _ in range(tries)]
            peak[t] = max(r["gflops"] for r in runs)
            lanes = int(runs[0]["lanes"])
            runs = [_run([exes["triad"], str(t), str(mfloats), "10"]) for _ in range(tries)]
            bw[t] = max(r["gbytes_s"] for r in runs)
    version = subprocess.run([compiler(), "--version"], capture_output=True, text=True).stdout
    return {"peak_gflops": peak, "bandwidth_gbs": bw, "vector_lanes": lanes, "fma_chains": 16,
            "triad_mfloats_per_array": mfloats, "tries": tries, "seconds_per_peak_run": seconds,
            "compiler": f"{compiler()} {' '.join(FLAGS)}: {version.splitlines()[0] if version else '?'}"}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    p.add_argument("--quick", action="store_true")
    args = p.parse_args(argv)
    m = measure(args.threads, quick=args.quick)
    for t in m["peak_gflops"]:
        print(f"{t} thread(s): FP32 FMA peak {m['peak_gflops'][t]:8.1f} GFLOP/s, "
              f"triad bandwidth {m['bandwidth_gbs'][t]:6.1f} GB/s")
    print(m["compiler"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
