"""Training speed on a busy machine: 0, 1 and 3 busy-looping processes beside a 2-thread run.

    python benchmarks/bench_contention.py                                   # ours (installed) + torch
    python benchmarks/bench_contention.py --variant before=/tmp/site-main   # + another build
    python benchmarks/bench_contention.py --variant "passive=,OMP_WAIT_POLICY=passive"  # + an environment
    python benchmarks/bench_contention.py --quick                           # smoke run

Issue 14: a fork-join library whose static split waits at every barrier for a thread
the kernel scheduler has descheduled keeps far less than its CFS fair share when other
processes compete for the cores. With B busy processes (each a Python `while True:
pass`, nice 0) and a T-thread run on C cores, the fair share of the run is
min(1, C / (T + B)) of its quiet speed: 0.67 against 1 and 0.40 against 3 for 2
threads on 2 cores.

Each measurement is a fresh process (contention_worker.py) stepping one network for
--seconds after warm-up; the implementations are cudnn_lite (the installed build, and
each --variant LABEL=SITE_DIR[,VAR=VALUE...]: a build installed with pip --target, put
first on PYTHONPATH, or the installed one when SITE_DIR is empty, run with those
environment variables) and PyTorch. Rounds interleave everything: for each busy count, the busy
processes start, every implementation runs once (order rotated per round), the busy
processes stop. Reported per network and implementation: median images/s over the
rounds at each busy count, and the fraction of the quiet speed kept (the median of
the busy run over the median of the quiet run).

Writes results/contention-latest.{json,md} (harness.Bench record; each run also in results/runs/, out of git).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

# The workers' environment is the one this script started with: importing cudnn_lite here (the
# harness's machine record does) sets GOMP_SPINCOUNT in os.environ, which every worker, PyTorch's
# and older builds' included, would otherwise inherit.
START_ENV = dict(os.environ)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
WORKER = os.path.join(HERE, "contention_worker.py")
BUSY_LOOP = "while True: pass"


def start_busy(k):
    return [subprocess.Popen([sys.executable, "-c", BUSY_LOOP]) for _ in range(k)]


def stop_busy(procs):
    for p in procs:
        p.kill()
    for p in procs:
        p.wait()


def parse_variant(text):
    """'LABEL=SITE_DIR[,VAR=VALUE...]' -> (label, site dir or None, {VAR: VALUE})."""
    label, _, rest = text.partition("=")
    site, *assignments = rest.split(",")
    env = dict(a.split("=", 1) for a in assignments)
    return label, os.path.abspath(site) if site else None, env


def run_worker(impl, site, network, threads, seconds, quick, extra_env=None):
    env = dict(START_ENV)
    env.update(extra_env or {})
    if site:
        env["PYTHONPATH"] = site + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    cmd = [sys.executable, WORKER, "--impl", impl, "--network", network, "--threads", str(threads),
           "--seconds", str(seconds)]
    if quick:
        cmd += ["--batch", "4", "--warmup", "1", "--warmup-seconds", "0", "--min-steps", "1"]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"contention_worker failed ({impl} {site or 'installed'} {network}):\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = harness.add_common_args(argparse.ArgumentParser(description=__doc__.split("\n")[0]))
    parser.add_argument("--networks", default="mnist_cnn,cifar10_improved")
    parser.add_argument("--busy", default="0,1,3", help="busy-process counts (default 0,1,3)")
    parser.add_argument("--seconds", type=float, default=None, help="timed seconds per run (default 3)")
    parser.add_argument("--rounds", type=int, default=None, help="rounds (default 3)")
    parser.add_argument("--variant", action="append", default=[],
                        help="LABEL=SITE_DIR[,VAR=VALUE...]: another cudnn_lite build (pip install "
                             "--target SITE_DIR; empty: the installed one) and/or environment")
    parser.add_argument("--no-installed", action="store_true", help="leave the installed cudnn_lite out")
    args = parser.parse_args(argv)
    bench = harness.Bench("contention", args, torch=None)
    threads = bench.threads
    seconds = args.seconds or (0.2 if args.quick else 3.0)
    rounds = args.rounds or (1 if args.quick else 3)
    busy_counts = [int(b) for b in args.busy.split(",")]
    impls = [] if args.no_installed else [("cudnn_lite", "cudnn_lite", None, {})]
    for v in args.variant:
        label, site, env = parse_variant(v)
        impls.append((f"cudnn_lite[{label}]", "cudnn_lite", site, env))
    if not args.no_torch and harness.import_torch(False) is not None:
        impls.append(("torch", "torch", None, {}))
    cores = harness.default_threads()
    networks = [n for n in args.networks.split(",") if bench.wanted(n)]
    bench.record.update(busy_counts=busy_counts, rounds=rounds, seconds_per_run=seconds,
                        impls={label: {"site": site, "env": env} for label, _, site, env in impls}, busy_loop=BUSY_LOOP)
    print(f"{len(networks)} networks x {len(impls)} implementations x busy {busy_counts} x {rounds} "
          f"rounds, {threads} threads on {cores} cores")
    runs = {(n, label, k): [] for n in networks for label, _, _, _ in impls for k in busy_counts}
    for r in range(rounds):
        for k in busy_counts:
            procs = start_busy(k)
            try:
                time.sleep(0.2 if k else 0.0)
                for network in networks:
                    order = impls[r % len(impls):] + impls[:r % len(impls)]
                    for label, impl, site, env in order:
                        res = run_worker(impl, site, network, threads, seconds, args.quick, env)
                        runs[(network, label, k)].append(res["img_s"])
                        print(f"  round {r} busy {k} {network:18s} {label:22s} {res['img_s']:9.1f} img/s "
                              f"({res['steps']} steps)", flush=True)
            finally:
                stop_busy(procs)
    table = []
    for network in networks:
        for label, _, _, _ in impls:
            quiet = statistics.median(runs[(network, label, busy_counts[0])])
            row = {"network": network, "impl": label, "threads": threads, "cores": cores,
                   "img_s": {}, "fraction_kept": {}, "fair_share": {}, "runs": {}}
            cells = [network, label]
            for k in busy_counts:
                med = statistics.median(runs[(network, label, k)])
                row["img_s"][k], row["runs"][k] = med, runs[(network, label, k)]
                row["fraction_kept"][k] = med / quiet
                row["fair_share"][k] = min(1.0, cores / (threads + k))
                cells.append(f"{med:,.0f}" + ("" if k == busy_counts[0] else f" ({med / quiet:.2f})"))
            bench.add_row(row)
            table.append(cells)
    headers = ["network", "implementation"] + [
        f"img/s, {k} busy" + ("" if k == busy_counts[0] else f" (kept; fair {min(1.0, cores / (threads + k)):.2f})")
        for k in busy_counts]
    print()
    print(harness.text_table(headers, table))
    body = [f"{threads}-thread training beside 0..{max(busy_counts)} busy-looping processes "
            f"(`python -c '{BUSY_LOOP}'`) on {cores} cores; median images/s of {rounds} interleaved "
            f"rounds of {seconds} s each, fresh process per run; in parentheses the fraction of the "
            f"quiet speed kept, against the CFS fair share min(1, cores / (threads + busy)).",
            "", harness.markdown_table(headers, table)]
    bench.write("\n".join(body))
    return 0


if __name__ == "__main__":
    sys.exit(main())
