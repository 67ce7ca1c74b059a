"""Global settings with Keras's names (``keras.config`` in Keras 3, ``keras.backend`` in Keras 2).

    from cudnn_lite import config
    config.image_data_format()   # 'channels_last', always
    config.epsilon()             # 1e-7, the cross-entropy clip and the optimizers' default epsilon
    config.floatx()              # 'float32', always

Only the values the kernels implement are accepted: asking for another (channels-first
layouts, float16/float64 weights, another fuzz factor) raises ``NotImplementedError`` naming
the setting, instead of being stored and silently ignored. ``backend`` re-exports all of this,
so Keras 2's ``K.image_data_format()`` works unchanged.
"""
from __future__ import annotations

import numbers

__all__ = ["image_data_format", "set_image_data_format", "image_dim_ordering", "set_image_dim_ordering",
           "epsilon", "set_epsilon", "floatx", "set_floatx", "backend", "learning_phase",
           "set_learning_phase"]

_EPSILON = 1e-7           # compiled into the cross-entropy kernels (csrc/cpu/loss.cpp, csrc/cuda/loss.cu)
_learning_phase = 0       # Keras 2's global learning phase: 0 = test (1 is refused)


def image_data_format() -> str:
    """'channels_last': images are (batch, height, width, channels), the only layout here."""
    return "channels_last"


def set_image_data_format(data_format) -> None:
    """Accepts 'channels_last' (the only layout); 'channels_first' raises NotImplementedError."""
    if data_format == "channels_last":
        return
    if data_format == "channels_first":
        raise NotImplementedError("set_image_data_format('channels_first'): channels-first (NCHW) images are "
                                  "not supported by cudnn_lite; its layers are channels-last (NHWC) only. "
                                  "Keep 'channels_last' and give images as (batch, height, width, channels)")
    raise ValueError(f"data_format: expected 'channels_last' or 'channels_first', got {data_format!r}")


def image_dim_ordering() -> str:
    """Keras 1's name for the layout: 'tf' (channels-last)."""
    return "tf"


def set_image_dim_ordering(dim_ordering) -> None:
    """Keras 1's setter: 'tf' is accepted; 'th' (channels-first) raises NotImplementedError."""
    if dim_ordering == "tf":
        return
    if dim_ordering == "th":
        set_image_data_format("channels_first")
    raise ValueError(f"dim_ordering: expected 'tf' or 'th', got {dim_ordering!r}")


def epsilon() -> float:
    """Keras's fuzz factor, 1e-7: the cross-entropy clip and the optimizers' default epsilon."""
    return _EPSILON


def set_epsilon(value) -> None:
    """Accepts 1e-7 only: the cross-entropy kernels clip at [1e-7, 1 - 1e-7] (give an optimizer
    its own ``epsilon=`` instead)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"epsilon: expected a number, got {value!r}")
    if float(value) != _EPSILON:
        raise NotImplementedError(f"set_epsilon({value!r}): the fuzz factor is fixed at {_EPSILON} in cudnn_lite "
                                  "(the cross-entropy kernels clip with it); pass epsilon= to an optimizer "
                                  "to change its own")


def floatx() -> str:
    """'float32': weights, activations and gradients are float32."""
    return "float32"


def set_floatx(value) -> None:
    """Accepts 'float32' only; other dtypes raise NotImplementedError."""
    if value == "float32":
        return
    if value in ("float16", "bfloat16", "float64", "half", "double"):
        raise NotImplementedError(f"set_floatx({value!r}): cudnn_lite computes in float32 only "
                                  "(no float16/bfloat16/float64 kernels)")
    raise ValueError(f"floatx: expected 'float16', 'bfloat16', 'float32' or 'float64', got {value!r}")


def backend() -> str:
    """The name of the backend: 'cudnn_lite' (Keras answers 'tensorflow', 'jax', 'torch' ...)."""
    return "cudnn_lite"


def learning_phase() -> int:
    """Keras 2's global learning phase: 0 (test), the only value it can be set to here.

    ``fit`` and ``train_on_batch`` run the layers in training mode, ``evaluate`` and ``predict``
    in inference mode, whatever this says (Keras 2 with eager execution does the same)."""
    return _learning_phase


def set_learning_phase(value) -> None:
    """Accepts 0 (test: what evaluate and predict already do). 1 (forcing training-mode layers
    outside fit, e.g. dropout in predict) raises NotImplementedError."""
    if isinstance(value, bool) or value not in (0, 1):
        raise ValueError(f"value: expected 0 (test) or 1 (train), got {value!r}")
    if value == 1:
        raise NotImplementedError("set_learning_phase(1): forcing training-mode layers outside fit (e.g. "
                                  "dropout during predict) is not supported by cudnn_lite; fit and "
                                  "train_on_batch always train, evaluate and predict always infer")
