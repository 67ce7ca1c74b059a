"""Models: ``Sequential`` and ``load_model`` (Keras's ``keras.models``).

The package follows Keras 3's split: ``sequential`` is the model (layers, build, weights,
config, files), ``training`` its training loop (compile, fit, evaluate, predict, the
single-batch calls), ``data`` the data adapters (arrays, generators, Sequences), ``summary``
the summary table and ``progbar`` the progress output.
"""
from .. import unsupported
from .sequential import Sequential, load_model

__all__ = ["Sequential", "load_model"]

__getattr__ = unsupported.module_getattr(__name__, "keras.models", {
    "Model": "the functional API (Model(inputs, outputs)) is not supported; stack layers in a Sequential",
})
