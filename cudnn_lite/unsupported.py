"""Clear errors for the Keras features cudnn_lite deliberately does not have.

A module lists the Keras names it lacks on purpose and installs ``unsupported.module_getattr``
as its ``__getattr__``: reaching one (``K.function``, ``from keras.layers import LSTM``) raises
:class:`UnsupportedFeatureError` naming the feature and saying why, instead of an
``AttributeError`` or a bare "cannot import name". Every other missing name is an ordinary
``AttributeError``, so ``hasattr`` keeps working for names Keras never had.

    __getattr__ = unsupported.module_getattr(__name__, "keras.backend", {
        "function": "graph functions (K.function) need TensorFlow's graph mode", ...})
"""
from __future__ import annotations

__all__ = ["UnsupportedFeatureError", "module_getattr"]


class UnsupportedFeatureError(NotImplementedError):
    """A Keras feature that cudnn_lite does not implement (the message names it)."""


def module_getattr(module_name: str, keras_path: str, missing: dict):
    """A module ``__getattr__``: names in ``missing`` raise UnsupportedFeatureError with
    ``keras_path.name`` and the reason; any other name raises AttributeError."""
    def __getattr__(name):
        reason = missing.get(name)
        if reason is None:
            raise AttributeError(f"module {module_name!r} has no attribute {name!r}")
        raise UnsupportedFeatureError(f"{keras_path}.{name} is not supported by cudnn_lite: {reason}")
    return __getattr__
