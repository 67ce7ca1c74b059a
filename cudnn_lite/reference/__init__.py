"""Plain-NumPy reference of every op in :mod:`cudnn_lite.ops`.

Check a kernel against this module. Every function has the name and the
arguments of its twin in ``cudnn_lite.ops`` (minus ``out=``), is written
directly from the definitions (loops over kernel offsets / pooling windows, no
im2col, no cleverness) and never calls the compiled module: its padding and
output-size rules are its own, so they check the binding's. Only the enum names
(``ACTIVATIONS``, ``LOSSES``, ``OPTIMIZERS``, ``FILL_MODES``) come from the
binding's tables (``cudnn_lite._C``, read when first used, so this module imports
without the extension). Functions keep the dtype of their inputs, so the tests
run them in float64 and compare the float32 kernels against that.

Semantics (Keras's, channels-last):

* images NHWC, conv kernels HWIO ``(kh, kw, c, k)``, dense kernels ``(in, out)``.
* padding ``'valid'``, ``'same'`` or explicit ``(top, bottom, left, right)``.
  ``'same'``: ``out = ceil(in / stride)``,
  ``pad_total = max((out - 1) * stride + k - in, 0)``, ``top = pad_total // 2``,
  the extra row/column goes to the bottom/right.
* max pooling: padded cells never win; the backward sends each window's
  gradient to the FIRST maximum in row-major window order (ties).
* average pooling divides by the number of non-padded cells in the window.
* losses (``p`` predictions, ``t`` targets, ``(rows, cols)``), ``eps = 1e-7``:
  categorical cross-entropy ``-sum t log clip(p / sum(p), eps, 1 - eps)``;
  binary cross-entropy ``mean_cols -(t log p + (1 - t) log(1 - p))`` with ``p``
  clipped the same way (float32 bounds: ``1 - eps`` is 0.99999988); mse / mae the mean over the last axis. The gradient of a
  clip is zero where the value was clipped (strictly outside ``[eps, 1 - eps]``).
  ``loss_backward`` is the gradient of the MEAN over the batch of the per-row losses.
* batch norm: batch mean and biased variance over every axis but the last,
  ``eps = 1e-3``, ``moving = moving * momentum + batch * (1 - momentum)``,
  ``momentum = 0.99`` (the moving variance also uses the biased variance).
  Unlike the kernel, :func:`batchnorm_forward_train` does NOT update
  ``moving_mean``/``moving_var`` in place: it returns the new values.
* dropout: element ``i`` is kept iff ``philox_uniform(seed, offset + i) >= rate``
  (Philox4x32-10 of csrc/common/philox.h, re-implemented here in vectorised NumPy);
  kept elements are scaled by ``1 / (1 - rate)``. ``rate`` is rounded to float32
  before the comparison, as the C++ signature (``float rate``) does.
* affine_transform: output pixel ``(r, col)`` of image ``i`` samples ``x[i]`` at
  ``src_r = m0 r + m1 col + m2``, ``src_c = m3 r + m4 col + m5`` (``matrices`` is
  ``(n, 6)``; scipy.ndimage.affine_transform's convention), clamped to ``+-2**30``;
  bilinear: cells ``floor(src) + {0, 1}`` per axis with weights ``1 - f`` and ``f``; a
  cell outside the image reads the edge ('nearest'), ``cval`` ('constant'), its
  half-sample mirror ('reflect') or its periodic copy ('wrap'). Taps of weight exactly 0
  are skipped (identity and flip matrices copy exactly, Inf/NaN neighbours included);
  a NaN source coordinate gives NaN pixels.
* optimizers: :func:`optimizer_update` returns NEW ``(param, slot1, slot2)``
  following the rules in the comment of ``OptimizerStep`` (csrc/cudnn_lite.h);
  the inputs are not modified.
"""
from __future__ import annotations

from .affine_transform import affine_transform
from .batchnorm import batchnorm_backward, batchnorm_forward_inference, batchnorm_forward_train
from .conv2d import conv2d_backward_data, conv2d_backward_filter, conv2d_forward
from .dense import (activation_backward, activation_forward, bias_backward, dense_backward,
                    dense_forward, sgemm, softmax_backward, softmax_forward)
from .dropout import dropout_backward, dropout_forward, dropout_mask, philox4x32_10, philox_uniform
from .geometry import conv_output_shape, conv_padding, pool_output_shape, pool_padding
from .loss import LOSS_CLIP_HIGH, LOSS_EPSILON, loss_backward, loss_forward, softmax_cross_entropy_backward
from .optimizer import adam_scalars, nadam_scalars, optimizer_update
from .pool2d import (avgpool2d_backward, avgpool2d_forward, global_avgpool2d_backward,
                     global_avgpool2d_forward, maxpool2d_backward, maxpool2d_forward)

__all__ = [
    "ACTIVATIONS", "LOSSES", "OPTIMIZERS", "LOSS_EPSILON", "LOSS_CLIP_HIGH",
    "conv_padding", "pool_padding", "conv_output_shape", "pool_output_shape",
    "sgemm", "dense_forward", "dense_backward", "bias_backward",
    "conv2d_forward", "conv2d_backward_data", "conv2d_backward_filter",
    "maxpool2d_forward", "maxpool2d_backward", "avgpool2d_forward", "avgpool2d_backward",
    "global_avgpool2d_forward", "global_avgpool2d_backward",
    "activation_forward", "activation_backward",
    "softmax_forward", "softmax_backward",
    "loss_forward", "loss_backward", "softmax_cross_entropy_backward",
    "batchnorm_forward_train", "batchnorm_forward_inference", "batchnorm_backward",
    "dropout_forward", "dropout_backward", "dropout_mask", "philox4x32_10", "philox_uniform",
    "optimizer_update", "adam_scalars", "nadam_scalars",
    "FILL_MODES", "affine_transform",
]

_ENUM_TABLES = ("ACTIVATIONS", "LOSSES", "OPTIMIZERS", "FILL_MODES")


def __getattr__(name):
    """ACTIVATIONS, LOSSES, OPTIMIZERS, FILL_MODES: the names (a tuple, in value order) of the
    enums of csrc/cudnn_lite.h, from the binding's tables, where they are written once."""
    if name in _ENUM_TABLES:
        from cudnn_lite import _C  # names only: nothing here calls a kernel
        return tuple(getattr(_C, name))
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
