"""Fault injection: crashes and interrupts mid-save, hostile model files, a code-executing
CIFAR-10 batch, interrupted downloads, NaN losses, KeyboardInterrupt during fit, and
resuming from a checkpoint to bit-identical losses (CPU).

Every test here would fail without the property it names (see SECURITY.md)."""
from __future__ import annotations

import builtins
import hashlib
import io
import json
import os
import pickle
import zipfile

import numpy as np
import pytest

from cudnn_lite import backend, saving
from cudnn_lite.callbacks import Callback, ModelCheckpoint, TerminateOnNaN
from cudnn_lite.datasets import DatasetFormatError, _files, cifar10
from cudnn_lite.layers import Conv2D, Dense, Dropout, Flatten, MaxPooling2D
from cudnn_lite.models import Sequential, load_model


# the tests that build a model run on 'cpu', and on 'cuda' where usable; the data-set tests use no device
on_each_device = pytest.mark.usefixtures("on_device")


def mlp(seed=0, dropout=0.25, optimizer="adam"):
    backend.set_random_seed(seed)
    model = Sequential([Dense(16, input_dim=6, activation="relu"), Dropout(dropout),
                        Dense(3, activation="softmax")])
    model.compile(loss="categorical_crossentropy", optimizer=optimizer, metrics=["accuracy"])
    return model


def data(n=96, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 6)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[(x[:, 0] > 0).astype(int) + (x[:, 1] > 1).astype(int)]
    return x, y


def only(folder):
    return sorted(os.listdir(folder))


# ------------------------------------------------------------ atomic saves

