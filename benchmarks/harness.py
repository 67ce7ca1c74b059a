"""The one benchmark harness every script in benchmarks/ uses.

    from harness import Bench
    bench = Bench("ops", args)                    # pins threads, records the machine
    stats = bench.compare({"cudnn_lite": f, "torch": g})   # interleaved timing
    bench.add_row({...})                          # one result row (plain JSON values)
    bench.write(markdown_table)                   # results/<name>-latest.{json,md} (+ runs/ copy)

GPU scripts time with CUDA events instead (``DeviceTimer``: CuPy's events when
CuPy is importable, PyTorch's or the host clock otherwise), record the card
with ``machine_record(..., gpu=True)`` and write with ``write_result``.

Timing rules (the same for every implementation under comparison):

- warm-up calls first (they also pick ``number``: how many calls one timed
  repeat makes, so that a repeat lasts at least ``min_time`` seconds);
- then ``repeats`` timed repeats, interleaved round-robin (a, b, c, a, b, c,
  ... with the starting implementation rotated every round), so that drift
  (thermal, frequency, a neighbour compiling) hits all of them alike;
- reported: median seconds per call, with the spread (min, max, quartiles,
  IQR) over the repeats.

Threads are pinned before anything is timed: ``cudnn_lite.set_num_threads``,
``torch.set_num_threads`` (when torch is imported), and threadpoolctl for
NumPy's BLAS when it is importable (otherwise the record says that
OMP_NUM_THREADS / OPENBLAS_NUM_THREADS decide NumPy's threads).

Run the scripts from the repository root as ``python benchmarks/<script>.py``:
Python then puts benchmarks/ (not the repo root) on sys.path, so the INSTALLED
cudnn_lite (with its compiled _C) is the one imported.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Callable, Dict, Iterable, List, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(HERE)
DEFAULT_OUT = os.path.join(HERE, "results")

# environment variables that change how the compared libraries run
ENV_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_CORETYPE",
            "OPENBLAS_L2_SIZE", "OPENBLAS_VERBOSE", "OMP_PROC_BIND", "OMP_PLACES", "KMP_AFFINITY",
            "DNNL_MAX_CPU_ISA", "ONEDNN_MAX_CPU_ISA", "ATEN_CPU_CAPABILITY", "CUDNN_LITE_CUDA")
# set, these slow OpenBLAS (numpy) down or change its kernel choice
OPENBLAS_SLOWDOWN_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


# ------------------------------------------------------------------ imports

def import_cudnn_lite():
    """The installed cudnn_lite with its compiled _C, or SystemExit with what to do."""
    try:
        import cudnn_lite
        import cudnn_lite._C  # noqa: F401
        import cudnn_lite.ops  # noqa: F401
    except Exception as exc:  # ImportError, or a broken extension
        raise SystemExit(
            f"benchmarks: cannot import the compiled cudnn_lite ({exc!r}). Install it first "
            "(`CUDNN_LITE_CUDA=OFF pip install --no-build-isolation .` in the repo root) and run "
            "the script as `python benchmarks/<script>.py` so the installed package is used."
        ) from None
    return cudnn_lite


def import_torch(disabled: bool = False):
    """torch, or None (with a printed message) when it is absent or disabled."""
    if disabled:
        print("torch: disabled (--no-torch); PyTorch columns are skipped")
        return None
    try:
        import torch
    except ImportError:
        print("torch: not installed; PyTorch columns are skipped (pip install torch for them)")
        return None
    return torch


# ------------------------------------------------------------------ threads

def default_threads() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def pin_threads(n: int, torch=None) -> dict:
    """Pin every library to ``n`` threads; returns what was done (for the record)."""
    done = {"threads": n}
    try:
        import cudnn_lite
        cudnn_lite.set_num_threads(n)
        done["cudnn_lite"] = cudnn_lite.get_num_threads()
    except Exception as exc:
        done["cudnn_lite"] = f"not set: {exc!r}"
    if torch is not None:
        torch.set_num_threads(n)
        done["torch"] = torch.get_num_threads()
        try:
            torch.set_num_interop_threads(1)  # no inter-op pool: one op at a time, like ours
        except RuntimeError:  # already set (or parallel work started): keep it
            pass
        done["torch_interop"] = torch.get_num_interop_threads()
    try:
        import threadpoolctl
        global _THREADPOOL_LIMITS
        _THREADPOOL_LIMITS = threadpoolctl.threadpool_limits(limits=n, user_api="blas")
        done["numpy_blas"] = [
            {k: info.get(k) for k in ("internal_api", "version", "num_threads", "architecture")}
            for info in threadpoolctl.threadpool_info() if info.get("user_api") == "blas"]
    except ImportError:
        done["numpy_blas"] = ("threadpoolctl not installed: NumPy's BLAS threads follow "
                              "OPENBLAS_NUM_THREADS / OMP_NUM_THREADS (now "
                              f"{os.environ.get('OPENBLAS_NUM_THREADS')!r} / "
                              f"{os.environ.get('OMP_NUM_THREADS')!r})")
    return done


_THREADPOOL_LIMITS = None  # kept alive so the limit holds for the whole run


# ----------------------------------------------------------- machine record

def _cpu_info() -> dict:
    model, flags, cores, phys = platform.processor() or platform.machine(), set(), set(), None
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "model name" and model in ("", platform.machine(), platform.processor()):
                    model = value.strip()
                elif key == "flags" and not flags:
                    flags = set(value.split())
                elif key == "physical id":
                    phys = value.strip()
                elif key == "core id":
                    cores.add((phys, value.strip()))
    except OSError:
        pass
    wanted = ("avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16", "amx_tile",
              "avx2", "fma", "f16c")
    return {"model": model, "flags": {f: (f in flags) for f in wanted} if flags else "unknown",
            "physical_cores": len(cores) or None, "logical_cpus": os.cpu_count(),
            "usable_cpus": default_threads()}


def _git() -> dict:
    def run(*cmd):
        try:
            out = subprocess.run(("git", "-C", REPO_ROOT) + cmd, capture_output=True, text=True,
                                 timeout=10)
            return out.stdout.strip() if out.returncode == 0 else None
        except (OSError, subprocess.SubprocessError):
            return None
    commit = run("rev-parse", "HEAD")
    status = run("status", "--porcelain", "--untracked-files=no")
    if commit is None and os.environ.get("CUDNN_LITE_COMMIT"):  # a copy of the tree without .git
        return {"commit": os.environ["CUDNN_LITE_COMMIT"], "dirty": None,
                "source": "$CUDNN_LITE_COMMIT"}
    return {"commit": commit, "dirty": None if status is None else bool(status)}


def _versions(torch=None) -> dict:
    import numpy
    v = {"python": platform.python_version(), "numpy": numpy.__version__,
         "torch": None if torch is None else torch.__version__, "cudnn_lite": None}
    try:
        import cudnn_lite
        v["cudnn_lite"] = getattr(cudnn_lite, "__version__", "?")
    except Exception:
        pass
    return v


def machine_record(threads_done: dict, torch=None, gpu: bool = False, emulated: bool = False) -> dict:
    """Everything needed to compare a result file with another one later (the card too with
    ``gpu=True``; ``emulated``: a GPU script run on CPU stand-ins, no card)."""
    record = {
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "hostname": socket.gethostname(),
        "platform": platform.platform(),
        "cpu": _cpu_info(),
        "threads": threads_done,
        "versions": _versions(torch),
        "git": _git(),
        "env": {k: os.environ[k] for k in ENV_VARS if k in os.environ},
        "openblas_slowdown_vars_set": [k for k in OPENBLAS_SLOWDOWN_VARS if k in os.environ],
        "loadavg_start": _loadavg(),
        "python_executable": sys.executable,
    }
    try:
        import cudnn_lite
        record["cudnn_lite_build_info"] = cudnn_lite.build_info()
    except Exception as exc:
        record["cudnn_lite_build_info"] = f"unavailable: {exc!r}"
    if torch is not None:
        try:
            record["torch_config"] = {
                "mkldnn": bool(torch.backends.mkldnn.is_available()),
                "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            }
        except Exception:
            pass
    if gpu:
        record["gpu"] = gpu_record(torch, emulated)
    return record


def _run(*cmd):
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
        return out.stdout.strip() if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def import_cupy():
    """cupy, or None where it is not installed (or cannot load its CUDA libraries)."""
    try:
        import cupy
    except Exception:
        return None
    return cupy


def gpu_record(torch=None, emulated: bool = False) -> dict:
    """The card (CuPy's device 0), driver, CUDA runtime, CuPy, PyTorch's CUDA and cuDNN, TF32."""
    info = {"emulated_on_cpu": emulated,
            "tf32": {"NVIDIA_TF32_OVERRIDE": os.environ.get("NVIDIA_TF32_OVERRIDE")}}
    if torch is not None:
        info["torch_cuda"] = torch.version.cuda
        info["cudnn"] = None if emulated else torch.backends.cudnn.version()
        info["tf32"].update({"cudnn.allow_tf32": torch.backends.cudnn.allow_tf32,
                             "cuda.matmul.allow_tf32": torch.backends.cuda.matmul.allow_tf32})
    cp = None if emulated else import_cupy()
    if cp is None:
        info["name"] = "none (emulated on the CPU)" if emulated else "unknown (no CuPy)"
        return info
    props = cp.cuda.runtime.getDeviceProperties(0)
    name = props["name"]
    info.update({"name": name.decode() if isinstance(name, bytes) else str(name),
                 "sm": f"{props['major']}{props['minor']}", "sms": props["multiProcessorCount"],
                 "memory_gib": round(props["totalGlobalMem"] / 2**30, 1),
                 "cuda_driver_api": cp.cuda.runtime.driverGetVersion(),
                 "cuda_runtime": cp.cuda.runtime.runtimeGetVersion(), "cupy": cp.__version__})
    info["nvidia_smi"] = _run("nvidia-smi", "--query-gpu=name,driver_version,clocks.max.sm,"
                              "clocks.max.mem,power.limit", "--format=csv,noheader")
    return info


def _loadavg():
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):
        return None


# ------------------------------------------------------------------ timing

def summarize(times: List[float], number: int) -> dict:
    """Seconds per call: median and spread over the repeats."""
    t = sorted(times)
    if len(t) >= 4:
        q = statistics.quantiles(t, n=4)
        q1, q3 = q[0], q[2]
    else:
        q1, q3 = t[0], t[-1]
    return {"median": statistics.median(t), "min": t[0], "max": t[-1], "q1": q1, "q3": q3,
            "iqr": q3 - q1, "mean": statistics.fmean(t), "repeats": len(t), "number": number,
            "times": t}


def _time_calls(fn: Callable[[], object], number: int) -> float:
    start = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - start) / number


# Pause before each timed repeat, so that the previous implementation's idle worker
# threads have stopped spinning: OpenBLAS threads spin ~0.1 s after a call and GNU OpenMP
# threads for a while too; on 2 cores a spinning neighbour halves the next library's speed
# (seen: our sgemm at 2 threads read 0.4-0.7x NumPy interleaved, 1.5-2x NumPy's number alone).
SETTLE_SECONDS = 0.15


def compare(impls: Dict[str, Callable[[], object]], *, repeats: int = 7, warmup: int = 1,
            min_time: float = 0.05, number: Optional[Dict[str, int]] = None,
            max_number: int = 10_000) -> Dict[str, dict]:
    """Time each callable (seconds per call), interleaved round-robin.

    ``number`` fixes calls per repeat per implementation; otherwise the
    warm-up picks it so that a repeat lasts about ``min_time`` seconds.
    """
    names = list(impls)
    calls = dict(number or {})
    for name in names:  # warm-up (first calls: allocation, oneDNN primitive creation, caches)
        fn = impls[name]
        elapsed = 0.0
        for _ in range(max(warmup, 1 if name not in calls else 0)):
            elapsed = _time_calls(fn, 1)
        if name not in calls:
            n = 1
            if elapsed > 0 and elapsed < min_time:
                n = min(max_number, max(1, int(min_time / elapsed)))
                # one more check with n calls: the first call alone is often slower
                per = _time_calls(fn, n)
                if per > 0:
                    n = min(max_number, max(1, int(round(min_time / per))))
            calls[name] = n
    times: Dict[str, List[float]] = {name: [] for name in names}
    for r in range(repeats):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            if len(names) > 1 and SETTLE_SECONDS > 0:
                time.sleep(SETTLE_SECONDS)
            times[name].append(_time_calls(impls[name], calls[name]))
    return {name: summarize(times[name], calls[name]) for name in names}


def time_once(fn: Callable[[], object]) -> dict:
    """A single untimed-warm-up-free call (for the slow NumPy reference)."""
    return summarize([_time_calls(fn, 1)], 1)


# ------------------------------------------------------------ device timing

class DeviceTimer:
    """GPU time of one call, between two CUDA events, repeated; the GPU scripts' timer.

    ``kind``: 'cupy' (CuPy's events on its current stream), 'torch' (torch.cuda.Event on
    PyTorch's), 'host' (the host clock: the stand-in where there is no GPU; times are then
    host times), or 'auto': 'cupy' when CuPy is importable, else 'torch' when PyTorch sees a
    GPU, else 'host'. CuPy's and PyTorch's default streams are both the legacy default stream,
    so either kind's events bracket either library's kernels. ``flush``: a callable run before
    each repeat (``l2_flush()``), so every repeat starts with a cold L2.
    """

    def __init__(self, kind: str = "auto", torch=None, flush: Optional[Callable[[], object]] = None):
        self.torch = torch
        self.cupy = import_cupy() if kind != "host" else None  # sync() waits for CuPy's work too
        if kind == "auto":
            gpu_torch = torch is not None and torch.cuda.is_available()
            kind = "cupy" if self.cupy is not None else "torch" if gpu_torch else "host"
        if kind == "cupy" and self.cupy is None:
            raise RuntimeError("DeviceTimer('cupy'): CuPy is not importable")
        if kind == "torch" and torch is None:
            raise RuntimeError("DeviceTimer('torch'): pass the torch module")
        if kind not in ("cupy", "torch", "host"):
            raise ValueError(f"DeviceTimer: kind must be auto, cupy, torch or host, got {kind!r}")
        self.kind, self.flush = kind, flush

    def sync(self) -> None:
        """Wait for all work queued by CuPy and PyTorch."""
        if self.kind == "host":
            return
        if self.cupy is not None:
            self.cupy.cuda.Device().synchronize()
        if self.torch is not None and self.torch.cuda.is_available():
            self.torch.cuda.synchronize()

    def _events(self):
        if self.kind == "cupy":
            cp = self.cupy
            return cp.cuda.Event(), cp.cuda.Event(), lambda a, b: cp.cuda.get_elapsed_time(a, b) * 1e-3
        if self.kind == "torch":
            ev = self.torch.cuda.Event
            return ev(enable_timing=True), ev(enable_timing=True), lambda a, b: a.elapsed_time(b) * 1e-3
        return _HostEvent(), _HostEvent(), lambda a, b: b.t - a.t

    def time(self, fn: Callable[[], object], target_s: float = 0.1, min_rep: int = 10,
             max_rep: int = 100, warmup: int = 3) -> dict:
        """Seconds of one call: ``warmup`` calls, then enough one-call repeats for about
        ``target_s`` seconds (between ``min_rep`` and ``max_rep``), each bracketed by events."""
        for _ in range(warmup):
            fn()
        self.sync()
        t0 = time.perf_counter()
        fn()
        self.sync()
        est = time.perf_counter() - t0
        repeats = int(min(max(target_s / max(est, 1e-6), min_rep), max_rep))
        start, end, elapsed = self._events()
        times = []
        for _ in range(repeats):
            if self.flush is not None:
                self.flush()
            start.record()
            fn()
            end.record()
            end.synchronize()
            times.append(elapsed(start, end))
        return {"median_s": statistics.median(times), "min_s": min(times), "repeats": repeats}


class _HostEvent:
    def record(self):
        self.t = time.perf_counter()

    def synchronize(self):
        pass


def l2_flush(mib: int = 256) -> Optional[Callable[[], object]]:
    """A callable that overwrites ``mib`` MiB of device memory (more than any L2), or None
    without CuPy."""
    cp = import_cupy()
    if cp is None:
        return None
    buf = cp.empty(mib * 2**20 // 4, dtype=cp.float32)
    return lambda: buf.fill(0)


# ---------------------------------------------------------------- arguments

def add_common_args(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--quick", action="store_true",
                        help="smoke mode: tiny sizes, 1 repeat, a few seconds (for the tests)")
    parser.add_argument("--out", default=DEFAULT_OUT,
                        help="results folder (default: benchmarks/results)")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads for every library (default: the usable CPUs)")
    parser.add_argument("--repeats", type=int, default=None, help="timed repeats (default 7; quick 1)")
    parser.add_argument("--warmup", type=int, default=None, help="warm-up calls (default 2; quick 1)")
    parser.add_argument("--min-time", type=float, default=None,
                        help="seconds one timed repeat should last at least (default 0.1; quick 0)")
    parser.add_argument("--no-torch", action="store_true",
                        help="skip PyTorch (as if it were not installed)")
    parser.add_argument("--only", default=None,
                        help="only cases whose name contains this substring")
    return parser


def timing_options(args, repeats=7, warmup=2, min_time=0.1) -> dict:
    global SETTLE_SECONDS
    if args.quick:
        repeats, warmup, min_time = 1, 1, 0.0
        SETTLE_SECONDS = 0.0  # smoke runs measure nothing
    return {"repeats": args.repeats or repeats,
            "warmup": args.warmup if args.warmup is not None else warmup,
            "min_time": args.min_time if args.min_time is not None else min_time}


# ------------------------------------------------------------------ results

def atomic_write(path: str, text: str) -> None:
    """Write text to path via a temp file in the same folder and os.replace."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def write_result(out: str, stem: str, payload: dict, markdown: str) -> Dict[str, str]:
    """out/<stem>.json and out/<stem>.md, each written atomically; returns the paths."""
    paths = {}
    for ext, text in (("json", json.dumps(payload, indent=1, default=_json_default) + "\n"),
                      ("md", markdown)):
        paths[ext] = os.path.join(out, f"{stem}.{ext}")
        atomic_write(paths[ext], text)
    return paths


RUNS_FOLDER = "runs"  # out/runs/<name>-<date>.json: every run's copy, kept out of git


def fmt_time(seconds: Optional[float]) -> str:
    if seconds is None:
        return "-"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} us"


