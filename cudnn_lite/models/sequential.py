"""Sequential: a linear stack of layers (Keras's model API; the training loop is the Trainer's).

    from cudnn_lite.models import Sequential
    from cudnn_lite.layers import Dense
    model = Sequential([Dense(25, input_dim=2, activation='relu'), Dense(3, activation='softmax')])
    model.compile(loss='categorical_crossentropy', optimizer='adam', metrics=['accuracy'])
    history = model.fit(x, y, epochs=10, validation_split=0.2)

This file holds what a model is: its layers, how they are built, their weights, the model's
config and its files (through :mod:`cudnn_lite.saving`).

The model owns its device: ``model.device`` is ``backend.get_device()`` when the model is
created (the only place the global default is read) and changes only through ``to()``. Its
layers' weights are built or moved there, the optimizer's slots follow the weights, and the
trainer puts every batch there.
"""
from __future__ import annotations

import json

from .. import backend, distribute, saving
from .. import layers as _layers
from ..layers.core import InputLayer, Layer
from .summary import print_summary
from .training import Trainer

__all__ = ["Sequential", "load_model"]


class Sequential(Trainer):
    """A linear stack of layers (Keras's Sequential)."""

    def __init__(self, layers=None, name=None):
        if name is not None and not isinstance(name, str):
            raise ValueError(f"name: expected a string, got {name!r}")
        Trainer.__init__(self)
        self.name = name or backend.unique_name("sequential")
        self.layers: list[Layer] = []
        self.built = False
        self.device = backend.get_device()  # the model's device, for good (to() moves the model)
        self._build_input_shape = None
        self._buffers = backend.BufferCache()  # loss values, loss gradient, shuffled batches
        self._distribute = distribute.current_strategy()  # DataParallel of an enclosing scope()
        for layer in layers or []:
            self.add(layer)

    # ---------------------------------------------------------- structure
    def add(self, layer):
        if not isinstance(layer, Layer):
            raise TypeError(f"add: expected a cudnn_lite layer, got {type(layer).__name__}")
        if isinstance(layer, InputLayer):
            if self.layers:
                raise ValueError("an InputLayer must come first")
            self._build_input_shape = layer._batch_input_shape
            return
        if any(l.name == layer.name for l in self.layers):
            raise ValueError(f"all layers of a Sequential need unique names; {layer.name!r} is already used")
        if not self.layers and layer._batch_input_shape is not None:
            self._build_input_shape = layer._batch_input_shape
        self.layers.append(layer)
        if self._build_input_shape is not None:
            self.build()

    def pop(self):
        if not self.layers:
            raise TypeError("there are no layers to pop")
        layer = self.layers.pop()
        return layer

    def build(self, input_shape=None):
        """Create every layer's weights for ``input_shape`` (batch axis first, may be None)."""
        shape = input_shape if input_shape is not None else self._build_input_shape
        if shape is None:
            raise ValueError("build: the input shape is unknown; give the first layer input_shape=... "
                             "or call build((None, ...))")
        shape = (None,) + tuple(int(s) for s in tuple(shape)[1:])
        self._build_input_shape = shape
        for layer in self.layers:
            shape = layer._build(shape, self.device)
        self.built = True

    def _ensure_built(self, x_shape):
        if not self.built:
            self.build((None,) + tuple(x_shape[1:]))
        elif tuple(x_shape[1:]) != tuple(self.input_shape[1:]):
            raise ValueError(f"input shape {(None,) + tuple(x_shape[1:])} does not match the model's "
                             f"{self.input_shape}")

    def _require_built(self, what):
        if not self.built:
            raise ValueError(f"{what}: this model has not yet been built. Build it by calling build() or by "
                             "giving the first layer an input_shape (or fit it on data).")

    @property
    def input_shape(self):
        self._require_built("input_shape")
        return self._build_input_shape

    @property
    def output_shape(self):
        self._require_built("output_shape")
        return self.layers[-1].output_shape if self.layers else self._build_input_shape

    def to(self, device):
        """Move weights and optimizer state to 'cpu' or 'cuda'."""
        device = backend._check_device(device)
        for layer in self.layers:
            layer.to(device)
        if self.optimizer is not None:
            self.optimizer.variables_on(device)
        self.device = device
        self._buffers.clear()
        return self

    # ------------------------------------------------------------ compute
    def _forward(self, x, training):
        for layer in self.layers:
            x = layer.forward(x, training)
        return x

    def _backward(self, g, logits=False, on_layer=None):
        """Backward through the layers, from g = dL/d(output) (``logits``: dL/d(the last layer's
        activation input), which enters through its backward_logits). ``on_layer(i)`` is called
        once layer i's gradients are written (data-parallel training starts their allreduce)."""
        first = next((i for i, l in enumerate(self.layers) if l.trainable_weights), None)
        if first is None:
            return
        last = len(self.layers) - 1
        for i in range(last, first - 1, -1):
            layer = self.layers[i]
            if i == last and logits:
                g = layer.backward_logits(g, need_dx=i > first)
            else:
                g = layer.backward(g, need_dx=i > first)
            if on_layer is not None:
                on_layer(i)

    # ------------------------------------------------------------ weights
    @property
    def weights(self):
        return [w for layer in self.layers for w in layer.weights]

    @property
    def trainable_weights(self):
        return [w for layer in self.layers for w in layer.trainable_weights]

    @property
    def non_trainable_weights(self):
        return [w for layer in self.layers for w in layer.non_trainable_weights]

    def get_weights(self):
        """NumPy copies, layer by layer in Keras's order and layouts."""
        return [w for layer in self.layers for w in layer.get_weights()]

    def set_weights(self, weights):
        weights = list(weights)
        need = sum(len(layer.weights) for layer in self.layers)
        if len(weights) != need:
            raise ValueError(f"set_weights: expected {need} arrays, got {len(weights)}")
        i = 0
        for layer in self.layers:
            k = len(layer.weights)
            layer.set_weights(weights[i:i + k])
            i += k

    def count_params(self):
        self._require_built("count_params")
        return sum(layer.count_params() for layer in self.layers)

    def get_layer(self, name=None, index=None):
        if index is not None:
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"no layer named {name!r}")

    def summary(self, line_length=None, positions=None, print_fn=None):
        """Print Keras's table: layer (type), output shape, param #, then the totals."""
        self._require_built("summary")
        print_summary(self, line_length, positions, print_fn)

    # ------------------------------------------------------------- config
    def get_config(self):
        return {"name": self.name, "layers": [_layers.serialize(l) for l in self.layers],
                "build_input_shape": list(self._build_input_shape) if self._build_input_shape else None}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        model = cls(name=config.get("name"))
        for layer_cfg in config.get("layers", []):
            model.add(_layers.deserialize(layer_cfg, custom_objects))
        shape = config.get("build_input_shape")
        if shape is not None and not model.built:
            model.build(tuple(shape))
        return model

    def to_json(self):
        return json.dumps({"class_name": "Sequential", "config": self.get_config()})

    # --------------------------------------------------------------- files
    def save_weights(self, filepath, overwrite=True, save_format=None):
        """Weights to ``filepath``: Keras 3's layout for ``.weights.h5``, Keras 2's for ``.h5``/``.hdf5``,
        cudnn_lite's ``.npz`` otherwise (see cudnn_lite.saving)."""
        saving.save_weights(self, filepath)

    def load_weights(self, filepath, by_name=False, skip_mismatch=False):
        if by_name or skip_mismatch:
            raise ValueError("by_name / skip_mismatch: not supported")
        saving.load_weights(self, filepath)

    def save(self, filepath, overwrite=True, include_optimizer=True, save_format=None):
        """Architecture + weights (+ compile arguments) to ``filepath``: a Keras 3 archive for ``.keras``,
        Keras 2's HDF5 model for ``.h5``/``.hdf5``, cudnn_lite's ``.npz`` otherwise, the only one that
        also holds the optimizer's and the training state for resuming (see cudnn_lite.saving)."""
        saving.save_model(self, filepath, include_optimizer=include_optimizer)

    def __repr__(self):
        return f"<Sequential name={self.name!r} layers={len(self.layers)}>"


def load_model(filepath, custom_objects=None, compile=True):
    """Rebuild a model from a ``.keras`` archive, a Keras HDF5 model file or a cudnn_lite ``.npz``
    file (weights, compile arguments; from ``.npz`` also the optimizer and training state; see
    cudnn_lite.saving)."""
    return saving.rebuild_model(filepath, Sequential, custom_objects=custom_objects, compile=compile)