@on_each_device
@pytest.mark.parametrize("what", ["save", "save_weights", "checkpoint"])
@pytest.mark.parametrize("fault", [KeyboardInterrupt, OSError, MemoryError])
def test_fault_mid_write_keeps_previous_file(tmp_path, monkeypatch, what, fault):
    model = mlp()
    x, y = data()
    path = tmp_path / "model.weights.best.npz"
    model.fit(x, y, epochs=1, verbose=0)
    (model.save_weights if what == "save_weights" else model.save)(path)
    before = path.read_bytes()
    model.fit(x, y, epochs=1, verbose=0)  # new weights: a successful save would change the file
    written = []

    def dies_half_way(f, arrays):
        real = io.BytesIO()
        np.savez(real, **arrays)
        f.write(real.getvalue()[: len(real.getvalue()) // 2])  # half an archive reaches the disk
        f.flush()
        written.append(only(tmp_path))  # the temporary file sits beside the destination
        raise fault("injected")

    monkeypatch.setattr(saving.npz, "_write_npz", dies_half_way)
    with pytest.raises(fault, match="injected"):
        if what == "save":
            model.save(path)
        elif what == "save_weights":
            model.save_weights(path)
        else:
            cb = ModelCheckpoint(str(path), save_best_only=False)
            model.fit(x, y, epochs=1, verbose=0, callbacks=[cb]) if fault is not KeyboardInterrupt else \
                _checkpoint_directly(cb, model)
    assert len(written[0]) == 2 and any(n.endswith(".tmp") for n in written[0])
    assert path.read_bytes() == before
    assert only(tmp_path) == [path.name]  # no temporary file left behind
    monkeypatch.undo()
    if what == "save_weights":
        model.load_weights(path)
    else:
        load_model(path)


def _checkpoint_directly(cb, model):
    # fit swallows KeyboardInterrupt (by design), so drive the callback like fit does
    cb.set_model(model)
    cb.on_epoch_end(0, {"loss": 0.5})


@on_each_device
def test_keyboard_interrupt_from_a_checkpoint_inside_fit_keeps_previous_file(tmp_path, monkeypatch):
    model = mlp()
    x, y = data()
    path = tmp_path / "ckpt.npz"
    model.fit(x, y, epochs=1, verbose=0)
    model.save(path)
    before = path.read_bytes()

    def interrupted(f, arrays):
        f.write(b"PK\x03\x04")
        raise KeyboardInterrupt

    monkeypatch.setattr(saving.npz, "_write_npz", interrupted)
    history = model.fit(x, y, epochs=2, verbose=0, callbacks=[ModelCheckpoint(str(path))])
    assert len(history.history["loss"]) == 1  # the interrupt came at the end of epoch 1
    assert model.epoch == 1 and history.epoch == [0]
    assert path.read_bytes() == before and only(tmp_path) == ["ckpt.npz"]


@on_each_device
def test_save_fsyncs_before_rename(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (events.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(os, "replace", lambda a, b: (events.append("replace"), real_replace(a, b))[1])
    mlp().save(tmp_path / "m.npz")
    assert events[:2] == ["fsync", "replace"]


# --------------------------------------------------------- hostile files

def _arrays_of(path):
    with np.load(path, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def _header_file(path, header, arrays):
    arrays = dict(arrays)
    arrays["__cudnn_lite__"] = np.frombuffer(json.dumps(header).encode(), np.uint8)
    np.savez(path, **arrays)


class _Marker:
    """Unpickling this creates a file (a harmless stand-in for running code)."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (builtins.open, (self.path, "w"))


@on_each_device
def test_pickle_bearing_npz_is_rejected_without_unpickling(tmp_path):
    good = tmp_path / "good.npz"
    model = mlp()
    model.save(good)
    arrays = _arrays_of(good)
    marker = tmp_path / "ran"
    evil = dict(arrays)
    evil["weights/0000"] = np.array([_Marker(marker)], dtype=object)
    bad = tmp_path / "evil.npz"
    np.savez(bad, **evil)  # the object array is pickled inside the archive
    with np.load(bad, allow_pickle=True) as f:  # proof the payload is live under pickle
        f["weights/0000"]
    assert marker.exists()
    marker.unlink()
    for load in (load_model, model.load_weights):
        with pytest.raises(ValueError, match="not a readable cudnn_lite file"):
            load(bad)
        assert not marker.exists()


@on_each_device
def test_malformed_headers_raise_value_error(tmp_path):
    good = tmp_path / "good.npz"
    model = mlp()
    model.fit(*data(), epochs=1, verbose=0)
    model.save(good)
    arrays = _arrays_of(good)
    header = json.loads(arrays.pop("__cudnn_lite__").tobytes())
    cases = {
        "list_header": [1, 2],
        "weights_not_dicts": {**header, "weights": ["x"] * len(header["weights"])},
        "model_is_string": {**header, "model": "Sequential"},
        "unknown layer": {**header, "model": {"class_name": "Sequential", "config": {
            "layers": [{"class_name": "os.system", "config": {}}]}}},
        "compile_without_loss": {**header, "compile": {"metrics": []}},
        "slots_not_lists": {**header, "optimizer": {**header["optimizer"], "slots": 5}},
        "bad_training_state": {**header, "training": {"epoch": -3}},
        "bad_rng_state": {**header, "training": {**header["training"], "rng": {"bit_generator": "PCG64"}}},
        "bad_dropout_state": {**header, "training": {**header["training"], "layers": {
            model.layers[1].name: {"seed": "x", "offset": 0}}}},
        "missing_weight_array": header,
    }
    for name, h in cases.items():
        p = tmp_path / f"{name.replace(' ', '_')}.npz"
        a = dict(arrays)
        if name == "missing_weight_array":
            del a["weights/0001"]
        _header_file(p, h, a)
        with pytest.raises(ValueError, match=name):
            load_model(p)
    unbuilt = Sequential([Dense(16, activation="relu"), Dropout(0.25), Dense(3)])
    with pytest.raises(ValueError, match="model_is_string"):
        unbuilt.load_weights(tmp_path / "model_is_string.npz")


@on_each_device
def test_every_truncation_of_a_model_file_raises_value_error(tmp_path):
    good = tmp_path / "good.npz"
    mlp().save(good)
    blob = good.read_bytes()
    bad = tmp_path / "cut.npz"
    cuts = sorted(set(list(range(0, len(blob), max(len(blob) // 40, 1))) + [len(blob) - 1, len(blob) - 22]))
    for cut in cuts:
        bad.write_bytes(blob[:cut])
        with pytest.raises(ValueError):
            load_model(bad)
    assert len(cuts) >= 40


@on_each_device
def test_every_corrupted_byte_region_is_detected_or_harmless(tmp_path):
    # A flipped byte either raises ValueError (CRC, zip structure, header) or loads a model
    # whose weights equal the original (the byte was in unused zip padding/metadata).
    good = tmp_path / "good.npz"
    model = mlp()
    model.save(good)
    ref = [w.copy() for w in model.get_weights()]
    blob = good.read_bytes()
    bad = tmp_path / "flip.npz"
    rng = np.random.default_rng(0)
    for pos in rng.choice(len(blob), size=60, replace=False):
        damaged = bytearray(blob)
        damaged[pos] ^= 0xFF
        bad.write_bytes(bytes(damaged))
        try:
            loaded = load_model(bad)
        except ValueError:
            continue
        for a, b in zip(loaded.get_weights(), ref):
            np.testing.assert_array_equal(a, b)


@on_each_device
def test_zip_members_outside_the_format_are_ignored_not_executed(tmp_path):
    good = tmp_path / "good.npz"
    mlp().save(good)
    with zipfile.ZipFile(good, "a") as z:
        z.writestr("../../escape.npy", b"junk")
    with pytest.raises(ValueError):
        load_model(good)
    assert not (tmp_path.parent.parent / "escape.npy").exists()


# ------------------------------------------------------------------ CIFAR

def test_crafted_cifar_batch_runs_code_under_pickle_but_not_under_our_loader(tmp_path, monkeypatch):
    monkeypatch.delenv("CUDNN_LITE_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        with open(folder / name, "wb") as f:
            pickle.dump({b"data": rng.integers(0, 256, (2, 3072), dtype=np.uint8), b"labels": [0, 1]}, f)
    marker = tmp_path / "code_ran"
    crafted = pickle.dumps({b"data": _Marker(marker), b"labels": [0, 1]}, protocol=2)
    (folder / "data_batch_2").write_bytes(crafted)
    pickle.loads(crafted)  # plain pickle runs it: the file is created
    assert marker.exists()
    marker.unlink()
    with pytest.raises(DatasetFormatError, match="refusing to load global"):
        cifar10.load_data(path=str(folder), download=False)
    with pytest.raises(DatasetFormatError, match="refusing"):
        cifar10.load_batch(str(folder / "data_batch_2"))
    assert not marker.exists()


# -------------------------------------------------------------- downloads

def test_interrupted_download_leaves_cache_untouched(tmp_path, monkeypatch):
    dest = tmp_path / "cache" / "file.bin"
    dest.parent.mkdir()
    dest.write_bytes(b"previous good copy")

    def dies(url, f, timeout=60):
        f.write(b"half of the file")
        raise KeyboardInterrupt

    monkeypatch.setattr(_files, "fetch_url", dies)
    with pytest.raises(KeyboardInterrupt):
        _files.download("https://example.invalid/file.bin", str(dest), sha256="0" * 64)
    assert dest.read_bytes() == b"previous good copy"
    assert only(dest.parent) == ["file.bin"]


def test_download_verified_by_sha256_before_it_is_visible(tmp_path, monkeypatch):
    payload = b"the official bytes"
    seen_at_verify = []
    dest = tmp_path / "f.bin"
    monkeypatch.setattr(_files, "fetch_url", lambda url, f, timeout=60: f.write(payload))
    _files.download("https://example.invalid/f", str(dest), sha256=hashlib.sha256(payload).hexdigest(),
                    verify=lambda tmp: seen_at_verify.append(dest.exists()))
    assert seen_at_verify == [False] and dest.read_bytes() == payload
    monkeypatch.setattr(_files, "fetch_url", lambda url, f, timeout=60: f.write(b"tampered"))
    with pytest.raises(_files.ChecksumError):
        _files.download("https://example.invalid/f", str(dest), sha256=hashlib.sha256(payload).hexdigest())
    assert dest.read_bytes() == payload and only(tmp_path) == ["f.bin"]


# --------------------------------------------------------- training faults

@on_each_device
def test_terminate_on_nan_stops_a_diverging_model(capsys):
    backend.set_random_seed(0)
    model = Sequential([Dense(8, input_dim=6, activation="relu"), Dense(1)])
    from cudnn_lite.optimizers import SGD
    model.compile(loss="mse", optimizer=SGD(learning_rate=1e6))
    x, _ = data()
    y = (x.sum(axis=1, keepdims=True) * 1e3).astype(np.float32)
    guard = TerminateOnNaN(device_check_every=1)  # a device loss is read every batch, as a host one is
    history = model.fit(x, y, batch_size=8, epochs=20, verbose=0, callbacks=[guard])
    err = capsys.readouterr().err
    assert guard.terminated_at is not None
    assert "Invalid loss" in err and "terminating training" in err
    assert len(history.history["loss"]) == 1  # stopped inside the first epoch, after the bad batch
    assert guard.terminated_at[1].startswith("Batch")
    # without the guard the same run goes on to the end with a non-finite loss
    backend.set_random_seed(0)
    model = Sequential([Dense(8, input_dim=6, activation="relu"), Dense(1)])
    model.compile(loss="mse", optimizer=SGD(learning_rate=1e6))
    history = model.fit(x, y, batch_size=8, epochs=3, verbose=0)
    assert len(history.history["loss"]) == 3 and not np.isfinite(history.history["loss"][-1])


class _InterruptAt(Callback):
    def __init__(self, epoch, batch):
        super().__init__()
        self.at, self.epoch = (epoch, batch), 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if (self.epoch, batch) == self.at:
            raise KeyboardInterrupt


@on_each_device
def test_keyboard_interrupt_returns_history_and_leaves_model_usable(capsys):
    model = mlp()
    x, y = data()
    ended = []

    class End(Callback):
        def on_train_end(self, logs=None):
            ended.append(True)

    history = model.fit(x, y, batch_size=16, epochs=5, verbose=0, callbacks=[_InterruptAt(2, 3), End()])
    assert len(history.history["loss"]) == 2  # two complete epochs recorded
    assert model.history is history and model.epoch == 2 and ended == [True]
    assert "interrupted (KeyboardInterrupt)" in capsys.readouterr().err
    assert all(np.isfinite(w).all() for w in model.get_weights())
    p = model.predict(x)
    assert p.shape == (96, 3) and np.isfinite(p).all()
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-5)
    more = model.fit(x, y, batch_size=16, epochs=4, initial_epoch=model.epoch, verbose=0)
    assert len(more.history["loss"]) == 2 and model.epoch == 4


@on_each_device
def test_non_finite_training_data_is_rejected_by_name():
    model = mlp()
    x, y = data()
    bad_x = x.copy()
    bad_x[3, 2] = np.nan
    with pytest.raises(ValueError, match="^x: holds 1 NaN"):
        model.fit(bad_x, y, epochs=1, verbose=0)
    bad_y = y.copy()
    bad_y[0, 0] = np.inf
    with pytest.raises(ValueError, match="^y: holds 1 NaN or infinite"):
        model.fit(x, bad_y, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="^validation_data x"):
        model.fit(x, y, epochs=1, verbose=0, validation_data=(bad_x, y))
    with pytest.raises(ValueError, match="^x: holds"):
        model.evaluate(bad_x, y, verbose=0)
    # predict propagates NaN (documented in SECURITY.md), to the bad row only
    backend.set_random_seed(0)
    tanh_model = Sequential([Dense(16, input_dim=6, activation="tanh"), Dense(3, activation="softmax")])
    p = tanh_model.predict(bad_x)
    assert np.isnan(p[3]).all() and np.isfinite(np.delete(p, 3, axis=0)).all()


def _sgd_nesterov():
    from cudnn_lite.optimizers import SGD
    return SGD(learning_rate=0.05, momentum=0.9, nesterov=True)


@on_each_device
@pytest.mark.parametrize("make_optimizer", [lambda: "adam", _sgd_nesterov, lambda: "rmsprop", lambda: "nadam"],
                         ids=["adam", "sgd_nesterov", "rmsprop", "nadam"])
def test_resume_from_checkpoint_is_bit_identical(tmp_path, make_optimizer):
    x, y = data(n=100)
    kw = dict(batch_size=16, verbose=0, shuffle=True)

    # uninterrupted: 3 epochs straight
    straight = mlp(seed=7, optimizer=make_optimizer())
    losses_straight = straight.fit(x, y, epochs=3, **kw).history["loss"]

    # 1 epoch and a checkpoint, then a "fresh process": every generator reseeded differently
    first = mlp(seed=7, optimizer=make_optimizer())
    path = tmp_path / "ckpt.npz"
    losses_first = first.fit(x, y, epochs=1, callbacks=[ModelCheckpoint(str(path))], **kw).history["loss"]
    del first
    backend.set_random_seed(12345)
    backend.rng().standard_normal(1000)
    resumed = load_model(path)
    assert resumed.epoch == 1
    losses_rest = resumed.fit(x, y, epochs=3, initial_epoch=resumed.epoch, **kw).history["loss"]

    assert losses_first + losses_rest == losses_straight  # exact float equality, per epoch
    for a, b in zip(resumed.get_weights(), straight.get_weights()):
        assert np.array_equal(a, b)


@on_each_device
def test_resume_without_the_training_state_differs(tmp_path):
    # the saved RNG/dropout state is what makes resuming exact: drop it and the losses change
    x, y = data(n=100)
    straight = mlp(seed=7)
    losses = straight.fit(x, y, epochs=2, batch_size=16, verbose=0).history["loss"]
    first = mlp(seed=7)
    first.fit(x, y, epochs=1, batch_size=16, verbose=0)
    path = tmp_path / "ckpt.npz"
    first.save(path)
    arrays = _arrays_of(path)
    header = json.loads(arrays.pop("__cudnn_lite__").tobytes())
    del header["training"]
    _header_file(tmp_path / "old.npz", header, arrays)
    backend.set_random_seed(99)
    resumed = load_model(tmp_path / "old.npz")
    assert resumed.epoch == 0
    rest = resumed.fit(x, y, epochs=2, initial_epoch=1, batch_size=16, verbose=0).history["loss"]
    assert rest[0] != losses[1]
