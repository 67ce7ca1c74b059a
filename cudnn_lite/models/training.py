"""The training loop of a model: compile, fit, evaluate, predict and the single-batch calls
(Keras 3's Trainer, mixed into :class:`~cudnn_lite.models.Sequential`).

Everything runs on the model's device. ``fit`` moves the training arrays there once, gathers
each batch there into a reused buffer (:mod:`.data`), and accumulates the per-sample losses
and metrics there (:class:`BatchTotals`, the one place that sums a batch's results); they are
read back once per epoch (and at most ~10 times a second for the ``verbose=1`` bar).

The trainer uses from the model: ``layers``, ``device``, ``output_shape``,
``trainable_weights``, ``_buffers``, ``_ensure_built``, ``_forward`` and ``_backward``.
"""
from __future__ import annotations

import numbers
import sys
import time
import warnings

import numpy as np

from .. import backend, ops, thread_governor
from .. import distribute as _distribute
from .. import losses as _losses
from .. import metrics as _metrics
from .. import optimizers as _optimizers
from ..callbacks import History
from . import data
from .progbar import Progbar, fmt_logs, fmt_step_time
from .totals import BatchTotals

__all__ = ["Trainer", "BatchTotals"]


class Trainer:
    """compile / fit / evaluate / predict / train_on_batch / test_on_batch."""

    def __init__(self):
        self.optimizer = None
        self.loss = None
        self.stop_training = False
        self.history = None
        self.epoch = 0  # epochs completed by fit (saved by save(); fit(initial_epoch=model.epoch) resumes)
        self._compiled_metrics = []  # (display name, fn)
        self._parallel = None  # the distribute.ParallelFit of a running data-parallel fit
        self._metric_specs = []

    # ------------------------------------------------------------ compile
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None, **kwargs):
        """Choose the optimizer (name or object), the loss (name or object) and the metrics."""
        unknown = set(kwargs) - {"weighted_metrics", "run_eagerly", "steps_per_execution", "jit_compile"}
        if unknown:
            raise TypeError(f"compile: unexpected argument(s) {sorted(unknown)}")
        if loss is None:
            raise ValueError("compile: loss is required (e.g. loss='categorical_crossentropy')")
        if loss_weights is not None:
            raise ValueError("loss_weights: not supported (one output)")
        self._loss_kind = _losses.get(loss)
        self.loss = loss
        self.optimizer = _optimizers.get(optimizer)
        if isinstance(metrics, (str, dict)) or callable(metrics):
            metrics = [metrics]
        self._metric_specs = list(metrics or [])
        self._compiled_metrics = [tuple(_metrics.get(m, loss)) for m in self._metric_specs]
        self.metrics_names = ["loss"] + [name for name, _ in self._compiled_metrics]

    def _compile_config(self):
        return {"loss": _losses.serialize(self.loss),
                "metrics": [m for m in self._metric_specs if isinstance(m, str)]}

    def _require_compiled(self, what):
        if self.optimizer is None:
            raise RuntimeError(f"{what}: you must compile the model before training/testing "
                               "(model.compile(optimizer, loss, metrics))")

    def _names(self):
        return ["loss"] + [name for name, _ in self._compiled_metrics]

    # ------------------------------------------------------- one batch
    def _fused(self):
        """Softmax output + categorical cross-entropy: the loss gradient is taken w.r.t. the logits
        (y - t) and enters the last layer through its backward_logits."""
        last = self.layers[-1]
        act = getattr(last, "activation", None)
        return (self._loss_kind == "categorical_crossentropy" and act is not None
                and act.name == "softmax" and len(last.output_shape) == 2 and hasattr(last, "backward_logits"))

    def _reg_term(self):
        """sum of l2 * sum(w^2) over the regularised weights, on the device (0.0 if none)."""
        xp = backend.xp(self.device)
        total = 0.0
        for w in self.trainable_weights:
            if w.l2:
                flat = w.value.reshape(-1)
                total = total + w.l2 * xp.dot(flat, flat)
        return total

    def _loss_values(self, y, t, training, fused=False):
        """Per-sample losses (rows,) and, when training, the gradient w.r.t. the output (``fused``:
        w.r.t. the softmax's input)."""
        rows = y.shape[0]
        y2, t2 = y.reshape(rows, -1), t.reshape(rows, -1)
        per = ops.loss_forward(y2, t2, self._loss_kind, out=self._buffers.get("loss", (rows,), like=y2))
        if not training:
            return per, None
        out = self._buffers.get("dloss", y2.shape, like=y2)
        if fused:
            g = ops.softmax_cross_entropy_backward(y2, t2, out=out)
        else:
            g = ops.loss_backward(y2, t2, self._loss_kind, out=out)
        return per, g.reshape(y.shape)

    def _step(self, xb, yb, training):
        """One batch on the device. Returns (per-sample loss, reg term, [per-sample metric values]).

        A CPU training step runs with the team size thread_governor picks (the full thread
        count unless other processes keep the cores busy; no result depends on it)."""
        if training and self.device == "cpu":
            with thread_governor.governed_step(int(xb.shape[0])):
                return self._step_on_device(xb, yb, training)
        return self._step_on_device(xb, yb, training)

    def _step_on_device(self, xb, yb, training):
        y = self._forward(xb, training)
        fused = training and self._fused()
        per, g = self._loss_values(y, yb, training, fused)
        reg = self._reg_term()
        metric_values = [_metric_values(fn(yb, y), name, y.shape[0], y)
                         for name, fn in self._compiled_metrics]
        if training:
            self._backward(g, logits=fused)
            params = self.trainable_weights
            self.optimizer.apply([w.value for w in params], [w.grad for w in params], [w.l2 for w in params])
        return per, reg, metric_values

    def _parallel_step(self, xb, yb, rows, par):
        """One data-parallel step on this rank's shard (xb, yb) of a global batch of ``rows``:
        gradients averaged over the ranks while the backward pass runs, then the optimizer step
        every rank takes alike. Returns ([loss sum, metric sums...], rows) of the global batch."""
        xp = backend.xp(self.device)
        n = int(xb.shape[0])
        sums = xp.zeros(len(self._names()), dtype=np.float64)
        if n:
            y = self._forward(xb, True)
            fused = self._fused()
            per, g = self._loss_values(y, yb, True, fused)
            sums[0] = per.sum() + self._reg_term() * n
            for j, (_, fn) in enumerate(self._compiled_metrics):
                m = fn(yb, y)  # per sample, or one per batch (a reducing custom metric): weighted by rows
                sums[1 + j] = m.sum() if getattr(m, "ndim", 0) else m * n
            stats = par.start_stats(sums, n)
            g *= par.loss_scale(n, rows)  # the summed gradients are then the global batch's mean
            self._backward(g, logits=fused, on_layer=par.layer_done)
        else:  # no rows for this rank: zeros, in the other ranks' order of collectives
            par.empty_forward()
            stats = par.start_stats(sums, 0)
            par.empty_backward()
        sums, seen = par.finish(stats)
        params = self.trainable_weights
        self.optimizer.apply([w.value for w in params], [w.grad for w in params], [w.l2 for w in params])
        par.after_step()
        return sums, seen

    def _strategy(self, distribute):
        """The DataParallel of this fit/evaluate: the argument, else the model's scope's, else None."""
        strategy = distribute if distribute is not None else getattr(self, "_distribute", None)
        if strategy is not None and not isinstance(strategy, _distribute.DataParallel):
            raise ValueError(f"distribute: expected a cudnn_lite.distribute.DataParallel, "
                             f"got {type(strategy).__name__}")
        return strategy

    # ------------------------------------------------------------- data
    def _targets(self, y, n, name="y"):
        """y as float32 with the model's output shape (a (n,) vector for one output column is reshaped)."""
        y = data.host_float32(y, name)
        out = tuple(self.output_shape[1:])
        if y.ndim == 1 and out == (1,):
            y = y.reshape(-1, 1)
        if y.shape[0] != n:
            raise ValueError(f"{name}: {y.shape[0]} samples, x has {n}")
        if tuple(y.shape[1:]) != out:
            hint = " (one-hot encode class labels with utils.to_categorical)" \
                if self._loss_kind == "categorical_crossentropy" else ""
            raise ValueError(f"{name}: shape {tuple(y.shape)} does not match the model's output "
                             f"{self.output_shape}{hint}")
        return y

    def _to_dev(self, a):
        return backend.to_device(a, self.device, np.float32)

    def _unpack(self, item):
        """A generator's or Sequence's (x, y) item, checked, on the model's device."""
        if not isinstance(item, (tuple, list)) or len(item) not in (2, 3):
            raise ValueError("a generator must yield (x_batch, y_batch) tuples")
        if len(item) == 3 and item[2] is not None:
            raise ValueError("a generator yielded (x, y, sample_weight): sample weights are not supported")
        x, y = item[0], item[1]
        if self.device != "cpu" and backend.is_device_array(x):
            # already on the model's device (an augmenting flow on the GPU): no host round trip
            x = data.device_float32(backend.xp(self.device), x, "x batch")
        else:
            x = data.host_float32(x, "x batch")
        self._ensure_built(x.shape)
        return self._to_dev(x), self._to_dev(self._targets(y, x.shape[0], "y batch"))

    def _validation_arrays(self, val, prefix="validation_data ", steps=None, steps_name="validation_steps"):
        """(x, y) device arrays, a Sequence, or data.Steps over a Sequence or generator."""
        if data.is_sequence(val) or (not isinstance(val, (tuple, list)) and data.is_iterator(val)):
            if steps is not None:
                return data.Steps(val, steps, steps_name)
            if not data.is_sequence(val):
                raise ValueError(f"{steps_name}: required when {prefix.strip() or 'x'} is a generator or iterator")
            return val
        if not isinstance(val, (tuple, list)) or len(val) not in (2, 3):
            raise ValueError("validation_data: expected (x_val, y_val)")
        xv = data.check_finite(data.host_float32(val[0], prefix + "x"), prefix + "x")
        self._ensure_built(xv.shape)
        yv = data.check_finite(self._targets(val[1], xv.shape[0], prefix + "y"), prefix + "y")
        return self._to_dev(xv), self._to_dev(yv)

    # --------------------------------------------------------------- fit
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None, sample_weight=None,
            initial_epoch=0, steps_per_epoch=None, validation_steps=None, validation_batch_size=None,
            validation_freq=1, max_queue_size=10, workers=1, use_multiprocessing=False, distribute=None):
        """Train; returns a callbacks.History whose .history has 'loss', metrics, 'val_*' per epoch.

        Training data holding NaN or Inf is rejected (ValueError naming x or y). A
        KeyboardInterrupt (Ctrl-C, or raised by a callback) ends training early: unlike Keras,
        which re-raises, fit prints a message and returns the History of the completed epochs;
        the model stays usable and ``fit(..., initial_epoch=model.epoch)`` continues (see
        SECURITY.md). ``model.epoch`` counts completed epochs and is saved by ``model.save``.

        ``distribute``: a :class:`cudnn_lite.distribute.DataParallel` (default: the one whose
        ``scope()`` created the model, if any). ``batch_size`` is then the global batch: each
        rank trains on its shard, and only rank 0 prints and runs the callbacks that write files.
        """
        self._require_compiled("fit")
        data.check_queue_args(max_queue_size, workers, use_multiprocessing)
        validation_freq = _validation_epochs(validation_freq)
        strategy = self._strategy(distribute)
        if class_weight is not None or sample_weight is not None:
            raise ValueError("class_weight / sample_weight: not supported")
        verbose = 1 if verbose == "auto" else verbose
        if verbose not in (0, 1, 2):
            raise ValueError(f"verbose: expected 0, 1, 2 or 'auto', got {verbose!r}")
        if strategy is not None and not strategy.is_chief:
            verbose = 0
        batch_size = 32 if batch_size is None else batch_size
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size <= 0:
            raise ValueError(f"batch_size: expected a positive int, got {batch_size!r}")
        for name, v in (("epochs", epochs), ("initial_epoch", initial_epoch)):
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 0:
                raise ValueError(f"{name}: expected a non-negative int, got {v!r}")
        if not 0.0 <= float(validation_split) < 1.0:
            raise ValueError(f"validation_split: expected a float in [0, 1), got {validation_split!r}")
        rng = backend.rng()

        data.check_data_arg(x, "x")
        if data.is_array(x):
            if y is None:
                raise ValueError("fit: y is required when x is an array")
            x = data.check_finite(data.host_float32(x, "x"), "x")
            n = x.shape[0]
            if n == 0:
                raise ValueError("fit: x is empty")
            self._ensure_built(x.shape)
            y = data.check_finite(self._targets(y, n), "y")
            if validation_split and validation_data is None:
                split = int(n * (1.0 - validation_split))
                if split == 0 or split == n:
                    raise ValueError(f"validation_split={validation_split} leaves no training or validation samples")
                validation_data = (x[split:], y[split:])
                x, y, n = x[:split], y[:split], split
            x_dev, y_dev = self._to_dev(x), self._to_dev(y)
            steps = -(-n // batch_size)
            if steps_per_epoch is not None:
                steps = min(steps, int(steps_per_epoch))
            if strategy is None:
                batches = lambda: data.array_batches(x_dev, y_dev, batch_size, shuffle, rng,  # noqa: E731
                                                     self._buffers)
            else:
                batches = lambda: _distribute.sharded_array_batches(  # noqa: E731
                    x_dev, y_dev, batch_size, shuffle, rng, self._buffers, strategy.rank, strategy.size)
        else:
            if y is not None:
                raise ValueError("fit: do not give y with a generator (it yields (x, y))")
            if validation_split:
                raise ValueError("validation_split: not supported with a generator; use validation_data")
            if steps_per_epoch is None:
                if not data.is_sequence(x):
                    raise ValueError("steps_per_epoch: required when x is an iterator or generator")
                steps = len(x)
            else:
                steps = int(steps_per_epoch)
            if steps <= 0:
                raise ValueError(f"steps_per_epoch: expected a positive number of steps, got {steps}")
            gen = x
            batches = lambda: data.generator_batches(gen, steps, shuffle, rng, self._unpack)  # noqa: E731
            if strategy is not None:
                whole = batches
                batches = lambda: _distribute.sharded_batches(whole(), strategy.rank, strategy.size)  # noqa: E731

        val = (self._validation_arrays(validation_data, steps=validation_steps)
               if validation_data is not None else None)

        history = History()
        callbacks = list(callbacks or [])
        if strategy is not None and not strategy.is_chief:
            callbacks = [cb for cb in callbacks if not getattr(cb, "writes_files", False)]
        callbacks = [history] + callbacks  # _fit_epochs ends each epoch with it, in a finally:
        # it records every completed epoch even if a callback raises (a KeyboardInterrupt in a checkpoint
        # returns the History so far), with what the callbacks added to the logs
        params = {"verbose": verbose, "epochs": epochs, "steps": steps}
        for cb in callbacks:
            cb.set_model(self)
            cb.set_params(params)
        self.stop_training = False
        self.history = history
        parallel = None
        if strategy is not None:  # before any callback runs: the ranks agree, start from rank 0's state
            parallel = _distribute.ParallelFit(
                strategy, self, batch_size=batch_size, steps=steps, epochs=epochs, initial_epoch=initial_epoch,
                samples=n if data.is_array(x) else None, shuffle=bool(shuffle))
        try:
            for cb in callbacks:
                cb.on_train_begin({})
        except BaseException:
            if parallel is not None:
                parallel.close()
            raise
        self._parallel = parallel
        batch_hooks = len(callbacks) > 1
        try:
            self._fit_epochs(callbacks, batch_hooks, batches, steps, val, batch_size,
                             validation_batch_size, validation_freq, initial_epoch, epochs, verbose)
        except KeyboardInterrupt:
            # Deliberately unlike Keras (which re-raises): the History so far is returned and the
            # model keeps the weights of its last completed optimizer step (kernels run with the
            # GIL released, so an interrupt never lands inside one).
            print(f"\nfit: interrupted (KeyboardInterrupt) after {self.epoch} completed epoch(s); "
                  "returning the History so far. The model is usable; resume with "
                  f"fit(..., initial_epoch={self.epoch}).", file=sys.stderr)
            sys.stderr.flush()
            self.stop_training = True
        finally:
            if self._parallel is not None:
                self._parallel.close()
                self._parallel = None
        for cb in callbacks:
            cb.on_train_end({})
        return history

    def _fit_epochs(self, callbacks, batch_hooks, batches, steps, val, batch_size,
                    validation_batch_size, validation_freq, initial_epoch, epochs, verbose):
        names = self._names()
        for epoch in range(initial_epoch, epochs):
            if verbose:
                print(f"Epoch {epoch + 1}/{epochs}")
                sys.stdout.flush()
            for cb in callbacks:
                cb.on_epoch_begin(epoch, {})
            bar = Progbar(steps) if verbose == 1 else None
            t0 = time.time()
            totals = BatchTotals(names, self.device)
            done = 0
            for step, batch in enumerate(batches()):
                if step >= steps:
                    break
                if batch_hooks:
                    for cb in callbacks:
                        cb.on_train_batch_begin(step, {})
                if self._parallel is None:
                    xb, yb = batch
                    totals.add(self._step(xb, yb, training=True), int(xb.shape[0]))
                else:
                    totals.add_sums(*self._parallel_step(*batch, self._parallel))
                done = step + 1
                if batch_hooks:
                    logs = totals.device_logs()
                    for cb in callbacks:
                        cb.on_train_batch_end(step, logs)
                    if self.stop_training:  # e.g. TerminateOnNaN: stop after this batch (Keras 3)
                        break
                if bar is not None and done < steps and bar.due():
                    bar.update(done, totals.logs())
            logs = totals.logs()
            if val is not None and validation_freq(epoch + 1):
                vals = self._evaluate(val, batch_size if validation_batch_size is None else validation_batch_size)
                logs.update({f"val_{k}": v for k, v in zip(names, vals)})
            elapsed = time.time() - t0
            if bar is not None:
                bar.update(done, logs, final=True)
            self.epoch = epoch + 1  # completed epochs: saved with the model, for initial_epoch on resume
            try:
                for cb in callbacks[1:]:
                    cb.on_epoch_end(epoch, logs)
            finally:  # the History (callbacks[0]) last, as Keras 3 orders it: it records what the other
                # callbacks add to the logs ('learning_rate'), and the epoch even if one of them raises
                callbacks[0].on_epoch_end(epoch, logs)
            if verbose == 2:
                print(f"{done}/{steps} - {elapsed:.0f}s{fmt_logs(logs)} - {elapsed:.0f}s/epoch - "
                      f"{fmt_step_time(elapsed / max(done, 1))}")
                sys.stdout.flush()
            if self.stop_training:
                break

    def fit_generator(self, generator, steps_per_epoch=None, epochs=1, verbose=1, callbacks=None,
                      validation_data=None, validation_steps=None, class_weight=None, max_queue_size=10,
                      workers=1, use_multiprocessing=False, shuffle=True, initial_epoch=0, validation_freq=1):
        """Keras 2's fit_generator (its argument order): fit(generator, ...)."""
        return self.fit(generator, steps_per_epoch=steps_per_epoch, epochs=epochs, verbose=verbose,
                        callbacks=callbacks, validation_data=validation_data, validation_steps=validation_steps,
                        validation_freq=validation_freq, class_weight=class_weight, max_queue_size=max_queue_size,
                        workers=workers, use_multiprocessing=use_multiprocessing, shuffle=shuffle,
                        initial_epoch=initial_epoch)

    # ----------------------------------------------------------- evaluate
    def _evaluate(self, val, batch_size, bar=None, comm=None):
        """Mean loss (with the L2 term) and metrics over device arrays or a Sequence (inference
        mode). ``comm`` (data-parallel): each rank evaluates its shard and the sums are reduced."""
        if comm is None and self._parallel is not None:
            comm = self._parallel.comm
        if comm is not None and comm.size > 1:
            val = _distribute.eval_shard(val, comm.rank, comm.size)
        totals = BatchTotals(self._names(), self.device)
        for step, (xb, yb) in enumerate(data.evaluation_batches(val, batch_size, self._unpack)):
            totals.add(self._step(xb, yb, training=False), int(xb.shape[0]))
            if bar is not None and bar.due():
                bar.update(step + 1, totals.logs())
        if comm is not None:
            totals.sums, totals.counts, totals.seen = _distribute.reduce_totals(
                comm, totals.sums, totals.counts, totals.seen, "allreduce of the evaluation's loss and metrics")
        if totals.seen == 0:
            raise ValueError("evaluate: no samples")
        values = totals.values()
        if bar is not None:
            bar.update(bar.target, dict(zip(totals.names, values)), final=True)
        return values

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None,
                 callbacks=None, return_dict=False, distribute=None):
        """Loss (with the L2 terms) and metrics in inference mode: a float, or [loss, metrics...].
        With a DataParallel (``distribute`` or the model's scope's) each rank evaluates its shard
        and every rank gets the totals."""
        self._require_compiled("evaluate")
        strategy = self._strategy(distribute)
        verbose = 1 if verbose == "auto" else verbose
        if strategy is not None and not strategy.is_chief:
            verbose = 0
        batch_size = 32 if batch_size is None else data.positive_int(batch_size, "batch_size")
        data.check_data_arg(x, "x")
        if data.is_array(x):
            val = self._validation_arrays((x, y), prefix="")
            total = -(-val[0].shape[0] // batch_size)
            if steps is not None:
                total = min(total, data.positive_int(steps, "steps"))
                val = (val[0][:total * batch_size], val[1][:total * batch_size])
        else:
            if y is not None:
                raise ValueError("evaluate: do not give y with a generator (it yields (x, y))")
            val = self._validation_arrays(x, prefix="", steps=steps, steps_name="steps")
            total = len(val)
        bar = Progbar(total) if verbose == 1 else None
        values = self._evaluate(val, batch_size, bar, comm=strategy.comm if strategy is not None else None)
        if return_dict:
            return dict(zip(self._names(), values))
        return values[0] if len(values) == 1 else values

    def evaluate_generator(self, generator, steps=None, callbacks=None, max_queue_size=10, workers=1,
                           use_multiprocessing=False, verbose=0):
        """Keras 2's evaluate_generator: evaluate(generator, steps=steps)."""
        data.check_queue_args(max_queue_size, workers, use_multiprocessing)
        data.check_data_arg(generator, "generator")
        if data.is_array(generator):
            raise ValueError("evaluate_generator: expected a generator or Sequence of (x, y) batches, got an "
                             "array (use evaluate(x, y))")
        return self.evaluate(generator, steps=steps, verbose=verbose, callbacks=callbacks)

    # ------------------------------------------------------------ predict
    def predict(self, x, batch_size=None, verbose=0, steps=None, callbacks=None):
        """Outputs for x (inference mode) as a NumPy array. A Sequence or generator yields x
        batches (or (x, y) tuples, whose y is ignored); a generator needs ``steps``."""
        batch_size = 32 if batch_size is None else data.positive_int(batch_size, "batch_size")
        data.check_data_arg(x, "x")
        if not data.is_array(x):
            if steps is None and not data.is_sequence(x):
                raise ValueError("steps: required when x is a generator or iterator")
            items = data.Steps(x, steps, "steps") if steps is not None else (x[i] for i in range(len(x)))
            outs = [self.predict(self._unpack_x(item), batch_size) for item in items]
            if not outs:
                raise ValueError("predict: the Sequence is empty")
            return np.concatenate(outs, axis=0)
        x = data.host_float32(x, "x")
        self._ensure_built(x.shape)
        x_dev = self._to_dev(x)
        n = x.shape[0]
        xp = backend.xp(self.device)
        result = xp.empty((n,) + tuple(self.output_shape[1:]), dtype=np.float32)
        bar = Progbar(-(-n // batch_size)) if verbose == 1 else None
        for step, i in enumerate(range(0, n, batch_size)):
            result[i:i + batch_size] = self._forward(x_dev[i:i + batch_size], False)
            if bar is not None and bar.due():
                bar.update(step + 1)
        if bar is not None:
            bar.update(bar.target, final=True)
        return backend.to_numpy(result)

    def predict_generator(self, generator, steps=None, callbacks=None, max_queue_size=10, workers=1,
                          use_multiprocessing=False, verbose=0):
        """Keras 2's predict_generator: predict(generator, steps=steps)."""
        data.check_queue_args(max_queue_size, workers, use_multiprocessing)
        data.check_data_arg(generator, "generator")
        if data.is_array(generator):
            raise ValueError("predict_generator: expected a generator or Sequence of batches, got an array "
                             "(use predict(x))")
        return self.predict(generator, steps=steps, verbose=verbose, callbacks=callbacks)

    def predict_classes(self, x, batch_size=32, verbose=0):
        """Keras 2's Sequential.predict_classes: the argmax of each prediction, or, for one output
        unit, 1 where it exceeds 0.5 (int32, shape (n, 1))."""
        proba = self.predict(x, batch_size=batch_size, verbose=verbose)
        if proba.shape[-1] > 1:
            return proba.argmax(axis=-1)
        return (proba > 0.5).astype("int32")

    def predict_proba(self, x, batch_size=32, verbose=0):
        """Keras 2's Sequential.predict_proba: predict(), with a warning when the outputs are not
        probabilities (outside [0, 1])."""
        preds = self.predict(x, batch_size=batch_size, verbose=verbose)
        if preds.size and (preds.min() < 0.0 or preds.max() > 1.0):
            warnings.warn("Network returning invalid probability values. The last layer might not "
                          "normalize predictions into probabilities (like softmax or sigmoid would).",
                          stacklevel=2)
        return preds

    @staticmethod
    def _unpack_x(item):
        return item[0] if isinstance(item, (tuple, list)) else item

    def predict_on_batch(self, x):
        return self.predict(x, batch_size=max(len(x), 1))

    def __call__(self, x, training=False):
        return self.predict(x)

    # ----------------------------------------------------- single batches
    def _batch(self, x, y, training):
        self._require_compiled("train_on_batch" if training else "test_on_batch")
        data.check_data_arg(x, "x")
        x = data.check_finite(data.host_float32(x, "x"), "x")
        if x.shape[0] == 0:
            raise ValueError("x: an empty batch")
        self._ensure_built(x.shape)
        y = data.check_finite(self._targets(y, x.shape[0]), "y")
        totals = BatchTotals(self._names(), self.device)
        totals.add(self._step(self._to_dev(x), self._to_dev(y), training), x.shape[0])
        values = totals.values()
        return values[0] if len(values) == 1 else values

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, reset_metrics=True,
                       return_dict=False):
        """One optimizer step on (x, y); returns the batch loss (then the metrics), computed before the step."""
        out = self._batch(x, y, True)
        return dict(zip(self._names(), out if isinstance(out, list) else [out])) if return_dict else out

    def test_on_batch(self, x, y=None, sample_weight=None, reset_metrics=True, return_dict=False):
        out = self._batch(x, y, False)
        return dict(zip(self._names(), out if isinstance(out, list) else [out])) if return_dict else out


def _validation_epochs(freq):
    """fit's validation_freq as a test on the 1-based epoch number: every ``freq``-th epoch (an
    int), or the epochs listed (Keras's two forms)."""
    if isinstance(freq, (list, tuple, set, range)):
        epochs = set()
        for e in freq:
            epochs.add(data.positive_int(e, "validation_freq"))
        return epochs.__contains__
    freq = data.positive_int(freq, "validation_freq")
    return lambda epoch: epoch % freq == 0


def _metric_values(values, name, rows, like):
    """A metric function's result as one value per sample (batch,) or one for the batch (0-d),
    an array of ``like``'s module: values of shape (batch, ...) are averaged over their other
    axes (Keras 3's reduction); a number becomes a 0-d array."""
    xp = backend.array_module(like)
    if isinstance(values, numbers.Real) and not isinstance(values, bool):
        return xp.asarray(float(values))
    if not hasattr(values, "ndim") or not hasattr(values, "sum"):
        raise TypeError(f"metric {name!r}: expected a number or an array of per-sample values, "
                        f"got {type(values).__name__}")
    if values.ndim == 0:
        return values
    if values.shape[0] != rows:
        raise ValueError(f"metric {name!r}: returned shape {tuple(values.shape)}; expected one value per "
                         f"sample ({rows},) or one for the batch")
    if values.ndim > 1:
        values = values.reshape(rows, -1).mean(axis=1)
    return values
