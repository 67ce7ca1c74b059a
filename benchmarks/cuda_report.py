"""bench_cuda.py's report: one progress line per case, the targets of the GPU issue, and the
markdown tables of the op run and of the training-epoch run."""
from __future__ import annotations

import math

MEMORY_GROUPS = ("pool", "activation", "softmax", "batchnorm", "dropout", "optimizer")


def _fmt_us(s):
    return "-" if s is None else f"{s * 1e6:.1f}"


def _line(row):
    if "failed" in row:
        return f"FAILED {row['op']} {row['layer']} b{row['batch']}: {row['failed']}"
    e = row.get("error", {}).get("cpu", {})
    yt = row.get("yardstick_time")
    return (f"{row['op']:<28} {row['layer']:<28} b{row['batch']:<4} ours {_fmt_us(row['ours']['median_s'])} us  "
            f"{row['yardstick']} {_fmt_us(yt['median_s'] if yt else None)} us  ratio {row.get('ratio', float('nan')):.2f}"
            f"  err vs CPU {e.get('rel', float('nan')):.2g}"
            + (f"  bw {row['ours_bw_pct']:.0f}%" if "ours_bw_pct" in row else ""))


def _geomean(xs):
    xs = [x for x in xs if x and x > 0 and math.isfinite(x)]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else None


def _bad_error(row):
    """True when the GPU result disagrees with the CPU path beyond float32 reduction noise (or bitwise)."""
    e = row.get("error", {}).get("cpu", {})
    if "bit_identical" in e:
        return not e["bit_identical"]
    return not (e.get("rel", float("inf")) <= 1e-3)


def targets(record) -> dict:
    rows = [r for r in record["results"] if "failed" not in r]
    out = {}

    def ratios(group):
        return [r["ratio"] for r in rows if r["group"] == group and "ratio" in r]
    sg = [r for r in rows if r["group"] == "sgemm" and r["shape"].endswith("NN") and "ratio" in r]
    if sg:
        pct = 100.0 / sg[0]["ratio"]
        out["sgemm_4096_pct_of_cublas"] = {"value": pct, "target": ">= 90", "met": pct >= 90}
    d = ratios("dense")
    if d:
        out["dense_worst_ratio_vs_cublas"] = {"value": max(d), "target": "<= 1.25", "met": max(d) <= 1.25}
    fw = ratios("conv_fwd")
    if fw:
        g = _geomean(fw)
        out["conv_fwd_geomean_vs_cudnn"] = {"value": g, "target": "<= 1.0", "met": g <= 1.0}
        out["conv_fwd_worst_vs_cudnn"] = {"value": max(fw), "target": "<= 1.5", "met": max(fw) <= 1.5}
    for grp in ("conv_bwd_data", "conv_bwd_filter"):
        r = ratios(grp)
        if r:
            g = _geomean(r)
            out[f"{grp}_geomean_vs_cudnn"] = {"value": g, "target": "<= 1.25", "met": g <= 1.25}
    mem = [r for r in rows if r["group"] in MEMORY_GROUPS and "ours_bw_pct" in r]
    if mem:
        below = [f"{r['op']} {r['layer']} b{r['batch']} ({r['ours_bw_pct']:.0f}%)" for r in mem if r["ours_bw_pct"] < 70]
        out["memory_bound_min_pct_of_bandwidth"] = {"value": min(r["ours_bw_pct"] for r in mem), "target": ">= 70",
                                                    "met": not below, "below": below}
    bad = [f"{r['op']} {r['layer']} b{r['batch']}" for r in rows if _bad_error(r)]
    out["validation_vs_cpu"] = {"value": len(bad), "target": "0 mismatches", "met": not bad, "bad": bad}
    failed = [f"{r['op']} {r['layer']} b{r['batch']}: {r['failed']}" for r in record["results"] if "failed" in r]
    out["cases_failed"] = {"value": len(failed), "target": "0", "met": not failed, "failed": failed}
    return out


def _header(m):
    g = m.get("gpu") or {}
    dirty = " (dirty tree)" if m["git"].get("dirty") else ""
    return (f"- card: {g.get('name')} (sm_{g.get('sm')}, {g.get('sms')} SMs, {g.get('memory_gib')} GiB); "
            f"nvidia-smi: {g.get('nvidia_smi')}\n"
            f"- CUDA driver API {g.get('cuda_driver_api')}, runtime {g.get('cuda_runtime')}, CuPy {g.get('cupy')}, "
            f"PyTorch {m['versions'].get('torch')} (CUDA {g.get('torch_cuda')}, cuDNN {g.get('cudnn')})\n"
            f"- host {m['hostname']}, CPU {m['cpu']['model']}; commit {m['git'].get('commit')}{dirty}, "
            f"{m['date']}, TF32 {g.get('tf32')}\n")

