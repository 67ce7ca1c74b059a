"""Sequential: the Keras model API (compile, fit, evaluate, predict, summary, save).

    from cudnn_lite.models import Sequential
    from cudnn_lite.layers import Dense
    model = Sequential([Dense(25, input_dim=2, activation='relu'), Dense(3, activation='softmax')])
    model.compile(loss='categorical_crossentropy', optimizer='adam', metrics=['accuracy'])
    history = model.fit(x, y, epochs=10, validation_split=0.2)

Everything a model owns lives on its device (``backend.get_device()`` when it
was built). ``fit`` moves the training arrays to the device once, gathers each
batch there into a reused buffer, and accumulates the per-sample losses and
metrics on the device; they are read back once per epoch (and at most ~10 times
a second for the verbose=1 progress bar).
"""
from __future__ import annotations

import json
import numbers
import sys
import time

import numpy as np

from . import backend
from . import layers as _layers
from . import losses as _losses
from . import metrics as _metrics
from . import ops
from . import optimizers as _optimizers
from .callbacks import History
from .layers.core import InputLayer, Layer

__all__ = ["Sequential", "load_model"]


# ------------------------------------------------------------------ output

def _fmt_value(v):
    return f"{v:.4f}" if abs(v) > 1e-3 else f"{v:.4e}"


def _fmt_logs(logs):
    return "".join(f" - {k}: {_fmt_value(float(v))}" for k, v in logs.items())


def _fmt_step_time(seconds):
    if seconds >= 1:
        return f"{seconds:.0f}s/step"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/step"
    return f"{seconds * 1e6:.0f}us/step"


def _fmt_eta(seconds):
    if seconds > 3600:
        return f"{int(seconds // 3600)}:{int(seconds % 3600 // 60):02d}:{int(seconds % 60):02d}"
    if seconds > 60:
        return f"{int(seconds // 60)}:{int(seconds % 60):02d}"
    return f"{int(seconds)}s"


class _Progbar:
    """Keras's one-line progress bar (redrawn with \\r on a terminal, at most every 0.1 s)."""

    def __init__(self, target, width=30, stream=None, interval=0.1):
        self.target, self.width, self.interval = int(target), width, interval
        self.stream = stream or sys.stdout
        self.start = time.time()
        self._last = 0.0
        self._len = 0
        isatty = getattr(self.stream, "isatty", lambda: False)
        self.dynamic = bool(isatty()) or "ipykernel" in sys.modules

    def due(self):
        return self.dynamic and time.time() - self._last >= self.interval

    def update(self, current, logs=None, final=False):
        now = time.time()
        self._last = now
        digits = len(str(self.target))
        filled = int(self.width * current / max(self.target, 1))
        bar = "=" * max(filled - 1, 0) + (">" if current < self.target else "=") if filled > 0 else ""
        bar = f"{current:>{digits}}/{self.target} [" + bar + "." * (self.width - len(bar)) + "]"
        elapsed = now - self.start
        if final:
            info = f" - {elapsed:.0f}s {_fmt_step_time(elapsed / max(current, 1))}"
        else:
            eta = elapsed / max(current, 1) * (self.target - current)
            info = f" - ETA: {_fmt_eta(eta)}"
        line = bar + info + _fmt_logs(logs or {})
        if self.dynamic:
            pad = " " * max(self._len - len(line), 0)
            self.stream.write("\r" + line + pad + ("\n" if final else ""))
        elif final:
            self.stream.write(line + "\n")
        self._len = len(line)
        self.stream.flush()


# -------------------------------------------------------------------- data

def _is_array(x):
    return isinstance(x, (np.ndarray, list)) or backend.is_device_array(x)


def _is_sequence(x):
    return (not _is_array(x) and not isinstance(x, (tuple, str, bytes, dict)) and hasattr(x, "__getitem__")
            and hasattr(x, "__len__"))


def _check_data_arg(x, name):
    """ValueError for things that are neither arrays nor batch generators (a string, a number, a dict)."""
    if x is None:
        raise ValueError(f"{name}: expected an array of samples (batch, ...), got None")
    if isinstance(x, (str, bytes, dict, numbers.Number, np.generic)) or (
            isinstance(x, np.ndarray) and x.ndim == 0):
        raise ValueError(f"{name}: expected an array of samples (batch, ...), got {type(x).__name__}")


