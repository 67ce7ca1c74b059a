"""Keras-style utilities: ``to_categorical``, ``normalize`` and ``set_random_seed``.

    from cudnn_lite.utils import to_categorical
    from cudnn_lite.utils import np_utils          # Keras 2 spelling
    np_utils.to_categorical(y, 10)
"""
from __future__ import annotations

from ..backend import set_random_seed
from . import np_utils
from .np_utils import normalize, to_categorical

__all__ = ["to_categorical", "normalize", "np_utils", "set_random_seed"]
