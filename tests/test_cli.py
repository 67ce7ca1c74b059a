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


def test_evaluate_the_checkpoint_train_wrote(tmp_path, capsys):
    """`evaluate` reproduces the test figures `train` printed, from the best checkpoint alone."""
    import json
    assert cli.main(["train", "blobs-mlp", "--epochs", "5", "--out", str(tmp_path),
                     "--verbose", "0"]) == 0
    trained = json.loads((tmp_path / "blobs_mlp.history.json").read_text())
    capsys.readouterr()
    ckpt = str(tmp_path / "blobs_mlp.best.weights.npz")
    assert cli.main(["evaluate", "blobs_mlp", ckpt, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["test_samples"] == 200
    assert result["test_accuracy"] == pytest.approx(trained["test_accuracy"], abs=1e-6)
    assert result["test_loss"] == pytest.approx(trained["test_loss"], rel=1e-5)
    cm = result["confusion_matrix"]
    assert len(cm) == 3 and sum(map(sum, cm)) == 200
    assert sum(cm[i][i] for i in range(3)) / 200 == pytest.approx(result["test_accuracy"])
    assert 0 < result["f1"] <= 1
    assert cli.main(["evaluate", "blobs-mlp", ckpt]) == 0
    out = capsys.readouterr().out
    assert f"test accuracy: {trained['test_accuracy']:.4f}" in out and "confusion matrix" in out


def test_evaluate_bad_weights_are_clear_errors(tmp_path, capsys):
    assert cli.main(["evaluate", "blobs-mlp", str(tmp_path / "missing.npz")]) == 1
    assert "no such file" in capsys.readouterr().err
    assert cli.main(["train", "xor-mlp", "--epochs", "2", "--out", str(tmp_path),
                     "--verbose", "0"]) == 0
    capsys.readouterr()
    # the XOR net's weights do not fit the blobs net: a ValueError naming the file, exit 1
    rc = cli.main(["evaluate", "blobs-mlp", str(tmp_path / "xor_mlp.best.weights.npz")])
    assert rc == 1
    err = capsys.readouterr().err
    assert "cudnn-lite evaluate: error:" in err and "xor_mlp.best.weights.npz" in err
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a weights file at all")
    assert cli.main(["evaluate", "blobs-mlp", str(garbage)]) == 1
    assert "garbage.npz" in capsys.readouterr().err


def test_a_closed_pipe_is_a_quiet_exit(monkeypatch, capsys):
    """`cudnn-lite evaluate ... | head -3`: the reader goes away; exit 141, no traceback."""
    def closed(*a, **kw):
        raise BrokenPipeError(32, "Broken pipe")
    monkeypatch.setattr(cli, "_cmd_list", closed)
    assert cli.main(["list"]) == 141
    assert "Traceback" not in capsys.readouterr().err

