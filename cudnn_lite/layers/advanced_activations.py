"""Keras 2's ``keras.layers.advanced_activations`` path: ``LeakyReLU`` (the one layer of that
module cudnn_lite has; ``PReLU``, ``ELU`` and ``ThresholdedReLU`` raise through ``layers``)."""
from .core import LeakyReLU

__all__ = ["LeakyReLU"]
