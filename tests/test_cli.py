"""The cudnn-lite command: list, info, summary, argument errors; `python -m cudnn_lite`."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from cudnn_lite import cli


def test_list(capsys):
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    for name in ("perceptron", "mnist-cnn", "cifar10-improved"):
        assert name in out
    assert "220,234 params" in out


def test_info(capsys):
    assert cli.main(["info"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("cudnn_lite ")
    assert "devices: cpu" in out and "threads: " in out


def test_summary_mnist_cnn(capsys):
    assert cli.main(["summary", "mnist-cnn"]) == 0
    out = capsys.readouterr().out
    assert "Total params: 220,234" in out
    assert "(None, 14, 14, 64)" in out


def test_unknown_model_is_a_clear_usage_error(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["summary", "resnet50"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "unknown model 'resnet50'" in err and "mnist_cnn" in err


def test_bad_options(capsys):
    with pytest.raises(SystemExit):
        cli.main(["train", "mnist-cnn", "--epochs", "0"])
    assert "positive integer" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["train", "mnist-cnn", "--device", "tpu"])
    with pytest.raises(SystemExit):
        cli.main([])


def test_train_missing_data_is_a_clear_error(tmp_path, monkeypatch, capsys):
    from cudnn_lite.datasets import _files
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("CUDNN_LITE_DATA", raising=False)

    def offline(url, f, timeout=60):
        raise OSError("offline")
    monkeypatch.setattr(_files, "fetch_url", offline)
    rc = cli.main(["train", "mnist-mlp", "--epochs", "1", "--data", str(tmp_path / "none"),
                   "--out", str(tmp_path / "out")])
    assert rc == 1
    err = capsys.readouterr().err
    assert "MNIST not found" in err and "CUDNN_LITE_DATA" in err


def test_train_xor_through_cli(tmp_path, capsys):
    rc = cli.main(["train", "xor_mlp", "--epochs", "300", "--out", str(tmp_path), "--verbose", "0"])
    assert rc == 0
    assert "test accuracy: 1.0000" in capsys.readouterr().out
    assert os.path.exists(tmp_path / "xor_mlp.history.json")


def test_python_dash_m():
    r = subprocess.run([sys.executable, "-m", "cudnn_lite", "list"], capture_output=True,
                       text=True, timeout=120, cwd=os.path.dirname(os.path.abspath(__file__)))
    assert r.returncode == 0, r.stderr
    assert "mnist-cnn" in r.stdout
