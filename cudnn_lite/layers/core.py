"""Layer base class and the core layers: Dense, Flatten, Activation, LeakyReLU, Dropout.

A layer's life: ``__init__`` validates the hyperparameters (ValueError naming
the argument); ``build(input_shape)`` creates the weights with Keras's shapes
(on the host; the model's ``_build(input_shape, device)`` then moves them to
the model's device); ``forward(x, training)`` and ``backward(dy)`` run the
kernels of :mod:`cudnn_lite.ops`, writing into buffers the layer keeps per
shape (``out=``), so a training step allocates no big arrays once the first
batch of a given size has been seen. ``backward`` fills each weight's ``grad``
and returns dx (or None when ``need_dx`` is False, for the first layer).

A layer holds no device of its own: ``layer.device`` is where its weights are
(the model's device), and a layer without weights runs wherever its input is.
"""
from __future__ import annotations

import numbers

import numpy as np

from .. import activations as _activations
from .. import backend
from .. import initializers as _initializers
from .. import ops
from .. import regularizers as _regularizers

__all__ = ["Weight", "Layer", "Dense", "Flatten", "Activation", "LeakyReLU", "Dropout", "InputLayer"]


def positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"{name}: expected a positive int, got {value!r}")
    return int(value)


def shape_tuple(value, name):
    """An input shape without the batch axis: a tuple of positive ints (None allowed)."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = (value,)
    try:
        shape = tuple(None if s is None else int(s) for s in value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected a tuple of ints, got {value!r}") from None
    if not shape or any(s is not None and s <= 0 for s in shape):
        raise ValueError(f"{name}: expected a non-empty tuple of positive ints, got {value!r}")
    return shape


class Weight:
    """One weight array of a layer (on the model's device) and its gradient buffer."""

    __slots__ = ("name", "value", "grad", "trainable", "l2")

    def __init__(self, name, value, trainable=True, l2=0.0):
        self.name = name
        self.value = value
        self.trainable = trainable
        self.l2 = float(l2)
        self.grad = None
        if trainable:
            self.grad = backend.array_module(value).zeros(value.shape, dtype=np.float32)

    @property
    def shape(self):
        return tuple(self.value.shape)

    @property
    def device(self):
        return backend.device_of(self.value)

    def to(self, device):
        self.value = backend.to_device(self.value, device)
        if self.grad is not None:
            self.grad = backend.to_device(self.grad, device)

    def numpy(self):
        return backend.to_numpy(self.value).copy()


class Layer:
    """Base class of every layer (Keras names and conventions)."""

    def __init__(self, name=None, trainable=True, input_shape=None, input_dim=None,
                 batch_input_shape=None, dtype=None, **kwargs):
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unexpected keyword argument(s) {sorted(kwargs)}")
        if dtype not in (None, "float32", np.float32):
            raise ValueError(f"dtype: only 'float32' is supported, got {dtype!r}")
        if name is not None and (not isinstance(name, str) or not name):
            raise ValueError(f"name: expected a non-empty string, got {name!r}")
        self.name = name or backend.unique_name(type(self).__name__)
        self.trainable = bool(trainable)
        if input_dim is not None:
            input_shape = (positive_int(input_dim, "input_dim"),)
        self._batch_input_shape = None
        if batch_input_shape is not None:
            self._batch_input_shape = (None,) + shape_tuple(tuple(batch_input_shape)[1:], "batch_input_shape")
        elif input_shape is not None:
            self._batch_input_shape = (None,) + shape_tuple(input_shape, "input_shape")
        self.built = False
        self.input_shape = None
        self.output_shape = None
        self._weights: list[Weight] = []
        self._buffers = backend.BufferCache()  # out= arrays of forward/backward, per shape

    # ---------------------------------------------------------- weights
    def add_weight(self, name, shape, initializer="zeros", trainable=True, regularizer=None):
        """A new weight, initialised on the host; it joins the layer's other weights on their device
        (during build, the host: _build then moves them all to the model's device)."""
        init = _initializers.get(initializer)
        value = np.asarray(init(tuple(shape)), dtype=np.float32).reshape(tuple(shape))
        reg = _regularizers.get(regularizer)
        w = Weight(name, backend.to_device(value, self.device or "cpu", np.float32), trainable,
                   reg.l2 if reg is not None else 0.0)
        self._weights.append(w)
        return w

    @property
    def device(self):
        """'cpu' or 'cuda': where the layer's weights are; None for a layer without weights."""
        return self._weights[0].device if self._weights else None

    @property
    def weights(self):
        """Trainable then non-trainable weights (Keras's order)."""
        return self.trainable_weights + self.non_trainable_weights

    @property
    def trainable_weights(self):
        return [w for w in self._weights if w.trainable] if self.trainable else []

    @property
    def non_trainable_weights(self):
        if not self.trainable:
            return list(self._weights)
        return [w for w in self._weights if not w.trainable]

    def get_weights(self):
        return [w.numpy() for w in self.weights]

    def set_weights(self, weights):
        mine = self.weights
        weights = list(weights)
        if len(weights) != len(mine):
            raise ValueError(f"layer {self.name!r}: expected {len(mine)} weight arrays, got {len(weights)}")
        for w, v in zip(mine, weights):
            v = np.asarray(backend.to_numpy(v))
            if tuple(v.shape) != w.shape:
                raise ValueError(f"layer {self.name!r}, weight {w.name!r}: expected shape {w.shape}, "
                                 f"got {tuple(v.shape)}")
            w.value[...] = backend.to_device(v, w.device, np.float32)

    def count_params(self):
        if not self.built:
            raise ValueError(f"layer {self.name!r} is not built yet: its parameter count is unknown")
        return int(sum(int(np.prod(w.shape)) for w in self._weights))

    # ---------------------------------------------------------- building
    def build(self, input_shape):
        """Create the weights for ``input_shape`` (batch axis first, None). Subclasses extend."""

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def _build(self, input_shape, device):
        """Build for ``input_shape`` with the weights on ``device`` (the model calls this with its
        own); a layer built before (called on an array, or in another model) is checked against
        the shape and moved to ``device``. Returns the output shape."""
        input_shape = tuple(input_shape)
        if self.built:
            if tuple(input_shape[1:]) != tuple(self.input_shape[1:]):
                raise ValueError(f"layer {self.name!r} was built for input shape {self.input_shape}, "
                                 f"got {input_shape}")
            if self._weights and self.device != device:
                self.to(device)
            return self.output_shape
        self.input_shape = (None,) + tuple(input_shape[1:])
        self.build(self.input_shape)
        self.output_shape = tuple(self.compute_output_shape(self.input_shape))
        self.built = True
        self.to(device)
        return self.output_shape

    def to(self, device):
        """Move the weights (and drop the buffers) to ``device``."""
        for w in self._weights:
            w.to(device)
        self._buffers.clear()

    def release_buffers(self):
        self._buffers.clear()

    # ---------------------------------------------------------- compute
    def forward(self, x, training=False):
        raise NotImplementedError

    def backward(self, dy, need_dx=True):
        raise NotImplementedError

    def __call__(self, x, training=False):
        """Run the layer on an array (builds it on first use, on x's device); returns an array on
        the layer's device (x's, for a layer without weights)."""
        if not self.built:
            self._build((None,) + tuple(x.shape[1:]), backend.device_of(x))
        x = backend.to_device(x, self.device or backend.device_of(x), np.float32)
        return self.forward(x, training).copy()

    def _activation_backward(self, act, y, dy, key="dz"):
        """Gradient through ``act`` given its output y."""
        if act.name == "linear":
            return dy
        out = self._buffers.get(key, dy.shape, like=dy)
        if act.name == "softmax":
            return ops.softmax_backward(y, dy, out=out)
        # relu/leaky_relu/step read the sign of x, which y shares; sigmoid/tanh read y
        return ops.activation_backward(y, y, dy, act.name, act.alpha, out=out)

    # ---------------------------------------------------------- config
    def get_config(self):
        config = {"name": self.name, "trainable": self.trainable, "dtype": "float32"}
        if self._batch_input_shape is not None:
            config["batch_input_shape"] = list(self._batch_input_shape)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r}>"