def _positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"{name}: expected a positive int, got {value!r}")
    return int(value)


def _is_iterator(x):
    return not _is_array(x) and not _is_sequence(x) and (hasattr(x, "__next__") or hasattr(x, "__iter__"))


def _host_float32(a, name):
    if backend.is_device_array(a):
        return a
    what = type(a).__name__
    try:
        arr = np.asarray(a)
        what = f"dtype {arr.dtype}"
        if arr.dtype.kind not in "biufO":  # complex, strings, bytes, records, datetimes
            raise TypeError(what)
        with np.errstate(over="ignore"):  # values beyond float32 become inf: _check_finite names them
            return np.ascontiguousarray(arr, dtype=np.float32)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected an array of numbers (bool, int or float), got {what}") from None


def _device_float32(xp, a, name):
    """A GPU array as float32 and C-contiguous on its device (no copy when it already is)."""
    if a.dtype.kind not in "biuf":
        raise ValueError(f"{name}: expected an array of numbers (bool, int or float), got dtype {a.dtype}")
    return xp.ascontiguousarray(a, dtype=np.float32)


def _check_finite(a, name):
    """ValueError naming ``name`` if a host array holds NaN or Inf (checked once per fit/evaluate)."""
    if isinstance(a, np.ndarray) and a.dtype.kind == "f" and a.size and not np.isfinite(a).all():
        bad = int(a.size - np.count_nonzero(np.isfinite(a)))
        raise ValueError(f"{name}: holds {bad} NaN or infinite value(s); clean the data (e.g. numpy.nan_to_num) "
                         "before training")
    return a


def _gather(xp, a, idx, out):
    """out[:] = a[idx] along axis 0 without allocating."""
    if xp is np:
        return np.take(a, idx, axis=0, out=out, mode="clip")
    return xp.take(a, idx, axis=0, out=out)


