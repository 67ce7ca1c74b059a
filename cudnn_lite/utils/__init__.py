"""Keras-style utilities: ``to_categorical``, ``normalize``, ``Sequence`` and ``set_random_seed``.

    from cudnn_lite.utils import to_categorical
    from cudnn_lite.utils import np_utils          # Keras 2 spelling
    np_utils.to_categorical(y, 10)
    from cudnn_lite.utils import Sequence          # also utils.data_utils.Sequence (Keras 2)
"""
from __future__ import annotations

from .. import unsupported
from ..backend import set_random_seed
from . import data_utils, np_utils
from .data_utils import Sequence
from .np_utils import normalize, to_categorical

__all__ = ["to_categorical", "normalize", "np_utils", "data_utils", "Sequence", "set_random_seed"]

__getattr__ = unsupported.module_getattr(__name__, "keras.utils", {
    "multi_gpu_model": "a model runs on one device (model.to('cuda')); data-parallel replicas are not supported",
    "get_file": "cudnn_lite downloads only its own data sets, verified (cudnn_lite.datasets)",
    "plot_model": "drawing the model graph needs pydot and graphviz; use model.summary()",
    "vis_utils": "drawing the model graph needs pydot and graphviz; use model.summary()",
    "CustomObjectScope": "custom objects are not needed: files hold only cudnn_lite's own layers",
    "custom_object_scope": "custom objects are not needed: files hold only cudnn_lite's own layers",
})