class InputLayer(Layer):
    """Keras's InputLayer(input_shape=...): only declares the input shape of a Sequential."""

    def __init__(self, input_shape=None, batch_input_shape=None, name=None, **kwargs):
        if input_shape is None and batch_input_shape is None:
            raise ValueError("input_shape: required by InputLayer")
        super().__init__(name=name, input_shape=input_shape, batch_input_shape=batch_input_shape, **kwargs)

    def forward(self, x, training=False):
        return x

    def backward(self, dy, need_dx=True):
        return dy


class Dense(Layer):
    """y = activation(x @ kernel + bias); kernel (in, units). Applies to the last axis."""

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        self.units = positive_int(units, "units")
        self.activation = _activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = _initializers.get(kernel_initializer)
        self.bias_initializer = _initializers.get(bias_initializer)
        self.kernel_regularizer = _regularizers.get(kernel_regularizer)
        self.bias_regularizer = _regularizers.get(bias_regularizer)

    def build(self, input_shape):
        if len(input_shape) < 2 or input_shape[-1] is None:
            raise ValueError(f"{self.name}: Dense needs a known last input axis, got input shape {input_shape}")
        self.kernel = self.add_weight("kernel", (input_shape[-1], self.units), self.kernel_initializer,
                                      regularizer=self.kernel_regularizer)
        self.bias = self.add_weight("bias", (self.units,), self.bias_initializer,
                                    regularizer=self.bias_regularizer) if self.use_bias else None

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def forward(self, x, training=False):
        lead = x.shape[:-1]
        x2 = x.reshape(-1, x.shape[-1])
        rows = x2.shape[0]
        b = self.bias.value if self.bias is not None else None
        act = self.activation
        if act.name == "softmax":
            z = ops.dense_forward(x2, self.kernel.value, b, "linear",
                                  out=self._buffers.get("z", (rows, self.units), like=x2))
            y = ops.softmax_forward(z, out=self._buffers.get("y", (rows, self.units), like=x2))
        else:
            y = ops.dense_forward(x2, self.kernel.value, b, act.name, act.alpha,
                                  out=self._buffers.get("y", (rows, self.units), like=x2))
        self._x, self._y = x2, y
        return y.reshape(tuple(lead) + (self.units,))

    def backward(self, dy, need_dx=True):
        dz = self._activation_backward(self.activation, self._y, dy.reshape(-1, self.units))
        return self.backward_logits(dz.reshape(dy.shape), need_dx)

    def backward_logits(self, dz, need_dx=True):
        """backward() from dz, the gradient w.r.t. z = x @ kernel + bias (the activation's input):
        the model's fused softmax + cross-entropy gradient enters here."""
        in_shape = self._x.shape
        dz2 = dz.reshape(-1, self.units)
        ops.sgemm(self._x, dz2, trans_a=True, out=self.kernel.grad)
        if self.bias is not None:
            ops.bias_backward(dz2, out=self.bias.grad)
        if not need_dx:
            return None
        dx = ops.sgemm(dz2, self.kernel.value, trans_b=True, out=self._buffers.get("dx", in_shape, like=dz2))
        return dx.reshape(tuple(dz.shape[:-1]) + (in_shape[-1],))

    def get_config(self):
        return {**super().get_config(), "units": self.units,
                "activation": _activations.serialize(self.activation), "use_bias": self.use_bias,
                "kernel_initializer": _initializers.serialize(self.kernel_initializer),
                "bias_initializer": _initializers.serialize(self.bias_initializer),
                "kernel_regularizer": _regularizers.serialize(self.kernel_regularizer),
                "bias_regularizer": _regularizers.serialize(self.bias_regularizer)}


