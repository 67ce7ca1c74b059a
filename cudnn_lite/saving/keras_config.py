"""Architecture configs in Keras's vocabulary, both ways, for every layer cudnn_lite has.

Two flavours of the same JSON:

* ``"v3"``: the ``config.json`` of a Keras 3 ``.keras`` archive. Every object is
  ``{"module", "class_name", "config", "registered_name"}``; dtypes are ``DTypePolicy`` objects;
  a Sequential's first entry is an ``InputLayer`` with ``batch_shape``.
* ``"legacy"``: the ``model_config`` attribute of a Keras 2 HDF5 model: ``{"class_name",
  "config"}`` objects, dtype ``"float32"``, an ``InputLayer`` with ``batch_input_shape``.

Reading accepts either flavour (Keras 3 writes a mix of both into ``.h5`` files). Reading is
strict: a layer class, option, activation, initializer or regularizer that cudnn_lite does not
have is refused with a ``ValueError`` naming it; an unknown option is tolerated only when its value
is null (a feature switched off). Nothing is imported or executed: class names are looked up in
fixed tables, so a ``Lambda`` layer (Python code) or a custom class is refused.
"""
from __future__ import annotations

import re
import warnings

from .. import activations as _activations
from .. import initializers as _initializers
from .. import layers as _layers
from .. import optimizers as _optimizers
from .. import regularizers as _regularizers

__all__ = ["keras_class_path", "model_to_keras", "model_from_keras", "compile_to_keras", "compile_from_keras"]

# our class -> Keras's class of the same name; the keys each may carry beyond name/trainable/dtype
# and the value a key must have when cudnn_lite has no such option
_LAYER_KEYS = {
    "Dense": ["units", "activation", "use_bias", "kernel_initializer", "bias_initializer",
              "kernel_regularizer", "bias_regularizer"],
    "Conv2D": ["filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate", "activation",
               "use_bias", "kernel_initializer", "bias_initializer", "kernel_regularizer", "bias_regularizer"],
    "MaxPooling2D": ["pool_size", "strides", "padding", "data_format"],
    "AveragePooling2D": ["pool_size", "strides", "padding", "data_format"],
    "GlobalAveragePooling2D": ["data_format", "keepdims"],
    "Flatten": ["data_format"],
    "Dropout": ["rate", "seed", "noise_shape"],
    "Activation": ["activation"],
    "LeakyReLU": ["negative_slope"],
    "BatchNormalization": ["axis", "momentum", "epsilon", "center", "scale", "beta_initializer",
                           "gamma_initializer", "moving_mean_initializer", "moving_variance_initializer",
                           "beta_regularizer", "gamma_regularizer"],
}
_CLASSES = {name: getattr(_layers, name) for name in _LAYER_KEYS}
_ALIASES = {"Convolution2D": "Conv2D", "MaxPool2D": "MaxPooling2D", "AvgPool2D": "AveragePooling2D",
            "GlobalAvgPool2D": "GlobalAveragePooling2D"}
# options cudnn_lite does not have, and the value that means "not used"
_FIXED = {"groups": 1, "activity_regularizer": None, "kernel_constraint": None, "bias_constraint": None,
          "beta_constraint": None, "gamma_constraint": None, "synchronized": False, "renorm": False,
          "renorm_clipping": None, "lora_rank": None, "lora_alpha": None, "quantization_config": None,
          "adjustment": None, "virtual_batch_size": None, "fused": None, "sparse": False, "ragged": False,
          "optional": False}
_CONSTANT_OUT = {"data_format": "channels_last", "dilation_rate": [1, 1], "keepdims": False, "noise_shape": None}
_ABSENT_OUT = {"Dense": ("activity_regularizer", "kernel_constraint", "bias_constraint"),
               "Conv2D": ("groups", "activity_regularizer", "kernel_constraint", "bias_constraint"),
               "BatchNormalization": ("beta_constraint", "gamma_constraint", "synchronized")}
