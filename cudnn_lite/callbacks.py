"""Training callbacks with Keras's names, arguments and behaviour.

The model calls, in order: ``set_model``, ``set_params``, ``on_train_begin``,
then per epoch ``on_epoch_begin``, per batch ``on_train_batch_begin`` /
``on_train_batch_end`` (logs: ``loss`` and metrics of the batch), then
``on_epoch_end`` (logs: epoch averages and ``val_*``), finally
``on_train_end``. A callback stops training by setting
``model.stop_training = True``. ``Sequential.fit`` returns its
:class:`History`. Keras 2's batch hooks ``on_batch_begin``/``on_batch_end`` are what the
default ``on_train_batch_*`` call, so a Keras 2 callback that overrides them runs unchanged.
"""
from __future__ import annotations

import csv
import math
import os
import sys
import warnings

import numpy as np

from . import backend, plotting, unsupported

__all__ = ["Callback", "CallbackList", "History", "EarlyStopping", "ModelCheckpoint",
           "TerminateOnNaN", "LearningCurve", "CSVLogger", "LearningRateScheduler", "ReduceLROnPlateau",
           "LambdaCallback"]


class Callback:
    """Base class: every hook is a no-op. ``model`` and ``params`` are set by fit.

    ``writes_files``: a callback that writes files (checkpoints, logs, plots) runs on rank 0
    only in a data-parallel fit (cudnn_lite.distribute); the others run on every rank.
    """

    writes_files = False

    def __init__(self):
        self.model = None
        self.params = {}

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = dict(params or {})

    def on_train_begin(self, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_train_batch_begin(self, batch, logs=None):
        self.on_batch_begin(batch, logs)  # Keras 2's hook, as Keras calls it

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs)

    # Keras 2 spelling of the batch hooks (called by the default on_train_batch_*)
    def on_batch_begin(self, batch, logs=None):
        pass

    def on_batch_end(self, batch, logs=None):
        pass


class CallbackList:
    """Calls a hook on each callback in order (a convenience for the training loop)."""

    def __init__(self, callbacks=None, model=None, params=None):
        self.callbacks = list(callbacks or [])
        for cb in self.callbacks:
            if not isinstance(cb, Callback) and not hasattr(cb, "on_epoch_end"):
                raise TypeError(f"callbacks: expected Callback instances, got {type(cb).__name__}")
        if model is not None:
            self.set_model(model)
        if params is not None:
            self.set_params(params)

    def __iter__(self):
        return iter(self.callbacks)

    def append(self, cb):
        self.callbacks.append(cb)

    def set_model(self, model):
        for cb in self.callbacks:
            cb.set_model(model)

    def set_params(self, params):
        for cb in self.callbacks:
            cb.set_params(params)

    def __getattr__(self, hook):
        if not hook.startswith("on_"):
            raise AttributeError(hook)

        def call(*args, **kwargs):
            for cb in self.callbacks:
                getattr(cb, hook)(*args, **kwargs)
        return call


class History(Callback):
    """Records the epoch logs: ``history[key]`` is a list with one value per epoch."""

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(_scalar(v))
        if self.model is not None:
            try:
                self.model.history = self
            except AttributeError:
                pass


def _scalar(v):
    """Python float for NumPy scalars and 0-d device arrays (keeps other values as they are)."""
    try:
        return float(v)
    except (TypeError, ValueError):
        return v


_MAX_WORDS = ("acc", "auc", "precision", "recall", "f1", "fmeasure")


def _monitor_op(monitor, mode, who):
    """np.less or np.greater for the monitored quantity (Keras's 'auto' rules)."""
    if mode == "min":
        return np.less
    if mode == "max":
        return np.greater
    name = monitor[4:] if monitor.startswith("val_") else monitor
    if name == "loss" or "loss" in name or name in ("mse", "mae") or "error" in name:
        return np.less
    if any(w in name for w in _MAX_WORDS):
        return np.greater
    raise ValueError(
        f"{who} callback received monitor={monitor!r} but cannot tell whether that metric "
        f"should be maximized or minimized. Pass mode='max' in order to use the highest value, "
        f"or mode='min' in order to use the lowest value.")


def _check_mode(mode, who):
    if mode not in ("auto", "min", "max"):
        warnings.warn(f"{who} mode {mode!r} is unknown, fallback to auto mode.", stacklevel=3)
        return "auto"
    return mode


