"""Keras-style utilities: ``to_categorical`` and (when the backend has it) ``set_random_seed``.

    from cudnn_lite.utils import to_categorical
    from cudnn_lite.utils import np_utils          # Keras 2 spelling
    np_utils.to_categorical(y, 10)
"""
from __future__ import annotations

import numpy as np

from . import np_utils
from .np_utils import normalize, to_categorical

__all__ = ["to_categorical", "normalize", "np_utils"]

try:  # the model core (backend.py) owns the global seed; re-export it when present
    from ..backend import set_random_seed  # noqa: F401
    __all__.append("set_random_seed")
except (ImportError, AttributeError):  # backend not there (yet) or without it
    pass
