"""Smoke tests of benchmarks/reproduce.py (--quick: tiny subset, 1 epoch) and
benchmarks/make_results_table.py (on synthetic records). Not measurements."""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH_DIR = os.path.join(REPO, "benchmarks")

RECORD_KEYS = ("model", "framework", "test_accuracy", "test_loss", "epochs", "seconds_per_epoch",
               "epoch_seconds", "train_seconds", "validation_seconds", "device", "machine",
               "threads", "commit", "date", "seed", "data", "command", "history", "best_epoch",
               "optimizer", "params", "quick", "full_recipe")


def _load(name):
    if BENCH_DIR not in sys.path:
        sys.path.insert(0, BENCH_DIR)
    spec = importlib.util.spec_from_file_location(f"_repro_{name}",
                                                  os.path.join(BENCH_DIR, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _run(tmp_path, *args):
    # as documented: `python benchmarks/reproduce.py` from the repo root (installed cudnn_lite)
    cmd = [sys.executable, os.path.join("benchmarks", "reproduce.py"), *args, "--quick",
           "--out", str(tmp_path), "--verbose", "0", "--threads", "1"]
    out = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    return out


def _record(tmp_path, stem):
    path = tmp_path / f"{stem}.json"
    assert path.exists(), os.listdir(tmp_path)
    rec = json.loads(path.read_text())
    for key in RECORD_KEYS:
        assert key in rec, key
    assert rec["quick"] is True and rec["full_recipe"] is False
    assert rec["epochs"] == 1 and len(rec["epoch_seconds"]) == 1
    assert 0.0 <= rec["test_accuracy"] <= 1.0 and rec["test_loss"] >= 0.0
    assert rec["seconds_per_epoch"] > 0
    assert rec["best_epoch"] == 1
    assert set(rec["history"]) >= {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert rec["threads"]["threads"] == 1
    assert rec["command"].startswith("python benchmarks/reproduce.py ")
    assert rec["machine"]["cpu"]["model"]
    assert not [f for f in os.listdir(tmp_path) if f.endswith(".tmp")]
    return rec


def test_reproduce_quick_cudnn_lite(tmp_path):
    pytest.importorskip("cudnn_lite._C")
    _run(tmp_path, "blobs_mlp", "--seed", "3")
    rec = _record(tmp_path, "blobs_mlp-cudnn_lite-seed3-e1-n256-quick")
    assert rec["framework"] == "cudnn_lite" and rec["seed"] == 3
    assert rec["data"] == {"train": 256, "validation": 200, "test": 200, "max_train": 256,
                           "full_train": 800}
    assert rec["params"] == 153
    if importlib.util.find_spec("matplotlib") is not None:
        assert (tmp_path / "blobs_mlp-cudnn_lite-seed3-e1-n256-quick.png").exists()


def test_reproduce_quick_torch(tmp_path):
    pytest.importorskip("cudnn_lite._C")
    if importlib.util.find_spec("torch") is None:
        pytest.skip("torch is not installed")
    _run(tmp_path, "xor_mlp", "--framework", "torch")
    rec = _record(tmp_path, "xor_mlp-torch-seed0-e1-n256-quick")
    assert rec["framework"] == "torch" and rec["params"] == 33
    assert "KerasAdam" in rec["optimizer"]


def _synthetic(model, framework, seed, acc, secs, epochs, recipe_epochs, data=None, quick=False):
    data = data or {"train": 800, "validation": 200, "test": 200, "max_train": None,
                    "full_train": 800}
    return {"model": model, "framework": framework, "seed": seed, "test_accuracy": acc,
            "test_loss": 0.5, "epochs": epochs, "recipe_epochs": recipe_epochs,
            "seconds_per_epoch": secs, "epoch_seconds": [secs] * epochs,
            "train_seconds": [secs * 0.8] * epochs,
            "validation_seconds": [secs * 0.2] * epochs, "device": "cpu",
            "threads": {"threads": 2}, "data": data, "quick": quick, "best_epoch": epochs,
            "final": {"accuracy": acc, "val_accuracy": acc},
            "command": f"python benchmarks/reproduce.py {model} --seed {seed} --framework {framework}",
            "date": "2026-01-01T00:00:00+00:00", "commit": "0123456789abcdef",
            "machine": {"cpu": {"model": "Test CPU"}, "loadavg_start": [1.0, 1.0, 1.0]}}


def test_make_results_table_synthetic(tmp_path):
    table = _load("make_results_table")
    recs = [_synthetic("blobs_mlp", fw, s, acc, secs, 1000, 1000)
            for fw, accs, secs in (("cudnn_lite", (0.84, 0.85, 0.86), 0.01),
                                   ("torch", (0.83, 0.84, 0.85), 0.02))
            for s, acc in enumerate(accs)]
    recs.append(_synthetic("blobs_mlp", "cudnn_lite", 9, 0.10, 9.0, 1, 1000, quick=True))
    recs.append(_synthetic("mnist_cnn", "cudnn_lite", 0, 0.98, 30.0, 2, 10,
                           data={"train": 54000, "validation": 6000, "test": 10000,
                                 "max_train": None, "full_train": 54000}))
    probe = {"train": 2000, "validation": 5000, "test": 10000, "max_train": 2000,
             "full_train": 45000}
    recs.append(_synthetic("cifar10_cnn", "cudnn_lite", 0, 0.3, 12.0, 1, 100, data=probe))
    recs.append(_synthetic("cifar10_cnn", "torch", 0, 0.3, 24.0, 1, 100, data=probe))
    for i, r in enumerate(recs):
        (tmp_path / f"r{i}.json").write_text(json.dumps(r))
    (tmp_path / "junk.json").write_text("{not json")
    out = tmp_path / "RESULTS.md"
    text = table.main(["--records", str(tmp_path), "--out", str(out)])
    assert out.read_text() == text
    lines = {line.split(" | ")[0].lstrip("| "): line for line in text.splitlines()
             if line.startswith("| ") and not line.startswith("| Network")}
    assert set(lines) == set(table.NETWORKS)
    blobs = lines["blobs_mlp"]
    assert "0.8500 ± 0.0100 (n=3)" in blobs and "0.8400 ± 0.0100 (n=3)" in blobs
    assert "+1.00" in blobs and "10.0 ms (fastest 10.0 ms)" in blobs and "20.0 ms" in blobs and "| 0.50 (fastest: 0.50) |" in blobs
    assert "0.1000" not in text  # the quick record is ignored
    assert "2 (recipe: 10)" in lines["mnist_cnn"] and "30.00 s (fastest 30.00 s)" in lines["mnist_cnn"]
    assert "no torch record" in text
    # probe: 9.6 s train on 2000 of 45000 + 2.4 s validation -> 218.4 s per epoch, extrapolated
    assert "not run" in lines["cifar10_cnn"] and "≈218 s (extrapolated)" in lines["cifar10_cnn"]
    assert "≈3.6 min/epoch EXTRAPOLATED" in text and "100 epochs ≈ 6.1 h" in text
    assert "not run" in lines["cifar10_improved"] and "not run" in lines["mnist_cnn_dropout"]
    assert "python benchmarks/reproduce.py blobs_mlp --seed 2 --framework torch" in text
