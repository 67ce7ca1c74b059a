"""Smoke tests of benchmarks/: every script's main() in --quick mode, writing to a tmp folder.

Not measurements (tiny sizes, one repeat): they only keep the scripts from
rotting. PyTorch is optional: with it installed the torch columns run too;
the --no-torch runs check the path a machine without torch takes.
"""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import pytest

BENCH_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks")


def _load(name):
    """Import benchmarks/<name>.py as a module (benchmarks/ is not a package)."""
    if BENCH_DIR not in sys.path:
        sys.path.insert(0, BENCH_DIR)
    spec = importlib.util.spec_from_file_location(f"_bench_{name}", os.path.join(BENCH_DIR, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _has_torch():
    return importlib.util.find_spec("torch") is not None


def _read(out, name):
    for ext in ("json", "md"):
        assert os.path.exists(os.path.join(out, f"{name}-latest.{ext}"))
    assert not [f for f in os.listdir(out) if f.startswith(f"{name}-2")], "dated copies go to runs/"
    runs = os.path.join(out, "runs")
    dated = [f for f in os.listdir(runs) if f.startswith(f"{name}-2") and f.endswith(".json")]
    assert dated, os.listdir(runs)
    assert not [f for f in os.listdir(out) + os.listdir(runs) if f.endswith(".tmp")]
    with open(os.path.join(out, f"{name}-latest.json")) as f:
        data = json.load(f)
    record = data["record"]
    assert record["quick"] is True
    assert record["threads"]["threads"] >= 1
    for key in ("cpu", "versions", "git", "date", "hostname", "cudnn_lite_build_info"):
        assert key in record
    assert data["rows"]
    return data


def test_harness_compare_interleaves_and_summarizes():
    harness = _load("harness")
    order = []
    stats = harness.compare({"a": lambda: order.append("a"), "b": lambda: order.append("b")},
                            repeats=4, warmup=1, min_time=0.0, number={"a": 1, "b": 1})
    assert order[2:] == ["a", "b", "b", "a", "a", "b", "b", "a"]  # round-robin, rotated
    for s in stats.values():
        assert s["repeats"] == 4 and s["min"] <= s["median"] <= s["max"]
        assert s["q1"] <= s["q3"] and s["iqr"] >= 0


def test_harness_atomic_write(tmp_path):
    harness = _load("harness")
    path = tmp_path / "sub" / "x.md"
    harness.atomic_write(str(path), "one")
    harness.atomic_write(str(path), "two")
    assert path.read_text() == "two"
    assert os.listdir(path.parent) == ["x.md"]


def test_harness_device_timer_host(tmp_path):
    harness = _load("harness")
    flushes = []
    timer = harness.DeviceTimer("host", flush=lambda: flushes.append(1))
    calls = []
    stats = timer.time(lambda: (calls.append(1), __import__("time").sleep(0.002)), target_s=0.0,
                       min_rep=5, max_rep=5, warmup=2)
    assert stats["repeats"] == 5 and len(flushes) == 5
    assert len(calls) == 2 + 1 + 5  # warm-up, the estimate, the repeats
    assert 0.002 <= stats["min_s"] <= stats["median_s"] < 1.0
    with pytest.raises(ValueError, match="kind"):
        harness.DeviceTimer("nvml")


def test_harness_write_result(tmp_path):
    harness = _load("harness")
    paths = harness.write_result(str(tmp_path / "device"), "bench_cuda", {"x": [1, 2]}, "# md\n")
    assert sorted(os.listdir(tmp_path / "device")) == ["bench_cuda.json", "bench_cuda.md"]
    with open(paths["json"]) as f:
        assert json.load(f) == {"x": [1, 2]}


def test_bench_sgemm_quick(tmp_path):
    assert _load("bench_sgemm").main(["--quick", "--out", str(tmp_path)]) == 0
    data = _read(str(tmp_path), "sgemm")
    assert all(r["gflops_cudnn_lite"] > 0 and r["rel_error"] < 1e-4 for r in data["rows"])
    assert "openblas_slowdown_vars_set" in data["record"]


@pytest.mark.parametrize("no_torch", [True, False], ids=["no-torch", "torch"])
def test_bench_ops_quick(tmp_path, no_torch):
    if not no_torch and not _has_torch():
        pytest.skip("torch is not installed")
    argv = ["--quick", "--out", str(tmp_path)] + (["--no-torch"] if no_torch else [])
    assert _load("bench_ops").main(argv) == 0
    data = _read(str(tmp_path), "ops")
    groups = {r["group"] for r in data["rows"]}
    assert groups == {"conv2d", "maxpool", "dense", "softmax+ce", "batchnorm", "dropout", "adam"}
    for r in data["rows"]:
        assert r["cudnn_lite"]["median"] > 0
        assert r["reference_1run"] is not None
        assert (r["ratio_vs_torch"] is None) == no_torch
        err = r["max_rel_error_vs_torch"]
        assert err is None or err < 1e-3, r["case"]


def _need_model_api():
    try:
        from cudnn_lite import layers, models, optimizers, zoo  # noqa: F401
    except ImportError as exc:
        pytest.skip(f"the model API is not installed yet ({exc})")


@pytest.mark.parametrize("no_torch", [True, False], ids=["no-torch", "torch"])
def test_bench_models_quick_and_plot(tmp_path, no_torch):
    _need_model_api()
    if not no_torch and not _has_torch():
        pytest.skip("torch is not installed")
    argv = ["--quick", "--out", str(tmp_path), "--profile"] + (["--no-torch"] if no_torch else [])
    if no_torch:
        argv += ["--only", "mnist_cnn_dropout"]
    assert _load("bench_models").main(argv) == 0
    data = _read(str(tmp_path), "models")
    for r in data["rows"]:
        assert r["train_img_s_cudnn_lite"] > 0 and r["infer_img_s_cudnn_lite"] > 0
        assert ("train_ratio" in r) != no_torch
        assert r["profile_cudnn_lite"]["step_s"] > 0
        assert (r["profile_torch"] is None) == no_torch
    if no_torch:
        return
    assert len(data["rows"]) == 5
    for r in data["rows"]:
        assert r["params_torch"] == r["params_textbook"], r["network"]
    pytest.importorskip("matplotlib")
    plot = _load("plot_results")
    assert plot.main(["--out", str(tmp_path)]) == 0
    assert os.path.getsize(tmp_path / "models-latest.png") > 1000


def test_torch_models_match_the_textbook_parameter_counts():
    torch = pytest.importorskip("torch")
    torch_models = _load("torch_models")
    for name in torch_models.NAMES:
        net = torch_models.build(name, torch)
        assert net.params == torch_models.TEXTBOOK_PARAMS[name], name
        x = torch.zeros((2,) + tuple(torch_models.INPUT_SHAPE[name]))
        x = net.to_input(torch, x.numpy())
        assert tuple(net.module(x).shape) == (2, 10)


def test_bench_models_names_the_missing_module(monkeypatch):
    import cudnn_lite
    bench_models = _load("bench_models")
    monkeypatch.delattr(cudnn_lite, "zoo", raising=False)
    monkeypatch.setitem(sys.modules, "cudnn_lite.zoo", None)  # import -> ImportError
    with pytest.raises(SystemExit) as info:
        bench_models.import_zoo()
    assert "cudnn_lite.zoo" in str(info.value)


def test_the_op_table_needs_no_pytest():
    """bench_ops.py and bench_cuda.py build their calls with tests/opinfo: it must import without pytest."""
    code = ("import sys; sys.modules['pytest'] = None; sys.path.insert(0, 'tests'); import opinfo; "
            "kw = opinfo.bench_args('conv2d_forward', n=2, h=5, w=5, c=3, k=3, f=4); "
            "assert kw['x'].shape == (2, 5, 5, 3) and kw['w'].shape == (3, 3, 3, 4)")
    proc = subprocess.run([sys.executable, "-c", code], cwd=os.path.dirname(BENCH_DIR), capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_flop_count_matches_the_issue():
    # issue 14's training FLOPs per image, from the layer shapes (MFLOP, one decimal)
    flop_count = _load("flop_count")
    from cudnn_lite import zoo
    want = {"mnist_mlp": 3.2, "mnist_cnn": 23.8, "cifar10_cnn": 10.2, "cifar10_improved": 230.2}
    for name, mflop in want.items():
        assert round(flop_count.network_flops_per_image(zoo.build(name, seed=0)) / 1e6, 1) == mflop, name


def test_machine_limits_quick():
    m = _load("machine_limits").measure(threads=2, quick=True)
    assert m["peak_gflops"][1] > 0 and m["peak_gflops"][2] > 0
    assert m["bandwidth_gbs"][1] > 0 and m["vector_lanes"] in (8, 16)


def test_bench_efficiency_quick(tmp_path):
    assert _load("bench_efficiency").main(["--quick", "--out", str(tmp_path), "--only", "mnist",
                                           "--no-plot"]) == 0
    data = _read(str(tmp_path), "efficiency")
    assert data["record"]["machine_limits"]["peak_gflops"]
    for row in data["rows"]:
        assert row["fraction_of_peak"] > 0
        kinds = {r["kind"] for r in row["layers"]}
        assert "compute" in kinds and "memory" in kinds  # the optimizer at least


def test_bench_contention_quick(tmp_path):
    assert _load("bench_contention").main(["--quick", "--out", str(tmp_path), "--no-torch",
                                           "--networks", "mnist_mlp", "--busy", "0,1"]) == 0
    data = _read(str(tmp_path), "contention")
    assert data["rows"][0]["fraction_kept"]["1"] > 0