class Flatten(Layer):
    """(batch, d1, d2, ...) -> (batch, d1 * d2 * ...)."""

    def __init__(self, data_format=None, **kwargs):
        if data_format not in (None, "channels_last"):
            raise ValueError(f"data_format: only 'channels_last' is supported, got {data_format!r}")
        super().__init__(**kwargs)

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        if any(s is None for s in rest):
            raise ValueError(f"{self.name}: Flatten needs a fully known input shape, got {input_shape}")
        return (input_shape[0], int(np.prod(rest)) if rest else 1)

    def forward(self, x, training=False):
        self._in_shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dy, need_dx=True):
        return dy.reshape(self._in_shape) if need_dx else None


class Activation(Layer):
    """Applies an activation: 'relu', 'sigmoid', 'tanh', 'softmax', 'step', 'leaky_relu', 'linear'."""

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = _activations.get(activation)

    def forward(self, x, training=False):
        act = self.activation
        if act.name == "linear":
            y = x
        elif act.name == "softmax":
            y = ops.softmax_forward(x, out=self._buffers.get("y", x.shape, like=x))
        else:
            y = ops.activation_forward(x, act.name, act.alpha, out=self._buffers.get("y", x.shape, like=x))
        self._x, self._y = x, y
        return y

    def backward(self, dy, need_dx=True):
        if not need_dx:
            return None
        act = self.activation
        if act.name in ("linear", "softmax"):
            return self._activation_backward(act, self._y, dy, "dx")
        return ops.activation_backward(self._x, self._y, dy, act.name, act.alpha,
                                       out=self._buffers.get("dx", dy.shape, like=dy))

    def backward_logits(self, dz, need_dx=True):
        """backward() from dz, the gradient w.r.t. the activation's input (the model's fused
        softmax + cross-entropy gradient)."""
        return dz if need_dx else None

    def get_config(self):
        return {**super().get_config(), "activation": _activations.serialize(self.activation)}


