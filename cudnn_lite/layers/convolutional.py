"""Conv2D: 2-D convolution over NHWC input with an HWIO kernel (Keras's layout).

As Keras 2's ``keras.layers.convolutional`` did, this module also exports the pooling layers
(``from keras.layers.convolutional import Conv2D, MaxPooling2D``).
"""
from __future__ import annotations

from .. import activations as _activations
from .. import initializers as _initializers
from .. import ops
from .. import regularizers as _regularizers
from .arguments import pair, padding_mode
from .core import Layer, positive_int
from .pooling import (AveragePooling2D, AvgPool2D, GlobalAveragePooling2D, GlobalAvgPool2D, MaxPool2D,
                      MaxPooling2D)

__all__ = ["Conv2D", "Convolution2D", "pair", "padding_mode", "MaxPooling2D", "MaxPool2D", "AveragePooling2D",
           "AvgPool2D", "GlobalAveragePooling2D", "GlobalAvgPool2D"]


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
