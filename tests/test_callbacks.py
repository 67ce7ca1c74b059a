"""EarlyStopping, ModelCheckpoint, History, TerminateOnNaN, CSVLogger and
LearningCurve behave as Keras documents, driven by hand with a fake model."""
from __future__ import annotations

import json
import math
import os

import numpy as np
import pytest

from cudnn_lite import callbacks


class FakeModel:
    def __init__(self):
        self.stop_training = False
        self.weights = [np.zeros(2)]
        self.saved = []

    def get_weights(self):
        return [w.copy() for w in self.weights]

    def set_weights(self, ws):
        self.weights = [np.array(w) for w in ws]

    def save_weights(self, path):
        self.saved.append(("weights", path))
        with open(path, "w") as f:
            json.dump([w.tolist() for w in self.weights], f)

    def save(self, path):
        self.saved.append(("model", path))
        with open(path, "w") as f:
            f.write("model")


def run(cb, values, key="val_loss", model=None, extra=None):
    """Drive a callback like fit does; epoch i sets the weights to [i, i].
    Returns (model, number of epochs run)."""
    model = model or FakeModel()
    cb.set_model(model)
    cb.set_params({"epochs": len(values), "verbose": 0})
    cb.on_train_begin()
    ran = 0
    for epoch, v in enumerate(values):
        cb.on_epoch_begin(epoch)
        model.weights = [np.full(2, float(epoch))]
        logs = {key: v, **(extra or {})}
        cb.on_epoch_end(epoch, logs)
        ran += 1
        if model.stop_training:
            break
    cb.on_train_end()
    return model, ran


def test_history():
    h = callbacks.History()
    model, _ = run(h, [3.0, 2.0], extra={"loss": np.float32(1.5)})
    assert h.epoch == [0, 1]
    assert h.history == {"val_loss": [3.0, 2.0], "loss": [1.5, 1.5]}
    assert isinstance(h.history["loss"][0], float)
    assert model.history is h


def test_early_stopping_patience():
    es = callbacks.EarlyStopping(monitor="val_loss", patience=2)
    model, ran = run(es, [1.0, 0.9, 0.95, 0.92, 0.5, 0.4])
    assert ran == 4 and model.stop_training  # two epochs without improvement after epoch 1
    assert es.stopped_epoch == 3 and es.best == 0.9 and es.best_epoch == 1


def test_early_stopping_patience_zero_stops_at_first_non_improvement():
    _, ran = run(callbacks.EarlyStopping(patience=0), [1.0, 0.8, 0.9, 0.1])
    assert ran == 3


def test_early_stopping_min_delta():
    # improvements smaller than min_delta do not count
    es = callbacks.EarlyStopping(monitor="val_loss", min_delta=0.1, patience=1)
    _, ran = run(es, [1.0, 0.95, 0.92, 0.5])
    assert ran == 2 and es.best == 1.0


def test_early_stopping_mode_max_and_auto_for_accuracy():
    es = callbacks.EarlyStopping(monitor="val_accuracy", patience=1)  # auto -> max
    _, ran = run(es, [0.5, 0.6, 0.55, 0.9], key="val_accuracy")
    assert ran == 3 and es.best == 0.6
    es = callbacks.EarlyStopping(monitor="val_loss", mode="max", patience=1)
    _, ran = run(es, [1.0, 2.0, 1.5])
    assert ran == 3 and es.best == 2.0
    with pytest.raises(ValueError, match="mode='max'"):
        run(callbacks.EarlyStopping(monitor="something"), [1.0], key="something")


def test_early_stopping_restore_best_weights():
    es = callbacks.EarlyStopping(patience=2, restore_best_weights=True)
    model, ran = run(es, [1.0, 0.5, 0.7, 0.8, 0.1])
    assert ran == 4
    np.testing.assert_array_equal(model.weights[0], [1.0, 1.0])  # epoch 1's weights
    # also restored when training runs to its end without stopping
    es = callbacks.EarlyStopping(patience=10, restore_best_weights=True)
    model, ran = run(es, [1.0, 0.2, 0.7])
    assert ran == 3
    np.testing.assert_array_equal(model.weights[0], [1.0, 1.0])