class EarlyStopping(Callback):
    """Stop training when a monitored quantity has stopped improving (Keras semantics).

    An epoch improves when ``current - min_delta`` beats the best so far
    (``min_delta`` is subtracted for 'max' and added for 'min' mode). After
    ``patience`` epochs without improvement, ``model.stop_training`` is set.
    With ``baseline``, the wait counter only resets on epochs that also beat
    the baseline. ``restore_best_weights`` puts back the best epoch's weights
    at the end of training (also when training ran to its last epoch).
    Epochs before ``start_from_epoch`` are ignored (warm-up).
    """

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        super().__init__()
        self.monitor = monitor
        self.patience = int(patience)
        self.verbose = verbose
        self.baseline = baseline
        self.min_delta = abs(min_delta)
        self.wait = 0
        self.stopped_epoch = 0
        self.restore_best_weights = restore_best_weights
        self.best_weights = None
        self.start_from_epoch = int(start_from_epoch)
        self.mode = _check_mode(mode, "EarlyStopping")
        self.monitor_op = None
        self.best = None
        self.best_epoch = 0

    def _set_monitor_op(self):
        self.monitor_op = _monitor_op(self.monitor, self.mode, "EarlyStopping")
        if self.monitor_op is np.less:
            self.min_delta = -abs(self.min_delta)
        else:
            self.min_delta = abs(self.min_delta)

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        current = self.get_monitor_value(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            # the first epoch's weights, so there is always something to restore
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print(f"Restoring model weights from the end of the best epoch: "
                      f"{self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)

    def get_monitor_value(self, logs):
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is None:
            warnings.warn(f"Early stopping conditioned on metric `{self.monitor}` which is not "
                          f"available. Available metrics are: {','.join(logs)}", stacklevel=3)
            return None
        return _scalar(value)

    def _is_improvement(self, value, reference):
        if reference is None:
            return True
        return bool(self.monitor_op(value - self.min_delta, reference))


class ModelCheckpoint(Callback):
    """Save the model (or its weights) after each epoch, or every ``save_freq`` batches.

    ``filepath`` may hold ``str.format`` fields filled from ``epoch`` (1-based)
    and the epoch logs, e.g. ``'weights.{epoch:02d}-{val_loss:.2f}.npz'``.
    With ``save_best_only`` the file is written only when ``monitor``
    improves on the best value so far. ``save_weights_only`` calls
    ``model.save_weights(path)``, otherwise ``model.save(path)``; the name picks the format
    (:mod:`cudnn_lite.saving`): the book's ``'model.weights.best.hdf5'`` is Keras 2's HDF5,
    ``.keras`` and ``.weights.h5`` Keras 3's, anything else cudnn_lite's ``.npz``, the only one
    that holds what resuming needs.
    """

    writes_files = True

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch",
                 initial_value_threshold=None):
        super().__init__()
        self.filepath = os.fspath(filepath)
        self.monitor = monitor
        self.verbose = verbose
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.save_freq = save_freq
        if save_freq != "epoch" and (isinstance(save_freq, bool) or not isinstance(save_freq, int)
                                     or save_freq < 1):
            raise ValueError(f"Unrecognized save_freq: {save_freq!r}. Expected save_freq are "
                             f"'epoch' or a positive integer")
        self.mode = _check_mode(mode, "ModelCheckpoint")
        if self.mode == "min":
            self.monitor_op = np.less
        elif self.mode == "max":
            self.monitor_op = np.greater
        elif "acc" in monitor or monitor.startswith("fmeasure"):
            self.monitor_op = np.greater
        else:
            self.monitor_op = np.less
        if initial_value_threshold is not None:
            self.best = float(initial_value_threshold)
        else:
            self.best = np.inf if self.monitor_op is np.less else -np.inf
        self._current_epoch = 0
        self._batches_seen = 0
        self.last_saved = None  # path of the last file written

    def on_train_begin(self, logs=None):
        self._batches_seen = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        self._batches_seen += 1
        if self._batches_seen >= self.save_freq:
            self._batches_seen = 0
            self._save_model(self._current_epoch, batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save_model(epoch, None, logs)

    def _get_file_path(self, epoch, batch, logs):
        fields = {k: _scalar(v) for k, v in (logs or {}).items()}
        try:
            if batch is None or "batch" in fields:
                return self.filepath.format(epoch=epoch + 1, **fields)
            return self.filepath.format(epoch=epoch + 1, batch=batch + 1, **fields)
        except KeyError as e:
            raise KeyError(f"ModelCheckpoint: failed to format filepath {self.filepath!r}: "
                           f"no log named {e.args[0]!r}; available: epoch, "
                           f"{', '.join(fields) or '(no logs)'}") from None

    def _write(self, filepath):
        dirname = os.path.dirname(filepath)
        if dirname:
            os.makedirs(dirname, exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(filepath)
        else:
            self.model.save(filepath)
        self.last_saved = filepath

    def _save_model(self, epoch, batch, logs):
        logs = logs or {}
        filepath = self._get_file_path(epoch, batch, logs)
        if not self.save_best_only:
            if self.verbose > 0:
                print(f"Epoch {epoch + 1}: saving model to {filepath}")
            self._write(filepath)
            return
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Can save best model only with {self.monitor} available, skipping.",
                          stacklevel=3)
            return
        current = _scalar(current)
        if self.monitor_op(current, self.best):
            if self.verbose > 0:
                print(f"Epoch {epoch + 1}: {self.monitor} improved from {self.best:.5f} to "
                      f"{current:.5f}, saving model to {filepath}")
            self.best = current
            self._write(filepath)
        elif self.verbose > 0:
            print(f"Epoch {epoch + 1}: {self.monitor} did not improve from {self.best:.5f}")


class TerminateOnNaN(Callback):
    """Stop training as soon as a batch (or epoch) loss is NaN or infinite.

    The batch logs' ``loss`` is the running mean over the epoch's batches so far,
    so a NaN or Inf in any batch stays in it until the epoch ends. On the CPU
    (host numbers) it is checked after every batch, as in Keras. On the GPU the
    value is a device scalar and reading it would stall the pipeline once per
    batch; it is read every ``device_check_every`` batches instead (and at every
    epoch end), so training stops at most ``device_check_every - 1`` batches
    after the first invalid one (the weights are NaN from that batch on either
    way). ``device_check_every=1`` restores the per-batch check.
    """

    def __init__(self, device_check_every=50):
        super().__init__()
        if isinstance(device_check_every, bool) or not isinstance(device_check_every, int) \
                or device_check_every < 1:
            raise ValueError(f"device_check_every: expected a positive int, got {device_check_every!r}")
        self.device_check_every = device_check_every
        self.terminated_at = None  # (epoch, batch) where it stopped, or None
        self._epoch = 0
        self._device_batches = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._device_batches = 0

    def _check(self, where, loss):
        loss = _scalar(loss)
        if isinstance(loss, float) and not math.isfinite(loss):
            print(f"{where}: Invalid loss ({loss}), terminating training. Lower the learning "
                  f"rate, check the inputs for NaN/Inf, or clip the gradients.", file=sys.stderr)
            self.terminated_at = (self._epoch, where)
            if self.model is not None:
                self.model.stop_training = True

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None:
            return
        if backend.is_device_array(loss):  # a device scalar: read it only now and then
            self._device_batches += 1
            if self._device_batches % self.device_check_every:
                return
        self._check(f"Batch {batch}", loss)

    def on_epoch_end(self, epoch, logs=None):
        loss = (logs or {}).get("loss")
        if self.terminated_at is None and loss is not None:
            self._check(f"Epoch {epoch + 1}", loss)


class LearningCurve(Callback):
    """Record the epoch logs and write a learning-curve PNG at the end of training.

    Uses :func:`cudnn_lite.plotting.plot_history`; without matplotlib it
    warns (training results are never lost for a missing plot).
    """

    writes_files = True

    def __init__(self, path, title=None):
        super().__init__()
        self.path = os.fspath(path)
        self.title = title
        self.history = {}
        self.written = False

    def on_train_begin(self, logs=None):
        self.history = {}
        self.written = False

    def on_epoch_end(self, epoch, logs=None):
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(_scalar(v))

    def on_train_end(self, logs=None):
        if not self.history:
            return
        try:
            plotting.plot_history(self.history, self.path, title=self.title)
            self.written = True
        except ImportError as e:
            warnings.warn(f"LearningCurve: no plot written to {self.path}: {e}", stacklevel=2)


class CSVLogger(Callback):
    """Append one CSV row per epoch (``epoch`` then the logs, sorted by name)."""

    writes_files = True

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.filename = os.fspath(filename)
        self.sep = separator
        self.append = append
        self.keys = None
        self._file = None
        self._writer = None

    def on_train_begin(self, logs=None):
        exists = self.append and os.path.exists(self.filename) \
            and os.path.getsize(self.filename) > 0
        self._file = open(self.filename, "a" if self.append else "w", newline="")
        self._writer = None
        self.keys = None
        self._append_header = not exists

    def on_epoch_end(self, epoch, logs=None):
        logs = {k: _scalar(v) for k, v in (logs or {}).items()}
        if self.keys is None:
            self.keys = sorted(logs)
            self._writer = csv.DictWriter(self._file, fieldnames=["epoch", *self.keys],
                                          delimiter=self.sep)
            if self._append_header:
                self._writer.writeheader()
        row = {"epoch": epoch, **{k: logs.get(k, "NA") for k in self.keys}}
        self._writer.writerow(row)
        self._file.flush()

    def on_train_end(self, logs=None):
        if self._file is not None:
            self._file.close()
            self._file = None


class LearningRateScheduler(Callback):
    """Set the optimizer's learning rate at the start of each epoch to ``schedule(epoch, lr)``
    (or Keras 1's ``schedule(epoch)``); the epoch's logs get ``learning_rate`` (Keras 3's key;
    Keras 2 wrote ``lr``)."""

    def __init__(self, schedule, verbose=0):
        super().__init__()
        if not callable(schedule):
            raise ValueError(f"schedule: expected a function (epoch, lr) -> lr, got {schedule!r}")
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        lr = float(self.model.optimizer.learning_rate)
        try:
            lr = self.schedule(epoch, lr)
        except TypeError:  # a one-argument schedule (Keras 1 and 2 accept it)
            lr = self.schedule(epoch)
        if isinstance(lr, bool) or not isinstance(lr, (float, int, np.floating, np.integer)) or not math.isfinite(lr):
            raise ValueError(f'The output of the "schedule" function should be a finite float, got {lr!r}')
        self.model.optimizer.learning_rate = float(lr)
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {float(lr)}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(self.model.optimizer.learning_rate)


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by ``factor`` after ``patience`` epochs without improvement of
    ``monitor`` (by more than ``min_delta``), then wait ``cooldown`` epochs; never below
    ``min_lr``. Keras 2's ``epsilon=`` is the old name of ``min_delta``."""

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto", min_delta=1e-4,
                 cooldown=0, min_lr=0.0, **kwargs):
        super().__init__()
        if "epsilon" in kwargs:  # Keras 2.1's spelling
            min_delta = kwargs.pop("epsilon")
        if kwargs:
            raise TypeError(f"ReduceLROnPlateau: unexpected argument(s) {sorted(kwargs)}")
        if not isinstance(factor, (int, float)) or isinstance(factor, bool) or not 0.0 <= factor < 1.0:
            raise ValueError(f"factor: expected a number in [0, 1) (ReduceLROnPlateau does not increase the "
                             f"learning rate), got {factor!r}")
        self.monitor = monitor
        self.factor = float(factor)
        self.patience = int(patience)
        self.verbose = verbose
        self.mode = _check_mode(mode, "ReduceLROnPlateau")
        self.min_delta = float(min_delta)
        self.cooldown = int(cooldown)
        self.min_lr = float(min_lr)
        self._reset()

    def _reset(self):
        self.cooldown_counter = 0
        self.wait = 0
        self.best = None
        self.monitor_op = None

    def on_train_begin(self, logs=None):
        self._reset()

    def _improved(self, current):
        if self.monitor_op is None:
            self.monitor_op = _monitor_op(self.monitor, self.mode, "ReduceLROnPlateau")
        if self.best is None:
            return True
        if self.monitor_op is np.less:
            return current < self.best - self.min_delta
        return current > self.best + self.min_delta

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        logs["learning_rate"] = float(self.model.optimizer.learning_rate)
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"ReduceLROnPlateau: learning rate reduction is conditioned on metric {self.monitor!r}, "
                          f"which is not available. Available metrics are: {','.join(sorted(logs))}", stacklevel=2)
            return
        current = _scalar(current)
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self._improved(current):
            self.best = current
            self.wait = 0
        elif self.cooldown_counter <= 0:
            self.wait += 1
            if self.wait >= self.patience:
                old_lr = float(self.model.optimizer.learning_rate)
                if old_lr > np.float32(self.min_lr):
                    new_lr = max(old_lr * self.factor, self.min_lr)
                    self.model.optimizer.learning_rate = new_lr
                    if self.verbose > 0:
                        print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new_lr}.")
                    self.cooldown_counter = self.cooldown
                    self.wait = 0


