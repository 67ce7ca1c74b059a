"""Conv2D: 2-D convolution over NHWC input with an HWIO kernel (Keras's layout)."""
from __future__ import annotations

import numbers
import warnings

from .. import activations as _activations
from .. import initializers as _initializers
from .. import ops
from .. import regularizers as _regularizers
from .core import Layer, positive_int

__all__ = ["Conv2D", "Convolution2D", "pair", "padding_mode"]


def pair(value, name):
    """An int, a pair of ints, or (the textbook's typo) a digit string like '1' -> (a, b)."""
    if isinstance(value, str):
        if value.strip().isdigit():
            warnings.warn(f"{name}={value!r} is a string; using the int {int(value)}", stacklevel=4)
            value = int(value)
        else:
            raise ValueError(f"{name}: expected an int or a pair of ints, got {value!r}")
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = (int(value), int(value))
    try:
        a, b = value
        return positive_int(a, name), positive_int(b, name)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected a positive int or a pair of positive ints, got {value!r}") from None


def padding_mode(value):
    if not isinstance(value, str) or value.lower() not in ("valid", "same"):
        raise ValueError(f"padding: expected 'valid' or 'same', got {value!r}")
    return value.lower()


class Conv2D(Layer):
    """y = activation(conv(x, kernel) + bias); x (n, h, w, c), kernel (kh, kw, c, filters)."""

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        self.filters = positive_int(filters, "filters")
        self.kernel_size = pair(kernel_size, "kernel_size")
        self.strides = pair(strides, "strides")
        self.padding = padding_mode(padding)
        if data_format not in (None, "channels_last"):
            raise ValueError(f"data_format: only 'channels_last' is supported, got {data_format!r}")
        if pair(dilation_rate, "dilation_rate") != (1, 1):
            raise ValueError(f"dilation_rate: only 1 is supported, got {dilation_rate!r}")
        self.activation = _activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = _initializers.get(kernel_initializer)
        self.bias_initializer = _initializers.get(bias_initializer)
        self.kernel_regularizer = _regularizers.get(kernel_regularizer)
        self.bias_regularizer = _regularizers.get(bias_regularizer)

    def build(self, input_shape):
        if len(input_shape) != 4 or any(s is None for s in input_shape[1:]):
            raise ValueError(f"{self.name}: Conv2D expects inputs (batch, height, width, channels) with known "
                             f"sizes, got input shape {input_shape}")
        kh, kw = self.kernel_size
        self.kernel = self.add_weight("kernel", (kh, kw, input_shape[-1], self.filters), self.kernel_initializer,
                                      regularizer=self.kernel_regularizer)
        self.bias = self.add_weight("bias", (self.filters,), self.bias_initializer,
                                    regularizer=self.bias_regularizer) if self.use_bias else None

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        _, oh, ow, k = ops.conv_output_shape((1, h, w, c), self.filters, self.kernel_size, self.strides,
                                             self.padding)
        return (n, oh, ow, k)

    def forward(self, x, training=False):
        out_shape = (x.shape[0],) + tuple(self.output_shape[1:])
        b = self.bias.value if self.bias is not None else None
        act = self.activation
        if act.name == "softmax":
            z = ops.conv2d_forward(x, self.kernel.value, b, self.strides, self.padding, "linear",
                                   out=self._buffers.get("z", out_shape, like=x))
            y = ops.softmax_forward(z, out=self._buffers.get("y", out_shape, like=x))
        else:
            y = ops.conv2d_forward(x, self.kernel.value, b, self.strides, self.padding, act.name, act.alpha,
                                   out=self._buffers.get("y", out_shape, like=x))
        self._x, self._y = x, y
        return y

    def backward(self, dy, need_dx=True):
        dz = self._activation_backward(self.activation, self._y, dy)
        ops.conv2d_backward_filter(self._x, dz, self.kernel.shape, self.strides, self.padding, out=self.kernel.grad)
        if self.bias is not None:
            ops.bias_backward(dz, out=self.bias.grad)
        if not need_dx:
            return None
        return ops.conv2d_backward_data(dz, self.kernel.value, self._x.shape, self.strides, self.padding,
                                        out=self._buffers.get("dx", self._x.shape, like=dz))

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": list(self.kernel_size),
                "strides": list(self.strides), "padding": self.padding,
                "activation": _activations.serialize(self.activation), "use_bias": self.use_bias,
                "kernel_initializer": _initializers.serialize(self.kernel_initializer),
                "bias_initializer": _initializers.serialize(self.bias_initializer),
                "kernel_regularizer": _regularizers.serialize(self.kernel_regularizer),
                "bias_regularizer": _regularizers.serialize(self.bias_regularizer)}


Convolution2D = Conv2D  # Keras 1/2 alias