def test_early_stopping_baseline_and_start_from_epoch():
    # baseline 0.5 not beaten: the first epoch does not reset the wait (Keras 3 rule)
    es = callbacks.EarlyStopping(patience=2, baseline=0.5)
    _, ran = run(es, [0.9, 0.95, 0.97, 0.6])
    assert ran == 2
    _, ran = run(callbacks.EarlyStopping(patience=2), [0.9, 0.95, 0.97, 0.6])
    assert ran == 3
    # epochs before start_from_epoch are ignored
    es = callbacks.EarlyStopping(patience=0, start_from_epoch=3)
    _, ran = run(es, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    assert ran == 5


def test_early_stopping_missing_metric_warns():
    with pytest.warns(UserWarning, match="not available"):
        _, ran = run(callbacks.EarlyStopping(monitor="val_loss"), [1.0, 1.0], key="loss")
    assert ran == 2


def test_checkpoint_save_best_only(tmp_path, capsys):
    path = str(tmp_path / "model.weights.best.hdf5")
    cp = callbacks.ModelCheckpoint(path, verbose=1, save_best_only=True, save_weights_only=True)
    model, _ = run(cp, [1.24128, 1.3, 0.9831])
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"Epoch 1: val_loss improved from inf to 1.24128, saving model to {path}"
    assert out[1] == "Epoch 2: val_loss did not improve from 1.24128"
    assert out[2] == f"Epoch 3: val_loss improved from 1.24128 to 0.98310, saving model to {path}"
    assert [kind for kind, _ in model.saved] == ["weights", "weights"]
    with open(path) as f:
        assert json.load(f) == [[2.0, 2.0]]  # the best epoch's weights


def test_checkpoint_filename_fields_and_full_model(tmp_path):
    pattern = str(tmp_path / "sub" / "w.{epoch:02d}-{val_loss:.2f}.ckpt")
    cp = callbacks.ModelCheckpoint(pattern)
    model, _ = run(cp, [0.51234, 0.4])
    assert [os.path.basename(p) for _, p in model.saved] == ["w.01-0.51.ckpt", "w.02-0.40.ckpt"]
    assert all(kind == "model" for kind, _ in model.saved)  # save_weights_only=False -> save()
    bad = callbacks.ModelCheckpoint(str(tmp_path / "{nope}.x"))
    with pytest.raises(KeyError, match="nope"):
        run(bad, [1.0])


def test_checkpoint_mode_and_accuracy_monitor(tmp_path, capsys):
    cp = callbacks.ModelCheckpoint(str(tmp_path / "a"), monitor="val_accuracy", verbose=1,
                                   save_best_only=True)
    model, _ = run(cp, [0.5, 0.4, 0.7], key="val_accuracy")
    assert len(model.saved) == 2
    assert "improved from -inf to 0.50000" in capsys.readouterr().out
    with pytest.warns(UserWarning, match="skipping"):
        run(callbacks.ModelCheckpoint(str(tmp_path / "b"), save_best_only=True), [1.0], key="loss")
    with pytest.raises(ValueError, match="save_freq"):
        callbacks.ModelCheckpoint("x", save_freq="batch")


def test_checkpoint_save_freq_batches(tmp_path):
    cp = callbacks.ModelCheckpoint(str(tmp_path / "b{epoch}-{batch}"), save_freq=2)
    model = FakeModel()
    cp.set_model(model)
    cp.on_train_begin()
    cp.on_epoch_begin(0)
    for b in range(5):
        cp.on_train_batch_end(b, {"loss": 1.0})
    cp.on_epoch_end(0, {"loss": 1.0})
    assert [os.path.basename(p) for _, p in model.saved] == ["b1-2", "b1-4"]


def test_terminate_on_nan(capsys):
    t = callbacks.TerminateOnNaN()
    model = FakeModel()
    t.set_model(model)
    t.on_train_begin()
    t.on_epoch_begin(0)
    t.on_train_batch_end(0, {"loss": 0.5})
    assert not model.stop_training
    t.on_train_batch_end(1, {"loss": float("nan")})
    assert model.stop_training
    assert "Invalid loss" in capsys.readouterr().err
    t2 = callbacks.TerminateOnNaN()
    m2 = FakeModel()
    t2.set_model(m2)
    t2.on_train_batch_end(0, {"loss": np.float32(np.inf)})
    assert m2.stop_training


class FakeDeviceScalar:
    """Stands in for a CuPy 0-d array: has __cuda_array_interface__, counts host reads."""
    reads = 0

    def __init__(self, value):
        self.value = value
        self.__cuda_array_interface__ = {"shape": (), "typestr": "<f8", "data": (0, True), "version": 3}

    def __float__(self):
        FakeDeviceScalar.reads += 1
        return float(self.value)


def test_terminate_on_nan_reads_device_losses_only_every_n_batches(capsys):
    t = callbacks.TerminateOnNaN(device_check_every=4)
    model = FakeModel()
    t.set_model(model)
    t.on_train_begin()
    t.on_epoch_begin(0)
    FakeDeviceScalar.reads = 0
    for b in range(3):
        t.on_train_batch_end(b, {"loss": FakeDeviceScalar(0.5)})
    assert FakeDeviceScalar.reads == 0  # no device->host read (no stall) for batches 0..2
    t.on_train_batch_end(3, {"loss": FakeDeviceScalar(0.5)})
    assert FakeDeviceScalar.reads == 1 and not model.stop_training
    # the running mean carries a NaN of batch 5 until the check at batch 7
    for b in range(4, 7):
        t.on_train_batch_end(b, {"loss": FakeDeviceScalar(float("nan") if b >= 5 else 0.5)})
    assert not model.stop_training and FakeDeviceScalar.reads == 1
    t.on_train_batch_end(7, {"loss": FakeDeviceScalar(float("nan"))})
    assert model.stop_training and t.terminated_at == (0, "Batch 7")
    assert "Invalid loss" in capsys.readouterr().err
    # the epoch end always checks (a NaN in the last batches is not missed)
    t2 = callbacks.TerminateOnNaN(device_check_every=100)
    m2 = FakeModel()
    t2.set_model(m2)
    t2.on_epoch_begin(0)
    t2.on_train_batch_end(0, {"loss": FakeDeviceScalar(float("inf"))})
    assert not m2.stop_training
    t2.on_epoch_end(0, {"loss": FakeDeviceScalar(float("inf"))})
    assert m2.stop_training
    for bad in (0, -1, 1.5, True, "3"):
        with pytest.raises(ValueError, match="device_check_every"):
            callbacks.TerminateOnNaN(device_check_every=bad)


def test_csv_logger(tmp_path):
    path = tmp_path / "log.csv"
    run(callbacks.CSVLogger(str(path)), [1.0, 0.5], extra={"loss": 2.0})
    lines = path.read_text().splitlines()
    assert lines[0] == "epoch,loss,val_loss"
    assert lines[1] == "0,2.0,1.0" and lines[2] == "1,2.0,0.5"


def test_learning_curve(tmp_path):
    lc = callbacks.LearningCurve(str(tmp_path / "curve.png"))
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        with pytest.warns(UserWarning, match="matplotlib"):
            run(lc, [1.0, 0.5], extra={"loss": 1.0, "accuracy": 0.5, "val_accuracy": 0.6})
        assert not lc.written
        return
    run(lc, [1.0, 0.5], extra={"loss": 1.0, "accuracy": 0.5, "val_accuracy": 0.6})
    assert lc.written
    with open(tmp_path / "curve.png", "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_plot_history_errors(tmp_path):
    from cudnn_lite import plotting
    with pytest.raises(TypeError):
        plotting.plot_history([1, 2], str(tmp_path / "x.png"))
    with pytest.raises(ValueError, match="no values"):
        plotting.plot_history({}, str(tmp_path / "x.png"))


def test_callback_list_calls_in_order():
    seen = []

    class Rec(callbacks.Callback):
        def __init__(self, tag):
            super().__init__()
            self.tag = tag

        def on_epoch_end(self, epoch, logs=None):
            seen.append((self.tag, epoch))
    cl = callbacks.CallbackList([Rec("a"), Rec("b")], model=FakeModel(), params={"epochs": 1})
    cl.on_train_begin()
    cl.on_epoch_end(0, {})
    assert seen == [("a", 0), ("b", 0)]
    assert not math.isnan(0.0)