def fmt_ratio(r: Optional[float]) -> str:
    return "-" if r is None else f"{r:.2f}"


def fmt_spread(stats: Optional[dict]) -> str:
    """IQR relative to the median, in percent."""
    if not stats or not stats.get("median"):
        return "-"
    return f"±{100 * stats['iqr'] / 2 / stats['median']:.0f}%"


def markdown_table(headers: List[str], rows: Iterable[List[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def text_table(headers: List[str], rows: List[List[str]]) -> str:
    rows = [[str(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(headers)]
    out = ["  ".join(h.ljust(w) for h, w in zip(headers, widths)),
           "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
    return "\n".join(out)


class Bench:
    """One benchmark run: pinned threads, the machine record, rows, and the writer."""

    def __init__(self, name: str, args, torch=None, timing: Optional[dict] = None):
        self.name = name
        self.args = args
        self.torch = torch
        self.out = args.out
        self.threads = args.threads or default_threads()
        threads_done = pin_threads(self.threads, torch)
        self.timing = timing or timing_options(args)
        self.record = machine_record(threads_done, torch)
        self.record["benchmark"] = name
        self.record["quick"] = bool(args.quick)
        self.record["timing"] = dict(self.timing)
        self.record["args"] = dict(vars(args))
        self.rows: List[dict] = []
        self.notes: List[str] = []
        self.started = time.time()
        slow = self.record["openblas_slowdown_vars_set"]
        if slow:
            self.note(f"{', '.join(slow)} set in the environment: NumPy's OpenBLAS may run a "
                      f"slower kernel; for fair runs use `env -u OPENBLAS_CORETYPE -u "
                      f"OPENBLAS_L2_SIZE python benchmarks/...`")

    def note(self, text: str) -> None:
        print("note:", text)
        self.notes.append(text)

    def wanted(self, case_name: str) -> bool:
        return self.args.only is None or self.args.only in case_name

    def compare(self, impls: Dict[str, Callable[[], object]], **kw) -> Dict[str, dict]:
        opts = dict(self.timing)
        opts.update(kw)
        return compare(impls, **opts)

    def add_row(self, row: dict) -> None:
        self.rows.append(row)

    def write(self, markdown_body: str) -> Dict[str, str]:
        """out/<name>-latest.{json,md} (the one tracked result of this benchmark) and a copy of
        the JSON in out/runs/<name>-<date>.json (kept out of git); returns the paths."""
        self.record["loadavg_end"] = _loadavg()
        self.record["seconds"] = round(time.time() - self.started, 1)
        payload = {"record": self.record, "notes": self.notes, "rows": self.rows}
        paths = write_result(self.out, f"{self.name}-latest", payload, self._markdown(markdown_body))
        stamp = _dt.datetime.now().strftime("%Y-%m-%d_%H%M%S")
        paths["run"] = os.path.join(self.out, RUNS_FOLDER, f"{self.name}-{stamp}.json")
        atomic_write(paths["run"], json.dumps(payload, indent=1, default=_json_default) + "\n")
        print(f"results: {paths['json']} and .md (this run also in {paths['run']})")
        return paths

    def _markdown(self, body: str) -> str:
        r = self.record
        cpu = r["cpu"]
        flags = cpu["flags"]
        flag_text = (", ".join(f for f, on in flags.items() if on) if isinstance(flags, dict)
                     else flags)
        bi = r.get("cudnn_lite_build_info")
        head = [
            f"# {self.name} benchmark{' (QUICK smoke run: tiny sizes, not a measurement)' if r['quick'] else ''}",
            "",
            f"- date: {r['date']}, host: {r['hostname']}",
            f"- CPU: {cpu['model']}; {cpu['usable_cpus']} usable of {cpu['logical_cpus']} logical CPUs "
            f"({cpu.get('physical_cores')} physical cores); "
            f"flags: {flag_text}",
            f"- threads (every library): {r['threads']['threads']}; load average at start "
            f"{r['loadavg_start']}, at end {r.get('loadavg_end')}",
            f"- versions: " + ", ".join(f"{k} {v}" for k, v in r["versions"].items()),
            f"- commit: {r['git']['commit']}{' (dirty tree)' if r['git']['dirty'] else ''}",
            f"- timing: {r['timing']}; interleaved round-robin; median (± half the IQR, "
            f"relative to the median)",
        ]
        if r["env"]:
            head.append(f"- environment: {r['env']}")
        if isinstance(bi, dict):
            head.append("- cudnn_lite build: " + ", ".join(
                f"{k}={' '.join(str(v).split())}" for k, v in bi.items() if v not in ("", None)))
        if self.notes:
            head.append("")
            head += [f"> note: {n}" for n in self.notes]
        return "\n".join(head) + "\n\n" + body.rstrip() + "\n"


def _json_default(obj):
    try:
        import numpy as np
        if isinstance(obj, np.generic):
            return obj.item()
    except ImportError:
        pass
    return repr(obj)