class LambdaCallback(Callback):
    """A callback from functions: ``on_epoch_begin(epoch, logs)``, ``on_epoch_end(epoch, logs)``,
    ``on_batch_begin(batch, logs)``, ``on_batch_end(batch, logs)``, ``on_train_begin(logs)``,
    ``on_train_end(logs)``; the ones not given do nothing."""

    _HOOKS = ("on_epoch_begin", "on_epoch_end", "on_batch_begin", "on_batch_end", "on_train_begin",
              "on_train_end", "on_train_batch_begin", "on_train_batch_end")

    def __init__(self, **hooks):
        super().__init__()
        unknown = set(hooks) - set(self._HOOKS)
        if unknown:
            raise TypeError(f"LambdaCallback: unexpected argument(s) {sorted(unknown)}")
        for name, fn in hooks.items():
            if fn is not None:
                if not callable(fn):
                    raise ValueError(f"{name}: expected a function, got {fn!r}")
                setattr(self, name, fn)


__getattr__ = unsupported.module_getattr(__name__, "keras.callbacks", {
    "TensorBoard": "it writes TensorFlow event files; use CSVLogger or LearningCurve",
    "RemoteMonitor": "it posts to a web server, which cudnn_lite never contacts",
    "BackupAndRestore": "use ModelCheckpoint and fit(..., initial_epoch=model.epoch)",
})