_IGNORED = {"renorm_momentum"}  # meaningless while its switch (renorm) is off
_INPUT_KEYS = ("batch_input_shape", "batch_shape", "input_shape", "input_dim")
_DTYPE_POLICIES = ("DTypePolicy", "Policy", "FloatDTypePolicy")
_KERAS_ACTIVATIONS = {"linear", "sigmoid", "tanh", "relu", "softmax", "leaky_relu"}
_KERAS_LEAKY_RELU_SLOPE = 0.2  # keras.activations.leaky_relu's default negative_slope


def keras_class_path(class_name):
    """Keras's snake_case of a class name (``naming.to_snake_case``): the layer's group name in
    a Keras 3 weights file (``BatchNormalization`` -> ``batch_normalization``)."""
    name = re.sub(r"\W+", "", class_name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


# ------------------------------------------------------------------ writing

def _obj(flavour, module, class_name, config):
    if flavour == "v3":
        return {"module": module, "class_name": class_name, "config": config, "registered_name": None}
    return {"class_name": class_name, "config": config}


def _dtype(flavour):
    if flavour == "v3":
        return _obj("v3", "keras", "DTypePolicy", {"name": "float32"})
    return "float32"


def _activation_out(fn, where):
    if fn.name == "step":
        raise ValueError(f"{where}: activation 'step' (the textbook's perceptron) has no Keras equivalent; "
                         "save this model in cudnn_lite's .npz format")
    if fn.name == "leaky_relu" and fn.alpha != _KERAS_LEAKY_RELU_SLOPE:
        raise ValueError(f"{where}: activation 'leaky_relu' with slope {fn.alpha}: Keras's 'leaky_relu' "
                         f"activation has slope {_KERAS_LEAKY_RELU_SLOPE}; use a LeakyReLU layer instead")
    return fn.name


def _initializer_out(init, flavour):
    name = type(init).__name__
    cfg = dict(init.get_config())
    return _obj(flavour, "keras.initializers", name, cfg)


def _regularizer_out(reg, flavour):
    return None if reg is None else _obj(flavour, "keras.regularizers", "L2", {"l2": reg.l2})


def layer_to_keras(layer, flavour):
    """One layer as Keras's ``{"class_name", "config", ...}``."""
    name = type(layer).__name__
    if name not in _LAYER_KEYS:
        raise ValueError(f"layer {layer.name!r}: {name} has no Keras equivalent that cudnn_lite can write")
    ours = layer.get_config()
    cfg = {"name": layer.name, "trainable": layer.trainable, "dtype": _dtype(flavour)}
    where = f"layer {layer.name!r}"
    for key in _LAYER_KEYS[name]:
        if key in _CONSTANT_OUT:  # options cudnn_lite has only one value of
            cfg[key] = _CONSTANT_OUT[key]
        elif key == "negative_slope":
            cfg["negative_slope" if flavour == "v3" else "alpha"] = layer.alpha
        elif key == "activation":
            cfg[key] = _activation_out(layer.activation, where)
        elif key.endswith("_initializer"):
            cfg[key] = _initializer_out(getattr(layer, key), flavour)
        elif key.endswith("_regularizer"):
            cfg[key] = _regularizer_out(getattr(layer, key), flavour)
        elif key in ("kernel_size", "strides", "pool_size"):
            cfg[key] = list(getattr(layer, key))
        else:
            cfg[key] = ours[key]
    for key in _ABSENT_OUT.get(name, ()):  # Keras's options that cudnn_lite lacks, switched off
        if key != "synchronized" or flavour == "v3":
            cfg[key] = _FIXED[key]
    out = _obj(flavour, "keras.layers", name, cfg)
    if flavour == "v3" and layer.built and layer.weights:
        out["build_config"] = {"input_shape": list(layer.input_shape)}
    return out


def _input_layer(shape, name, flavour):
    key = "batch_shape" if flavour == "v3" else "batch_input_shape"
    cfg = {key: list(shape), "dtype": "float32", "sparse": False, "ragged": False, "name": name}
    return _obj(flavour, "keras.layers", "InputLayer", cfg)


def model_to_keras(model, flavour):
    """A Sequential as Keras's ``{"class_name": "Sequential", "config": ...}``."""
    if not model.built:
        raise ValueError("the model is not built yet: there is nothing to save")
    shape = list(model.input_shape)
    layers = [_input_layer(shape, model.name + "_input", flavour)]
    layers += [layer_to_keras(layer, flavour) for layer in model.layers]
    cfg = {"name": model.name, "trainable": True, "dtype": _dtype(flavour), "layers": layers,
           "build_input_shape": shape}
    out = _obj(flavour, "keras", "Sequential", cfg)
    if flavour == "v3":
        out["build_config"] = {"input_shape": shape}
    return out


def compile_to_keras(model, flavour):
    """The compile arguments (loss, metrics, optimizer) in Keras's ``compile_config`` (v3) or
    ``training_config`` (legacy) shape; None for a model that is not compiled."""
    if model.optimizer is None:
        return None
    ours = model._compile_config()
    opt = _optimizers.serialize(model.optimizer)
    cfg = dict(opt["config"])
    if cfg.get("learning_rate") is None:
        raise ValueError("the optimizer's learning rate is a schedule, which Keras files cannot hold here")
    decay = cfg.pop("decay", 0.0)
    if decay and flavour == "v3":
        warnings.warn(f"optimizer decay={decay}: Keras 3's optimizers have no 'decay'; the .keras file's "
                      "compile config is written without it (.h5 and .npz files keep it)", stacklevel=4)
    if flavour == "legacy" and decay:
        cfg["decay"] = decay  # Keras 2's optimizers had it (Keras 3 reads and ignores it, with a warning)
    optimizer = _obj(flavour, "keras.optimizers", opt["class_name"], cfg)
    out = {"loss": ours["loss"], "loss_weights": None, "metrics": list(ours["metrics"]) or None,
           "weighted_metrics": None}
    if flavour == "v3":
        optimizer["registered_name"] = None
        out.update({"optimizer": optimizer, "run_eagerly": False, "steps_per_execution": 1, "jit_compile": False})
    else:
        out["optimizer_config"] = optimizer
    return out


# ------------------------------------------------------------------ reading

def _unwrap(obj, what):
    """(class_name, config) of a v3 or legacy object; ``registered_name`` must be Keras's own."""
    if not isinstance(obj, dict) or not isinstance(obj.get("class_name"), str):
        raise ValueError(f"{what}: expected an object with a class_name, got {obj!r:.120}")
    module = obj.get("module")
    if module is not None and not (isinstance(module, str) and module.split(".")[0] == "keras"):
        raise ValueError(f"{what}: {obj['class_name']} comes from module {module!r}, not Keras: "
                         "custom objects are not loaded")
    registered = obj.get("registered_name")
    if registered not in (None, obj["class_name"]) and not str(registered).startswith("keras"):
        raise ValueError(f"{what}: custom object {registered!r} is not loaded")
    cfg = obj.get("config", {})
    if not isinstance(cfg, dict):
        raise ValueError(f"{what}: config of {obj['class_name']} is not an object")
    return obj["class_name"], cfg


def _check_dtype(value, where):
    if value is None or value == "float32":
        return
    if isinstance(value, dict):
        cls, cfg = _unwrap(value, f"{where}: dtype")
        if cls in _DTYPE_POLICIES and cfg.get("name") == "float32":
            return
    raise ValueError(f"{where}: dtype {value!r:.120} is not supported (cudnn_lite computes in float32)")


def _activation_in(value, where):
    if isinstance(value, dict):  # Keras 3 may wrap a built-in function
        cls, cfg = _unwrap(value, f"{where}: activation")
        value = cfg if cls == "function" and isinstance(cfg, str) else cls
    if value is None:
        value = "linear"
    if not isinstance(value, str) or value not in _KERAS_ACTIVATIONS:
        raise ValueError(f"{where}: activation {value!r:.80} is not supported (cudnn_lite has "
                         f"{sorted(_KERAS_ACTIVATIONS)})")
    if value == "leaky_relu":
        return _activations.ActivationFunction("leaky_relu", _KERAS_LEAKY_RELU_SLOPE)
    return value


def _initializer_in(value, where):
    if isinstance(value, str):
        try:
            return _initializers.get(value)
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
    cls, cfg = _unwrap(value, where)
    known = getattr(_initializers, cls, None)
    if not (isinstance(known, type) and issubclass(known, _initializers.Initializer)) or cls.startswith("_") \
            or known is _initializers.Initializer:
        raise ValueError(f"{where}: initializer {cls!r} is not supported")
    mine = set(known().get_config())
    extra = {k: v for k, v in cfg.items() if k not in mine and v is not None}
    if extra:
        raise ValueError(f"{where}: {cls} option(s) {sorted(extra)} not supported")
    try:
        return known(**{k: v for k, v in cfg.items() if k in mine})
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: {cls}: {exc}") from None


def _regularizer_in(value, where):
    if value is None:
        return None
    cls, cfg = _unwrap(value, where)
    if cls in ("L2", "l2") and set(cfg) <= {"l2"}:
        return _regularizers.L2(**cfg)
    if cls in ("L1L2", "l1_l2") and set(cfg) <= {"l1", "l2"} and not cfg.get("l1"):
        return _regularizers.L2(cfg.get("l2", 0.0))
    raise ValueError(f"{where}: regularizer {cls} {cfg} is not supported (only L2)")


def _input_shape_in(cfg, where):
    for key in _INPUT_KEYS:
        if cfg.get(key) is not None:
            value = cfg[key]
            if key == "input_dim":
                return (None, value)
            if not isinstance(value, (list, tuple)):
                raise ValueError(f"{where}: {key} must be a list, got {value!r}")
            return tuple(value) if key != "input_shape" else (None,) + tuple(value)
    return None


def layer_from_keras(obj, index, input_shape=None):
    """One of our layers from a Keras layer object (either flavour): (layer or None, batch input
    shape or None). An InputLayer gives (None, its shape). ``input_shape``: the preceding
    InputLayer's, which the first layer takes as its ``batch_input_shape`` (as the book writes it)."""
    cls, cfg = _unwrap(obj, f"layer {index}")
    where = f"layer {index} ({cls} {cfg.get('name')!r})"
    if cls == "Lambda":
        raise ValueError(f"{where}: Lambda layers hold Python code and are never loaded")
    shape = _input_shape_in(cfg, where)
    if cls == "InputLayer":
        _check_dtype(cfg.get("dtype"), where)
        for key, value in cfg.items():
            if key in _FIXED and value != _FIXED[key]:
                raise ValueError(f"{where}: option {key}={value!r} is not supported")
        return None, shape
    cls = _ALIASES.get(cls, cls)
    if cls not in _LAYER_KEYS:
        raise ValueError(f"{where}: layer class {cls!r} is not supported by cudnn_lite (it has "
                         f"{sorted(_LAYER_KEYS)} and InputLayer)")
    _check_dtype(cfg.get("dtype"), where)
    kwargs = {"name": cfg.get("name"), "trainable": cfg.get("trainable", True)}
    for key, value in cfg.items():
        if key in ("name", "trainable", "dtype", "build_config") or key in _INPUT_KEYS or key in _IGNORED:
            continue
        if key == "alpha" and cls == "LeakyReLU":
            key = "negative_slope"
        if key in _LAYER_KEYS[cls]:
            if key == "activation":
                value = _activation_in(value, where)
            elif key.endswith("_initializer"):
                value = _initializer_in(value, f"{where}: {key}")
            elif key.endswith("_regularizer"):
                value = _regularizer_in(value, f"{where}: {key}")
            elif key == "axis" and isinstance(value, list) and len(value) == 1:
                value = value[0]  # Keras 2 writes a built BatchNormalization's axis as [3]
            kwargs["alpha" if key == "negative_slope" else key] = value
        elif key in _FIXED:
            if value != _FIXED[key] and not (key == "groups" and value is None):
                raise ValueError(f"{where}: option {key}={value!r} is not supported by cudnn_lite")
        elif value is not None:
            raise ValueError(f"{where}: option {key!r} (= {value!r:.60}) is not supported by cudnn_lite")
    if kwargs.get("data_format") is None:
        kwargs.pop("data_format", None)
    if shape is None and input_shape is not None:
        kwargs["batch_input_shape"] = input_shape
    try:
        layer = _CLASSES[cls](**kwargs)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: {exc}") from None
    return layer, shape


def model_from_keras(obj, model_class):
    """A ``model_class`` (Sequential) built from Keras's model config (either flavour)."""
    if not isinstance(obj, dict):
        raise ValueError("the model config is not a JSON object")
    cls, cfg = _unwrap(obj, "model")
    if cls != "Sequential":
        raise ValueError(f"model class {cls!r} is not supported: cudnn_lite builds Sequential models only")
    _check_dtype(cfg.get("dtype"), "model")
    entries = cfg.get("layers")
    if not isinstance(entries, list):
        raise ValueError("the Sequential config has no layer list")
    name = cfg.get("name")
    model = model_class(name=name if isinstance(name, str) and name else None)
    shape = None
    for i, entry in enumerate(entries):
        layer, layer_shape = layer_from_keras(entry, i, shape if not model.layers else None)
        if shape is None and layer_shape is not None and not model.layers:
            shape = layer_shape
        if layer is not None:
            model.add(layer)
    if shape is None and cfg.get("build_input_shape") is not None:
        shape = tuple(cfg["build_input_shape"])
    if shape is None:
        raise ValueError("the Sequential config has no input shape (no InputLayer, batch_input_shape or "
                         "build_input_shape)")
    if not model.built:
        model.build(tuple(shape))
    return model


def compile_from_keras(cfg):
    """(optimizer, loss, metrics) for ``model.compile`` from Keras's compile/training config."""
    if not isinstance(cfg, dict):
        raise ValueError("the compile config is not a JSON object")
    opt = cfg.get("optimizer", cfg.get("optimizer_config"))
    optimizer = _optimizer_in(opt) if opt is not None else "rmsprop"
    loss = cfg.get("loss")
    if not isinstance(loss, str):
        raise ValueError(f"compile config: loss {loss!r:.120} is not supported (only a loss name); "
                         "load with compile=False")
    for key in ("loss_weights", "weighted_metrics"):
        if cfg.get(key) is not None:
            raise ValueError(f"compile config: {key} is not supported; load with compile=False")
    metrics = cfg.get("metrics") or []
    if isinstance(metrics, list) and len(metrics) == 1 and isinstance(metrics[0], list):
        metrics = metrics[0]  # Keras 2's per-output nesting
    if not isinstance(metrics, list) or not all(isinstance(m, str) for m in metrics):
        raise ValueError(f"compile config: metrics {metrics!r:.120} are not supported (only metric names); "
                         "load with compile=False")
    return optimizer, loss, metrics


_OPT_IGNORED = {"name", "is_legacy_optimizer", "jit_compile", "ema_momentum", "ema_overwrite_frequency"}
_OPT_FIXED = {"weight_decay": None, "clipnorm": None, "global_clipnorm": None, "clipvalue": None,
              "use_ema": False, "loss_scale_factor": None, "gradient_accumulation_steps": None,
              "amsgrad": False, "centered": False}


def _optimizer_in(obj):
    cls, cfg = _unwrap(obj, "optimizer")
    try:
        ours = _optimizers.deserialize({"class_name": cls, "config": {}})
    except ValueError:
        raise ValueError(f"optimizer {cls!r} is not supported; load with compile=False") from None
    mine = set(ours.get_config())
    kwargs = {}
    for key, value in cfg.items():
        if key in ("lr",):
            key = "learning_rate"
        if key in mine:
            if key == "learning_rate" and not isinstance(value, (int, float)):
                raise ValueError(f"optimizer {cls}: learning_rate {value!r:.80} (a schedule) is not supported; "
                                 "load with compile=False")
            kwargs[key] = value
        elif key in _OPT_FIXED:
            if value != _OPT_FIXED[key] and not (value == 0 and key == "weight_decay"):
                raise ValueError(f"optimizer {cls}: option {key}={value!r} is not supported; load with compile=False")
        elif key not in _OPT_IGNORED and value is not None:
            raise ValueError(f"optimizer {cls}: option {key!r} is not supported; load with compile=False")
    try:
        return _optimizers.deserialize({"class_name": cls, "config": kwargs})
    except (TypeError, ValueError) as exc:
        raise ValueError(f"optimizer {cls}: {exc}") from None