class LeakyReLU(Activation):
    """Keras's LeakyReLU layer: y = x if x > 0 else alpha * x (Keras default alpha 0.3)."""

    def __init__(self, alpha=0.3, negative_slope=None, **kwargs):
        if negative_slope is not None:  # Keras 3 spelling
            alpha = negative_slope
        if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not 0 <= alpha < float("inf"):
            raise ValueError(f"alpha: expected a non-negative number, got {alpha!r}")
        kwargs.pop("activation", None)
        super().__init__(_activations.ActivationFunction("leaky_relu", float(alpha)), **kwargs)
        self.alpha = float(alpha)

    def get_config(self):
        config = super().get_config()
        config.pop("activation")
        config["alpha"] = self.alpha
        return config


class Dropout(Layer):
    """Training: zero each element with probability ``rate`` and scale the rest by 1/(1-rate).

    The mask comes from ops.dropout_forward's counter-based RNG: a per-layer
    ``seed`` (drawn from backend.set_random_seed's generator when None) and an
    offset advanced by the element count each call, so runs are reproducible.
    Inference: identity.
    """

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        from .. import ops
        rate = ops.check_dropout_rate(rate)  # the kernels' rule (ValueError naming rate)
        if noise_shape is not None:
            raise ValueError("noise_shape: not supported (use None)")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0):
            raise ValueError(f"seed: expected a non-negative int or None, got {seed!r}")
        self.rate = float(rate)
        self.seed = seed
        self._seed = int(seed) if seed is not None else backend.new_seed()
        self._offset = 0
        self._active = False

    def forward(self, x, training=False):
        self._active = bool(training) and self.rate > 0.0
        if not self._active:
            return x
        self._call_offset = self._offset
        self._offset += int(x.size)
        return ops.dropout_forward(x, self.rate, self._seed, self._call_offset,
                                   out=self._buffers.get("y", x.shape, like=x))

    def backward(self, dy, need_dx=True):
        if not need_dx:
            return None
        if not self._active:
            return dy
        return ops.dropout_backward(dy, self.rate, self._seed, self._call_offset,
                                    out=self._buffers.get("dx", dy.shape, like=dy))

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "noise_shape": None, "seed": self.seed}

    def get_rng_state(self):
        """The mask stream's position: saved by model.save so a resumed fit draws the same masks."""
        return {"seed": int(self._seed), "offset": int(self._offset)}

    def set_rng_state(self, state):
        seed, offset = state.get("seed"), state.get("offset")
        for name, v in (("seed", seed), ("offset", offset)):
            if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < 2**64:
                raise ValueError(f"dropout rng state: {name} must be an int in [0, 2**64), got {v!r}")
        self._seed, self._offset = seed, offset
