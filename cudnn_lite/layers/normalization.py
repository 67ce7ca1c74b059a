"""BatchNormalization over the last (channels) axis, Keras's defaults.

Weights, in Keras's order: gamma, beta (trainable), moving_mean,
moving_variance (non-trainable; updated in place by the training forward with
``moving = moving * momentum + batch * (1 - momentum)``, biased variance).
Keras 2's ``from keras.layers.normalization import BatchNormalization`` maps to
``from cudnn_lite.layers.normalization import BatchNormalization``.
"""
from __future__ import annotations

import numbers

import numpy as np

from .. import backend
from .. import initializers as _initializers
from .. import ops
from .. import regularizers as _regularizers
from .core import Layer

__all__ = ["BatchNormalization"]


class BatchNormalization(Layer):
    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", moving_mean_initializer="zeros",
                 moving_variance_initializer="ones", beta_regularizer=None, gamma_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
            raise ValueError(f"axis: expected an int (the channels axis, -1), got {axis!r}")
        for name, v in (("momentum", momentum), ("epsilon", epsilon)):
            if isinstance(v, bool) or not isinstance(v, numbers.Real):
                raise ValueError(f"{name}: expected a number, got {v!r}")
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"momentum: expected a value in [0, 1], got {momentum!r}")
        if not epsilon > 0:
            raise ValueError(f"epsilon: expected a positive number, got {epsilon!r}")
        self.axis = int(axis)
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.center = bool(center)
        self.scale = bool(scale)
        self.beta_initializer = _initializers.get(beta_initializer)
        self.gamma_initializer = _initializers.get(gamma_initializer)
        self.moving_mean_initializer = _initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = _initializers.get(moving_variance_initializer)
        self.beta_regularizer = _regularizers.get(beta_regularizer)
        self.gamma_regularizer = _regularizers.get(gamma_regularizer)
        self._sync = None  # cudnn_lite.distribute's SyncBatchNorm while a sync-BN fit runs

    def build(self, input_shape):
        ndim = len(input_shape)
        if self.axis not in (-1, ndim - 1):
            raise ValueError(f"axis: only the last axis (-1) is supported (channels-last), got {self.axis}")
        c = input_shape[-1]
        if c is None:
            raise ValueError(f"{self.name}: the channels axis must be known, got input shape {input_shape}")
        self.gamma = self.add_weight("gamma", (c,), self.gamma_initializer,
                                     regularizer=self.gamma_regularizer) if self.scale else None
        self.beta = self.add_weight("beta", (c,), self.beta_initializer,
                                    regularizer=self.beta_regularizer) if self.center else None
        self.moving_mean = self.add_weight("moving_mean", (c,), self.moving_mean_initializer, trainable=False)
        self.moving_variance = self.add_weight("moving_variance", (c,), self.moving_variance_initializer,
                                               trainable=False)
        self._ones = np.ones((c,), dtype=np.float32)  # stand-ins for gamma/beta when scale/center are off;
        self._zeros = np.zeros((c,), dtype=np.float32)  # to() moves them with the weights

    def to(self, device):
        super().to(device)
        self._ones = backend.to_device(self._ones, device)
        self._zeros = backend.to_device(self._zeros, device)

    def _gamma_beta(self):
        return (self.gamma.value if self.gamma is not None else self._ones,
                self.beta.value if self.beta is not None else self._zeros)

    def forward(self, x, training=False):
        gamma, beta = self._gamma_beta()
        out = self._buffers.get("y", x.shape, like=x)
        self._training = bool(training) and self.trainable
        if self._training and self._sync is not None:
            y = self._sync.forward(self, x, gamma, beta, out)
        elif self._training:
            y, self._save_mean, self._save_invstd = ops.batchnorm_forward_train(
                x, gamma, beta, self.moving_mean.value, self.moving_variance.value, self.momentum,
                self.epsilon, out=out)
        else:
            y = ops.batchnorm_forward_inference(x, gamma, beta, self.moving_mean.value,
                                                self.moving_variance.value, self.epsilon, out=out)
        self._x = x
        return y

    def backward(self, dy, need_dx=True):
        gamma, _ = self._gamma_beta()
        if not self._training:  # frozen layer (trainable=False): y = x * scale + shift, scale per channel
            if not need_dx:
                return None
            xp = backend.array_module(dy)
            scale = gamma / xp.sqrt(self.moving_variance.value + np.float32(self.epsilon))
            return xp.multiply(dy, scale, out=self._buffers.get("dx", dy.shape, like=dy))
        dx_out = self._buffers.get("dx", self._x.shape, like=dy)
        if self._sync is not None:
            dx, dgamma, dbeta = self._sync.backward(self, self._x, dy, gamma, dx_out)
        else:
            dx, dgamma, dbeta = ops.batchnorm_backward(self._x, dy, gamma, self._save_mean, self._save_invstd,
                                                       out=dx_out)
        if self.gamma is not None:
            self.gamma.grad[...] = dgamma
        if self.beta is not None:
            self.beta.grad[...] = dbeta
        return dx if need_dx else None

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "momentum": self.momentum, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale,
                "beta_initializer": _initializers.serialize(self.beta_initializer),
                "gamma_initializer": _initializers.serialize(self.gamma_initializer),
                "moving_mean_initializer": _initializers.serialize(self.moving_mean_initializer),
                "moving_variance_initializer": _initializers.serialize(self.moving_variance_initializer),
                "beta_regularizer": _regularizers.serialize(self.beta_regularizer),
                "gamma_regularizer": _regularizers.serialize(self.gamma_regularizer)}