def ops_markdown(record) -> str:
    m = record["machine"]
    bw = record.get("bandwidth") or {}
    lines = ["# cudnn_lite CUDA ops vs cuDNN (PyTorch) / cuBLAS (CuPy)", "", _header(m),
             f"- measured device bandwidth: {bw.get('bytes_per_s', 0) / 1e9:.0f} GB/s "
             f"(memcpy {bw.get('memcpy_GBps', 0):.0f}, copy kernel {bw.get('copy_kernel_GBps', 0):.0f})", "",
             "Times: median of one-call CUDA-event timings, L2 flushed; ratio = ours / yardstick (< 1: ours faster);"
             " err = max |GPU - CPU path| / max |CPU| (bit = bit-identical).", ""]
    if record.get("targets"):
        lines += ["## Targets", "", "| target | value | goal | met |", "|---|---|---|---|"]
        for k, t in record["targets"].items():
            v = t["value"]
            lines.append(f"| {k} | {v:.3g} | {t['target']} | {'yes' if t['met'] else '**NO**'} |"
                         if isinstance(v, float) else f"| {k} | {v} | {t['target']} | {'yes' if t['met'] else '**NO**'} |")
            for extra in ("below", "bad", "failed"):
                if t.get(extra):
                    lines.append(f"|  {extra}: {'; '.join(t[extra][:20])} | | | |")
        lines.append("")
    lines += ["## All cases", "",
              "| group | op | layer | batch | shape | ours us | yardstick us | ratio | TFLOP/s | ours %BW | yard %BW "
              "| err vs CPU | err vs yardstick |", "|" + "---|" * 13]
    for r in record["results"]:
        if "failed" in r:
            lines.append(f"| {r['group']} | {r['op']} | {r['layer']} | {r['batch']} | {r['shape']} | FAILED: "
                         f"{r['failed'][:120]} | | | | | | | |")
            continue
        e = r.get("error", {})
        ec = e.get("cpu", {})
        ecs = "bit" if ec.get("bit_identical") else f"{ec.get('rel', float('nan')):.1e}"
        if "bit_identical" in ec and not ec["bit_identical"]:
            ecs = f"**NOT bit-identical** ({ec.get('max_abs', 0):.1e})"
        elif _bad_error(r):
            ecs = f"**{ecs}**"
        ey = e.get("yardstick", {})
        yt = r.get("yardstick_time")
        lines.append(f"| {r['group']} | {r['op']} | {r['layer']} | {r['batch']} | {r['shape']} | "
                     f"{_fmt_us(r['ours']['median_s'])} | {_fmt_us(yt['median_s'] if yt else None)} | "
                     f"{r.get('ratio', float('nan')):.2f} | {r.get('ours_tflops', float('nan')):.2f} | "
                     f"{r.get('ours_bw_pct', float('nan')):.0f} | {r.get('yard_bw_pct', float('nan')):.0f} | {ecs} | "
                     f"{ey.get('rel', float('nan')):.1e} |")
    if record.get("skipped"):
        lines += ["", f"Skipped (time budget): {len(record['skipped'])} cases: " + "; ".join(record["skipped"])]
    return "\n".join(lines) + "\n"


def train_markdown(record):
    lines = ["# One training epoch: cudnn_lite (layer API on the GPU) vs PyTorch eager + cuDNN", "",
             _header(record["machine"]),
             "Same batch, data set resident on the GPU for both, shuffled each epoch, losses read back once per "
             "epoch; warm-up epochs on a subset first (CuPy kernel compilation, cuDNN autotuning).", "",
             "| model | batch | samples | data | ours s/epoch | PyTorch s/epoch | ratio | ours loss | PyTorch loss "
             "| weights on GPU |", "|" + "---|" * 10]
    for r in record["results"]:
        lines.append(f"| {r['model']} | {r['batch']} | {r['samples']} | {r['data']} | {r['ours_epoch_s']:.2f} | "
                     f"{r['torch_epoch_s']:.2f} | {r['ratio']:.2f} | {r['ours_loss']:.4f} | {r['torch_loss']:.4f} | "
                     f"{r['ours_weights_on_device']} |")
    for f in record["failed"]:
        lines.append(f"\nFAILED / skipped: {f}")
    return "\n".join(lines) + "\n"
