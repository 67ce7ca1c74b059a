"""Pooling layers over NHWC input: MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D."""
from __future__ import annotations

from .. import ops
from .arguments import pair, padding_mode
from .core import Layer

__all__ = ["MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D", "MaxPool2D", "AvgPool2D",
           "GlobalAvgPool2D"]


class _Pooling2D(Layer):
    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.pool_size = pair(pool_size, "pool_size")
        self.strides = self.pool_size if strides is None else pair(strides, "strides")
        self.padding = padding_mode(padding)
        if data_format not in (None, "channels_last"):
            raise ValueError(f"data_format: only 'channels_last' is supported, got {data_format!r}")

    def build(self, input_shape):
        if len(input_shape) != 4 or any(s is None for s in input_shape[1:]):
            raise ValueError(f"{self.name}: expects inputs (batch, height, width, channels), got {input_shape}")

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        _, oh, ow, _ = ops.pool_output_shape((1, h, w, c), self.pool_size, self.strides, self.padding)
        return (n, oh, ow, c)

    def get_config(self):
        return {**super().get_config(), "pool_size": list(self.pool_size), "strides": list(self.strides),
                "padding": self.padding}


class MaxPooling2D(_Pooling2D):
    """Max over each window; the gradient goes to the first maximum (Keras on ties)."""

    def forward(self, x, training=False):
        self._x = x
        return ops.maxpool2d_forward(x, self.pool_size, self.strides, self.padding,
                                     out=self._buffers.get("y", (x.shape[0],) + self.output_shape[1:], like=x))

    def backward(self, dy, need_dx=True):
        if not need_dx:
            return None
        return ops.maxpool2d_backward(self._x, dy, self.pool_size, self.strides, self.padding,
                                      out=self._buffers.get("dx", self._x.shape, like=dy))


class AveragePooling2D(_Pooling2D):
    """Mean over each window (padded cells not counted)."""

    def forward(self, x, training=False):
        self._x_shape = x.shape
        return ops.avgpool2d_forward(x, self.pool_size, self.strides, self.padding,
                                     out=self._buffers.get("y", (x.shape[0],) + self.output_shape[1:], like=x))

    def backward(self, dy, need_dx=True):
        if not need_dx:
            return None
        return ops.avgpool2d_backward(dy, self._x_shape, self.pool_size, self.strides, self.padding,
                                      out=self._buffers.get("dx", self._x_shape, like=dy))


class GlobalAveragePooling2D(Layer):
    """(n, h, w, c) -> (n, c): the mean over height and width."""

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        if data_format not in (None, "channels_last"):
            raise ValueError(f"data_format: only 'channels_last' is supported, got {data_format!r}")
        if keepdims:
            raise ValueError("keepdims=True is not supported")

    def build(self, input_shape):
        if len(input_shape) != 4:
            raise ValueError(f"{self.name}: expects inputs (batch, height, width, channels), got {input_shape}")

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])

    def forward(self, x, training=False):
        self._x_shape = x.shape
        return ops.global_avgpool2d_forward(x, out=self._buffers.get("y", (x.shape[0], x.shape[-1]), like=x))

    def backward(self, dy, need_dx=True):
        if not need_dx:
            return None
        return ops.global_avgpool2d_backward(dy, self._x_shape,
                                             out=self._buffers.get("dx", self._x_shape, like=dy))


MaxPool2D, AvgPool2D, GlobalAvgPool2D = MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D
