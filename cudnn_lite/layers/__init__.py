"""Keras-style layers (channels-last, float32).

``from cudnn_lite.layers import Dense, Conv2D, MaxPooling2D, Flatten, Dropout,
BatchNormalization, Activation``; Keras 2's submodule paths
(``layers.core``, ``layers.convolutional``, ``layers.pooling``,
``layers.normalization``) exist too.
"""
from .convolutional import Conv2D, Convolution2D
from .core import Activation, Dense, Dropout, Flatten, InputLayer, Layer, LeakyReLU, Weight
from .normalization import BatchNormalization
from .pooling import (AveragePooling2D, AvgPool2D, GlobalAveragePooling2D, GlobalAvgPool2D, MaxPool2D,
                      MaxPooling2D)

__all__ = ["Layer", "Weight", "InputLayer", "Dense", "Flatten", "Activation", "LeakyReLU", "Dropout",
           "Conv2D", "Convolution2D", "MaxPooling2D", "MaxPool2D", "AveragePooling2D", "AvgPool2D",
           "GlobalAveragePooling2D", "GlobalAvgPool2D", "BatchNormalization", "get", "serialize",
           "deserialize"]

_REGISTRY = {cls.__name__: cls for cls in (InputLayer, Dense, Flatten, Activation, LeakyReLU, Dropout, Conv2D,
                                           MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D,
                                           BatchNormalization)}


def serialize(layer) -> dict:
    """{'class_name': 'Dense', 'config': layer.get_config()} (JSON-ready)."""
    return {"class_name": type(layer).__name__, "config": layer.get_config()}


def deserialize(config: dict, custom_objects=None):
    """A layer from serialize()'s output."""
    registry = dict(_REGISTRY)
    registry.update(custom_objects or {})
    try:
        cls = registry[config["class_name"]]
    except (KeyError, TypeError):
        raise ValueError(f"unknown layer {config.get('class_name') if isinstance(config, dict) else config!r}; "
                         f"known: {sorted(registry)}") from None
    return cls.from_config(dict(config.get("config", {})))


get = deserialize
