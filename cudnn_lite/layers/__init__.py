"""Keras-style layers (channels-last, float32).

``from cudnn_lite.layers import Dense, Conv2D, MaxPooling2D, Flatten, Dropout,
BatchNormalization, Activation``; Keras 2's submodule paths
(``layers.core``, ``layers.convolutional``, ``layers.pooling``,
``layers.normalization``, ``layers.advanced_activations``) exist too. Keras layers that
cudnn_lite does not have (recurrent, 1-D/3-D, merge layers, ``Input``, ``Lambda`` ...) raise
:class:`~cudnn_lite.unsupported.UnsupportedFeatureError` naming the layer.
"""
from .. import unsupported
from . import advanced_activations, convolutional, core, normalization, pooling
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

_HAVE = ("the layers are Dense, Conv2D, MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, Flatten, "
         "Dropout, Activation, LeakyReLU, BatchNormalization and InputLayer")
_FUNCTIONAL = "the functional API is not supported: stack layers in a Sequential (" + _HAVE + ")"
_MISSING = {name: f"it has no kernels here; {_HAVE}" for name in (
    "Conv1D", "Conv3D", "Conv2DTranspose", "Deconvolution2D", "SeparableConv2D", "DepthwiseConv2D",
    "UpSampling2D", "ZeroPadding2D", "Cropping2D", "MaxPooling1D", "MaxPooling3D", "AveragePooling1D",
    "GlobalMaxPooling2D", "GlobalMaxPooling1D", "GlobalAveragePooling1D", "LSTM", "GRU", "SimpleRNN",
    "ConvLSTM2D", "Bidirectional", "TimeDistributed", "Embedding", "Reshape", "Permute", "RepeatVector",
    "Masking", "SpatialDropout2D", "GaussianNoise", "GaussianDropout", "AlphaDropout", "PReLU", "ELU",
    "ThresholdedReLU", "ReLU", "Softmax", "LayerNormalization", "ActivityRegularization")}
_MISSING.update({name: _FUNCTIONAL for name in (
    "Input", "Concatenate", "Add", "Subtract", "Multiply", "Average", "Maximum", "Dot", "concatenate",
    "add", "subtract", "multiply", "average", "maximum", "dot")})
_MISSING.update({module: f"Keras 2's module of those layers; {_HAVE}" for module in (
    "recurrent", "embeddings", "merge", "convolutional_recurrent", "local", "noise", "wrappers", "cudnn_recurrent")})
_MISSING["Lambda"] = "it would run arbitrary Python inside the model, which cudnn_lite never does; " + _HAVE
__getattr__ = unsupported.module_getattr(__name__, "keras.layers", _MISSING)