class Sequential:
    """A linear stack of layers (Keras's Sequential)."""

    def __init__(self, layers=None, name=None):
        if name is not None and not isinstance(name, str):
            raise ValueError(f"name: expected a string, got {name!r}")
        self.name = name or backend.unique_name("sequential")
        self.layers: list[Layer] = []
        self.built = False
        self.device = None
        self.optimizer = None
        self.loss = None
        self.stop_training = False
        self.history = None
        self.epoch = 0  # epochs completed by fit (saved by save(); fit(initial_epoch=model.epoch) resumes)
        self._build_input_shape = None
        self._compiled_metrics = []  # (display name, fn)
        self._metric_specs = []
        self._buffers = backend.BufferCache()  # loss values, loss gradient, shuffled batches
        for layer in layers or []:
            self.add(layer)

    # ---------------------------------------------------------- structure
    def add(self, layer):
        if not isinstance(layer, Layer):
            raise TypeError(f"add: expected a cudnn_lite layer, got {type(layer).__name__}")
        if isinstance(layer, InputLayer):
            if self.layers:
                raise ValueError("an InputLayer must come first")
            self._build_input_shape = layer._batch_input_shape
            return
        if any(l.name == layer.name for l in self.layers):
            raise ValueError(f"all layers of a Sequential need unique names; {layer.name!r} is already used")
        if not self.layers and layer._batch_input_shape is not None:
            self._build_input_shape = layer._batch_input_shape
        self.layers.append(layer)
        if self._build_input_shape is not None:
            self.build()

    def pop(self):
        if not self.layers:
            raise TypeError("there are no layers to pop")
        layer = self.layers.pop()
        return layer

    def build(self, input_shape=None):
        """Create every layer's weights for ``input_shape`` (batch axis first, may be None)."""
        shape = input_shape if input_shape is not None else self._build_input_shape
        if shape is None:
            raise ValueError("build: the input shape is unknown; give the first layer input_shape=... "
                             "or call build((None, ...))")
        shape = (None,) + tuple(int(s) for s in tuple(shape)[1:])
        self._build_input_shape = shape
        if self.device is None:
            self.device = backend.get_device()
        for layer in self.layers:
            shape = layer._build(shape, self.device)
        self.built = True

    def _ensure_built(self, x_shape):
        if not self.built:
            self.build((None,) + tuple(x_shape[1:]))
        elif tuple(x_shape[1:]) != tuple(self.input_shape[1:]):
            raise ValueError(f"input shape {(None,) + tuple(x_shape[1:])} does not match the model's "
                             f"{self.input_shape}")

    def _require_built(self, what):
        if not self.built:
            raise ValueError(f"{what}: this model has not yet been built. Build it by calling build() or by "
                             "giving the first layer an input_shape (or fit it on data).")

    @property
    def input_shape(self):
        self._require_built("input_shape")
        return self._build_input_shape

    @property
    def output_shape(self):
        self._require_built("output_shape")
        return self.layers[-1].output_shape if self.layers else self._build_input_shape

    def to(self, device):
        """Move weights and optimizer state to 'cpu' or 'cuda'."""
        device = backend._check_device(device)
        for layer in self.layers:
            layer.to(device)
        if self.optimizer is not None:
            self.optimizer.variables_on(device)
        self.device = device
        self._buffers.clear()
        return self

    # ------------------------------------------------------------ weights
    @property
    def weights(self):
        return [w for layer in self.layers for w in layer.weights]

    @property
    def trainable_weights(self):
        return [w for layer in self.layers for w in layer.trainable_weights]

    @property
    def non_trainable_weights(self):
        return [w for layer in self.layers for w in layer.non_trainable_weights]

    def get_weights(self):
        """NumPy copies, layer by layer in Keras's order and layouts."""
        return [w for layer in self.layers for w in layer.get_weights()]

    def set_weights(self, weights):
        weights = list(weights)
        need = sum(len(layer.weights) for layer in self.layers)
        if len(weights) != need:
            raise ValueError(f"set_weights: expected {need} arrays, got {len(weights)}")
        i = 0
        for layer in self.layers:
            k = len(layer.weights)
            layer.set_weights(weights[i:i + k])
            i += k

    def count_params(self):
        self._require_built("count_params")
        return sum(layer.count_params() for layer in self.layers)

    def get_layer(self, name=None, index=None):
        if index is not None:
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"no layer named {name!r}")

    # ------------------------------------------------------------ summary
    def summary(self, line_length=None, positions=None, print_fn=None):
        """Print Keras's table: layer (type), output shape, param #, then the totals."""
        self._require_built("summary")
        print_fn = print_fn or print
        line_length = line_length or 65
        positions = positions or [0.45, 0.85, 1.0]
        if positions[-1] <= 1:
            positions = [int(line_length * p) for p in positions]

        def row(fields):
            # Keras 2's print_row: text too long for its column goes on to the next line(s)
            # (never truncated), e.g. "batch_normalization (BatchN" then "ormalization)".
            left = [str(text) for text in fields]
            while any(left):
                line = ""
                for col in range(len(left)):
                    start = positions[col - 1] if col else 0
                    space = 2 if col != len(positions) - 1 else 0
                    cutoff = positions[col] - start - space - (1 if col != len(positions) - 1 else 0)
                    if col == 0:
                        line += " "
                    line += left[col][:cutoff] + " " * space
                    left[col] = left[col][cutoff:]
                    line += " " * (positions[col] - len(line))
                print_fn(line)

        print_fn(f'Model: "{self.name}"')
        print_fn("_" * line_length)
        row(["Layer (type)", "Output Shape", "Param #"])
        print_fn("=" * line_length)
        for layer in self.layers:
            row([f"{layer.name} ({type(layer).__name__})", str(layer.output_shape), layer.count_params()])
            print_fn(" " * line_length)
        print_fn("=" * line_length)
        trainable = sum(int(np.prod(w.shape)) for w in self.trainable_weights)
        non_trainable = sum(int(np.prod(w.shape)) for w in self.non_trainable_weights)
        print_fn(f"Total params: {trainable + non_trainable:,}")
        print_fn(f"Trainable params: {trainable:,}")
        print_fn(f"Non-trainable params: {non_trainable:,}")
        print_fn("_" * line_length)

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

    # ------------------------------------------------------------ compute
    def _forward(self, x, training):
        for layer in self.layers:
            x = layer.forward(x, training)
        return x

    def _backward(self, g, logits=False):
        """Backward through the layers, from g = dL/d(output) (``logits``: dL/d(the last layer's
        activation input), which enters through its backward_logits)."""
        first = next((i for i, l in enumerate(self.layers) if l.trainable_weights), None)
        if first is None:
            return
        last = len(self.layers) - 1
        for i in range(last, first - 1, -1):
            layer = self.layers[i]
            if i == last and logits:
                g = layer.backward_logits(g, need_dx=i > first)
            else:
                g = layer.backward(g, need_dx=i > first)

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
        """One batch on the device. Returns (per-sample loss, reg term, [per-sample metric values])."""
        y = self._forward(xb, training)
        fused = training and self._fused()
        per, g = self._loss_values(y, yb, training, fused)
        reg = self._reg_term()
        metric_values = [fn(yb, y) for _, fn in self._compiled_metrics]
        if training:
            self._backward(g, logits=fused)
            params = self.trainable_weights
            self.optimizer.apply([w.value for w in params], [w.grad for w in params], [w.l2 for w in params])
        return per, reg, metric_values

    def _targets(self, y, n, name="y"):
        """y as float32 with the model's output shape (a (n,) vector for one output column is reshaped)."""
        y = _host_float32(y, name)
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

    def _names(self):
        return ["loss"] + [name for name, _ in self._compiled_metrics]

    # ------------------------------------------------------------ batches
    def _array_batches(self, x_dev, y_dev, batch_size, shuffle, rng):
        """Yield (x_batch, y_batch) device arrays for one epoch."""
        xp = backend.xp(self.device)
        n = x_dev.shape[0]
        if shuffle:
            order = backend.to_device(rng.permutation(n).astype(np.int64), self.device)
        for start in range(0, n, batch_size):
            stop = min(start + batch_size, n)
            if not shuffle:
                yield x_dev[start:stop], y_dev[start:stop]
                continue
            idx = order[start:stop]
            xb = _gather(xp, x_dev, idx, self._buffers.get("xb", (stop - start,) + x_dev.shape[1:], like=x_dev))
            yb = _gather(xp, y_dev, idx, self._buffers.get("yb", (stop - start,) + y_dev.shape[1:], like=y_dev))
            yield xb, yb

    def _generator_batches(self, gen, steps, shuffle, rng):
        if _is_sequence(gen):
            order = rng.permutation(len(gen)) if shuffle else np.arange(len(gen))
            if steps > len(order):
                order = np.concatenate([order] * (-(-steps // len(order))))
            for i in order[:steps]:
                yield self._unpack(gen[int(i)])
            if hasattr(gen, "on_epoch_end"):
                gen.on_epoch_end()
        else:
            it = gen if hasattr(gen, "__next__") else iter(gen)
            for _ in range(steps):
                try:
                    item = next(it)
                except StopIteration:
                    raise ValueError(f"the generator stopped before {steps} steps; give steps_per_epoch") from None
                yield self._unpack(item)

    def _unpack(self, item):
        if not isinstance(item, (tuple, list)) or len(item) < 2:
            raise ValueError("a generator must yield (x_batch, y_batch) tuples")
        x, y = item[0], item[1]
        device = self.device or backend.get_device()
        if device != "cpu" and backend.is_device_array(x):
            # already on the model's device (an augmenting flow on the GPU): no host round trip
            x = _device_float32(backend.xp(device), x, "x batch")
        else:
            x = _host_float32(x, "x batch")
        self._ensure_built(x.shape)
        return self._to_dev(x), self._to_dev(self._targets(y, x.shape[0], "y batch"))

    # --------------------------------------------------------------- fit
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None, sample_weight=None,
            initial_epoch=0, steps_per_epoch=None, validation_steps=None, validation_batch_size=None,
            validation_freq=1, max_queue_size=10, workers=1, use_multiprocessing=False):
        """Train; returns a callbacks.History whose .history has 'loss', metrics, 'val_*' per epoch.

        Training data holding NaN or Inf is rejected (ValueError naming x or y). A
        KeyboardInterrupt (Ctrl-C, or raised by a callback) ends training early: unlike Keras,
        which re-raises, fit prints a message and returns the History of the completed epochs;
        the model stays usable and ``fit(..., initial_epoch=model.epoch)`` continues (see
        SECURITY.md). ``model.epoch`` counts completed epochs and is saved by ``model.save``.
        """
        self._require_compiled("fit")
        if class_weight is not None or sample_weight is not None:
            raise ValueError("class_weight / sample_weight: not supported")
        verbose = 1 if verbose == "auto" else verbose
        if verbose not in (0, 1, 2):
            raise ValueError(f"verbose: expected 0, 1, 2 or 'auto', got {verbose!r}")
        batch_size = 32 if batch_size is None else batch_size
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size <= 0:
            raise ValueError(f"batch_size: expected a positive int, got {batch_size!r}")
        for name, v in (("epochs", epochs), ("initial_epoch", initial_epoch)):
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 0:
                raise ValueError(f"{name}: expected a non-negative int, got {v!r}")
        if not 0.0 <= float(validation_split) < 1.0:
            raise ValueError(f"validation_split: expected a float in [0, 1), got {validation_split!r}")
        rng = backend.rng()

        _check_data_arg(x, "x")
        if _is_array(x):
            if y is None:
                raise ValueError("fit: y is required when x is an array")
            x = _check_finite(_host_float32(x, "x"), "x")
            n = x.shape[0]
            if n == 0:
                raise ValueError("fit: x is empty")
            self._ensure_built(x.shape)
            y = _check_finite(self._targets(y, n), "y")
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
            batches = lambda: self._array_batches(x_dev, y_dev, batch_size, shuffle, rng)  # noqa: E731
        else:
            if y is not None:
                raise ValueError("fit: do not give y with a generator (it yields (x, y))")
            if validation_split:
                raise ValueError("validation_split: not supported with a generator; use validation_data")
            if steps_per_epoch is None:
                if not _is_sequence(x):
                    raise ValueError("steps_per_epoch: required when x is an iterator or generator")
                steps = len(x)
            else:
                steps = int(steps_per_epoch)
            if steps <= 0:
                raise ValueError(f"steps_per_epoch: expected a positive number of steps, got {steps}")
            gen = x
            batches = lambda: self._generator_batches(gen, steps, shuffle, rng)  # noqa: E731

        val = self._validation_arrays(validation_data) if validation_data is not None else None

        history = History()
        callbacks = [history] + list(callbacks or [])  # first: records every completed epoch even if a
        # later callback raises (a KeyboardInterrupt in a checkpoint returns the History so far)
        params = {"verbose": verbose, "epochs": epochs, "steps": steps}
        for cb in callbacks:
            cb.set_model(self)
            cb.set_params(params)
        self.stop_training = False
        self.history = history
        for cb in callbacks:
            cb.on_train_begin({})
        names = self._names()
        batch_hooks = len(callbacks) > 1
        try:
            self._fit_epochs(callbacks, names, batch_hooks, batches, steps, val, batch_size,
                             validation_batch_size, initial_epoch, epochs, verbose)
        except KeyboardInterrupt:
            # Deliberately unlike Keras (which re-raises): the History so far is returned and the
            # model keeps the weights of its last completed optimizer step (kernels run with the
            # GIL released, so an interrupt never lands inside one).
            print(f"\nfit: interrupted (KeyboardInterrupt) after {self.epoch} completed epoch(s); "
                  "returning the History so far. The model is usable; resume with "
                  f"fit(..., initial_epoch={self.epoch}).", file=sys.stderr)
            sys.stderr.flush()
            self.stop_training = True
        for cb in callbacks:
            cb.on_train_end({})
        return history

    def _fit_epochs(self, callbacks, names, batch_hooks, batches, steps, val, batch_size,
                    validation_batch_size, initial_epoch, epochs, verbose):
        for epoch in range(initial_epoch, epochs):
            if verbose:
                print(f"Epoch {epoch + 1}/{epochs}")
                sys.stdout.flush()
            for cb in callbacks:
                cb.on_epoch_begin(epoch, {})
            bar = _Progbar(steps) if verbose == 1 else None
            t0 = time.time()
            sums = backend.xp(self.device).zeros(len(names), dtype=np.float64)
            seen = 0
            done = 0
            for step, (xb, yb) in enumerate(batches()):
                if step >= steps:
                    break
                if batch_hooks:
                    for cb in callbacks:
                        cb.on_train_batch_begin(step, {})
                per, reg, metric_values = self._step(xb, yb, training=True)
                nb = int(xb.shape[0])
                sums[0] += per.sum() + reg * nb
                for j, m in enumerate(metric_values):
                    sums[1 + j] += m.sum()
                seen += nb
                done = step + 1
                if batch_hooks:
                    logs = {k: sums[i] / seen for i, k in enumerate(names)}
                    for cb in callbacks:
                        cb.on_train_batch_end(step, logs)
                    if self.stop_training:  # e.g. TerminateOnNaN: stop after this batch (Keras 3)
                        break
                if bar is not None and done < steps and bar.due():
                    bar.update(done, self._logs(names, sums, seen))
            logs = self._logs(names, sums, seen)
            if val is not None:
                vals = self._evaluate_device(val, batch_size if validation_batch_size is None
                                             else validation_batch_size)
                logs.update({f"val_{k}": v for k, v in zip(names, vals)})
            elapsed = time.time() - t0
            if bar is not None:
                bar.update(done, logs, final=True)
            self.epoch = epoch + 1  # completed epochs: saved with the model, for initial_epoch on resume
            for cb in callbacks:
                cb.on_epoch_end(epoch, logs)
            if verbose == 2:
                print(f"{done}/{steps} - {elapsed:.0f}s{_fmt_logs(logs)} - {elapsed:.0f}s/epoch - "
                      f"{_fmt_step_time(elapsed / max(done, 1))}")
                sys.stdout.flush()
            if self.stop_training:
                break

    def fit_generator(self, generator, steps_per_epoch=None, epochs=1, verbose=1, callbacks=None,
                      validation_data=None, validation_steps=None, class_weight=None, max_queue_size=10,
                      workers=1, use_multiprocessing=False, shuffle=True, initial_epoch=0):
        """Keras 2's spelling of fit(generator, ...)."""
        return self.fit(generator, steps_per_epoch=steps_per_epoch, epochs=epochs, verbose=verbose,
                        callbacks=callbacks, validation_data=validation_data, validation_steps=validation_steps,
                        class_weight=class_weight, shuffle=shuffle, initial_epoch=initial_epoch)

    @staticmethod
    def _logs(names, sums, seen):
        values = backend.to_numpy(sums) / max(seen, 1)
        return {k: float(v) for k, v in zip(names, values)}

    def _validation_arrays(self, data, prefix="validation_data "):
        if _is_sequence(data) or (not isinstance(data, (tuple, list)) and _is_iterator(data)):
            if not _is_sequence(data):
                raise ValueError("validation_data: give (x_val, y_val) arrays or a Sequence")
            return data
        if not isinstance(data, (tuple, list)) or len(data) not in (2, 3):
            raise ValueError("validation_data: expected (x_val, y_val)")
        xv = _check_finite(_host_float32(data[0], prefix + "x"), prefix + "x")
        self._ensure_built(xv.shape)
        yv = _check_finite(self._targets(data[1], xv.shape[0], prefix + "y"), prefix + "y")
        return self._to_dev(xv), self._to_dev(yv)

    def _evaluate_device(self, data, batch_size, bar=None):
        """Mean loss (with the L2 term) and metrics over device arrays or a Sequence (inference mode)."""
        names = self._names()
        sums = backend.xp(self.device).zeros(len(names), dtype=np.float64)
        seen = 0
        if isinstance(data, tuple):
            x_dev, y_dev = data
            batches = ((x_dev[i:i + batch_size], y_dev[i:i + batch_size])
                       for i in range(0, x_dev.shape[0], batch_size))
        else:
            batches = (self._unpack(data[i]) for i in range(len(data)))
        for step, (xb, yb) in enumerate(batches):
            per, reg, metric_values = self._step(xb, yb, training=False)
            nb = int(xb.shape[0])
            sums[0] += per.sum() + reg * nb
            for j, m in enumerate(metric_values):
                sums[1 + j] += m.sum()
            seen += nb
            if bar is not None and bar.due():
                bar.update(step + 1, self._logs(names, sums, seen))
        if seen == 0:
            raise ValueError("evaluate: no samples")
        values = backend.to_numpy(sums) / seen
        if bar is not None:
            bar.update(bar.target, {k: float(v) for k, v in zip(names, values)}, final=True)
        return [float(v) for v in values]

    # ----------------------------------------------------------- evaluate
    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None,
                 callbacks=None, return_dict=False):
        """Loss (with the L2 terms) and metrics in inference mode: a float, or [loss, metrics...]."""
        self._require_compiled("evaluate")
        verbose = 1 if verbose == "auto" else verbose
        batch_size = 32 if batch_size is None else _positive_int(batch_size, "batch_size")
        _check_data_arg(x, "x")
        if _is_array(x):
            data = self._validation_arrays((x, y), prefix="")
            total = -(-data[0].shape[0] // batch_size)
        else:
            data = self._validation_arrays(x)
            total = len(data)
        bar = _Progbar(total) if verbose == 1 else None
        values = self._evaluate_device(data, batch_size, bar)
        if return_dict:
            return dict(zip(self._names(), values))
        return values[0] if len(values) == 1 else values

    # ------------------------------------------------------------ predict
    def predict(self, x, batch_size=None, verbose=0, steps=None, callbacks=None):
        """Outputs for x (inference mode) as a NumPy array."""
        batch_size = 32 if batch_size is None else _positive_int(batch_size, "batch_size")
        _check_data_arg(x, "x")
        if _is_sequence(x):
            outs = [self.predict(self._unpack_x(x[i]), batch_size) for i in range(len(x))]
            return np.concatenate(outs, axis=0)
        x = _host_float32(x, "x")
        self._ensure_built(x.shape)
        x_dev = self._to_dev(x)
        n = x.shape[0]
        xp = backend.xp(self.device)
        result = xp.empty((n,) + tuple(self.output_shape[1:]), dtype=np.float32)
        bar = _Progbar(-(-n // batch_size)) if verbose == 1 else None
        for step, i in enumerate(range(0, n, batch_size)):
            result[i:i + batch_size] = self._forward(x_dev[i:i + batch_size], False)
            if bar is not None and bar.due():
                bar.update(step + 1)
        if bar is not None:
            bar.update(bar.target, final=True)
        return backend.to_numpy(result)

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
        _check_data_arg(x, "x")
        x = _check_finite(_host_float32(x, "x"), "x")
        if x.shape[0] == 0:
            raise ValueError("x: an empty batch")
        self._ensure_built(x.shape)
        y = _check_finite(self._targets(y, x.shape[0]), "y")
        per, reg, metric_values = self._step(self._to_dev(x), self._to_dev(y), training)
        n = x.shape[0]
        xp = backend.xp(self.device)
        sums = xp.zeros(1 + len(metric_values), dtype=np.float64)
        sums[0] += per.sum() + reg * n
        for j, m in enumerate(metric_values):
            sums[1 + j] += m.sum()
        values = [float(v) for v in backend.to_numpy(sums) / n]
        return values[0] if len(values) == 1 else values

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, reset_metrics=True,
                       return_dict=False):
        """One optimizer step on (x, y); returns the batch loss (then the metrics), computed before the step."""
        out = self._batch(x, y, True)
        return dict(zip(self._names(), out if isinstance(out, list) else [out])) if return_dict else out

    def test_on_batch(self, x, y=None, sample_weight=None, reset_metrics=True, return_dict=False):
        out = self._batch(x, y, False)
        return dict(zip(self._names(), out if isinstance(out, list) else [out])) if return_dict else out

    # ------------------------------------------------------------- config
    def get_config(self):
        return {"name": self.name, "layers": [_layers.serialize(l) for l in self.layers],
                "build_input_shape": list(self._build_input_shape) if self._build_input_shape else None}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        model = cls(name=config.get("name"))
        for layer_cfg in config.get("layers", []):
            model.add(_layers.deserialize(layer_cfg, custom_objects))
        shape = config.get("build_input_shape")
        if shape is not None and not model.built:
            model.build(tuple(shape))
        return model

    def to_json(self):
        return json.dumps({"class_name": "Sequential", "config": self.get_config()})

    # --------------------------------------------------------------- files
    def save_weights(self, filepath, overwrite=True, save_format=None):
        """Weights to ``filepath`` in cudnn_lite's .npz format (any extension; see cudnn_lite.saving)."""
        from . import saving
        saving.save_weights(self, filepath)

    def load_weights(self, filepath, by_name=False, skip_mismatch=False):
        from . import saving
        if by_name or skip_mismatch:
            raise ValueError("by_name / skip_mismatch: not supported")
        saving.load_weights(self, filepath)

    def save(self, filepath, overwrite=True, include_optimizer=True, save_format=None):
        """Architecture + weights + optimizer (config and state) to ``filepath`` (see cudnn_lite.saving)."""
        from . import saving
        saving.save_model(self, filepath, include_optimizer=include_optimizer)

    def __repr__(self):
        return f"<Sequential name={self.name!r} layers={len(self.layers)}>"



def load_model(filepath, custom_objects=None, compile=True):
    """Rebuild a model saved with ``model.save(filepath)``."""
    from . import saving
    return saving.load_model(filepath, custom_objects=custom_objects, compile=compile)
