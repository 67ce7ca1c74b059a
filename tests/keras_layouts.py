"""Files in Keras's layouts, written with h5py and zipfile alone (no Keras), for the saving tests.

The layouts follow Keras's saving code: ``keras/src/saving/saving_lib.py`` (``H5IOStore``: the
``.weights.h5`` file and the ``.keras`` zip) and ``keras/src/legacy/saving/legacy_h5_format.py``
(Keras 2's HDF5 weights and model files), and configs as Keras 2.15 and Keras 3 write them.
"""
from __future__ import annotations

import io
import json
import zipfile

import h5py
import numpy as np

# A small CNN: Conv2D -> BatchNormalization -> MaxPooling2D -> Flatten -> Dropout -> Dense -> Dense
INPUT = (6, 6, 2)
SHAPES = [("conv2d", "Conv2D", [("kernel", (3, 3, 2, 4)), ("bias", (4,))]),
          ("batch_normalization", "BatchNormalization",
           [("gamma", (4,)), ("beta", (4,)), ("moving_mean", (4,)), ("moving_variance", (4,))]),
          ("max_pooling2d", "MaxPooling2D", []),
          ("flatten", "Flatten", []),
          ("dropout", "Dropout", []),
          ("dense", "Dense", [("kernel", (36, 5)), ("bias", (5,))]),
          ("dense_1", "Dense", [("kernel", (5, 3)), ("bias", (3,))])]


def arrays(seed=0):
    """{layer name: [arrays]} with distinct values (positive variances)."""
    rng = np.random.default_rng(seed)
    out = {}
    for name, _, weights in SHAPES:
        values = []
        for wname, shape in weights:
            v = rng.standard_normal(shape).astype(np.float32)
            values.append(np.abs(v) + 0.5 if wname == "moving_variance" else v)
        out[name] = values
    return out


def flat(values):
    return [v for name, _, _ in SHAPES for v in values[name]]


def _dtype_v3():
    return {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": None}


def _init_v3(cls, config=None):
    return {"module": "keras.initializers", "class_name": cls, "config": config or {}, "registered_name": None}


def layer_configs_keras2():
    """The small CNN's layers as Keras 2.15's Sequential.get_config() lists them."""
    init = lambda cls, cfg=None: {"class_name": cls, "config": cfg or {}}  # noqa: E731
    common = lambda name: {"name": name, "trainable": True, "dtype": "float32"}  # noqa: E731
    return [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, *INPUT], "dtype": "float32",
                                                "sparse": False, "ragged": False, "name": "conv2d_input"}},
        {"class_name": "Conv2D", "config": {**common("conv2d"), "filters": 4, "kernel_size": [3, 3],
                                            "strides": [1, 1], "padding": "same", "data_format": "channels_last",
                                            "dilation_rate": [1, 1], "groups": 1, "activation": "relu",
                                            "use_bias": True, "kernel_initializer": init("GlorotUniform", {"seed": None}),
                                            "bias_initializer": init("Zeros"), "kernel_regularizer":
                                                {"class_name": "L2", "config": {"l2": 0.0005}},
                                            "bias_regularizer": None, "activity_regularizer": None,
                                            "kernel_constraint": None, "bias_constraint": None}},
        {"class_name": "BatchNormalization", "config": {**common("batch_normalization"), "axis": [3],
                                                        "momentum": 0.99, "epsilon": 0.001, "center": True,
                                                        "scale": True, "beta_initializer": init("Zeros"),
                                                        "gamma_initializer": init("Ones"),
                                                        "moving_mean_initializer": init("Zeros"),
                                                        "moving_variance_initializer": init("Ones"),
                                                        "beta_regularizer": None, "gamma_regularizer": None,
                                                        "beta_constraint": None, "gamma_constraint": None}},
        {"class_name": "MaxPooling2D", "config": {**common("max_pooling2d"), "pool_size": [2, 2], "padding": "valid",
                                                  "strides": [2, 2], "data_format": "channels_last"}},
        {"class_name": "Flatten", "config": {**common("flatten"), "data_format": "channels_last"}},
        {"class_name": "Dropout", "config": {**common("dropout"), "rate": 0.25, "noise_shape": None, "seed": None}},
        {"class_name": "Dense", "config": {**common("dense"), "units": 5, "activation": "tanh", "use_bias": True,
                                           "kernel_initializer": init("GlorotUniform", {"seed": None}),
                                           "bias_initializer": init("Zeros"), "kernel_regularizer": None,
                                           "bias_regularizer": None, "activity_regularizer": None,
                                           "kernel_constraint": None, "bias_constraint": None}},
        {"class_name": "Dense", "config": {**common("dense_1"), "units": 3, "activation": "softmax", "use_bias": True,
                                           "kernel_initializer": init("RandomNormal", {"mean": 0.0, "stddev": 0.05,
                                                                                       "seed": None}),
                                           "bias_initializer": init("Zeros"), "kernel_regularizer": None,
                                           "bias_regularizer": None, "activity_regularizer": None,
                                           "kernel_constraint": None, "bias_constraint": None}},
    ]


def model_config_keras2(layers=None):
    return {"class_name": "Sequential", "config": {"name": "sequential", "layers": layers or layer_configs_keras2()}}


def model_config_keras3(layers=None):
    """The same network as Keras 3's config.json writes it (module/class_name/config/registered_name)."""
    out = []
    for entry in layers or layer_configs_keras2():
        cfg = dict(entry["config"])
        if entry["class_name"] == "InputLayer":
            cfg["batch_shape"] = cfg.pop("batch_input_shape")
            cfg["optional"] = False
        else:
            cfg["dtype"] = _dtype_v3() if cfg.get("dtype", "float32") == "float32" else cfg["dtype"]
            for key, value in list(cfg.items()):
                if key.endswith("_initializer"):
                    cfg[key] = _init_v3(value["class_name"], value["config"])
                elif key.endswith("_regularizer") and value is not None:
                    cfg[key] = {"module": "keras.regularizers", **value, "registered_name": None}
            if entry["class_name"] == "BatchNormalization":
                cfg["axis"] = -1
                for key, value in {"synchronized": False, "renorm": False, "renorm_clipping": None,
                                   "renorm_momentum": 0.99}.items():
                    cfg.setdefault(key, value)
            if entry["class_name"] == "Dense":
                cfg.setdefault("quantization_config", None)
        out.append({"module": "keras.layers", "class_name": entry["class_name"], "config": cfg,
                    "registered_name": None})
    return {"module": "keras", "class_name": "Sequential",
            "config": {"name": "sequential", "trainable": True, "dtype": _dtype_v3(), "layers": out,
                       "build_input_shape": [None, *INPUT]},
            "registered_name": None, "build_config": {"input_shape": [None, *INPUT]}}


COMPILE_KERAS3 = {"optimizer": {"module": "keras.optimizers", "class_name": "Adam",
                                "config": {"name": "adam", "learning_rate": 0.002, "weight_decay": None,
                                           "clipnorm": None, "global_clipnorm": None, "clipvalue": None,
                                           "use_ema": False, "ema_momentum": 0.99, "ema_overwrite_frequency": None,
                                           "loss_scale_factor": None, "gradient_accumulation_steps": None,
                                           "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-07, "amsgrad": False},
                                "registered_name": None},
                  "loss": "categorical_crossentropy", "loss_weights": None, "metrics": ["accuracy"],
                  "weighted_metrics": None, "run_eagerly": False, "steps_per_execution": 1, "jit_compile": False}
TRAINING_KERAS2 = {"loss": "categorical_crossentropy", "metrics": ["accuracy"], "weighted_metrics": None,
                   "loss_weights": None, "optimizer_config": {"class_name": "RMSprop", "config": {
                       "name": "RMSprop", "learning_rate": 0.0001, "decay": 1e-06, "rho": 0.9, "momentum": 0.0,
                       "epsilon": 1e-07, "centered": False}}}


def write_v3_weights(target, values, optimizer=True):
    """Keras 3's .weights.h5: /layers/<snake class>[_n]/vars/<i>, /vars, /optimizer/vars."""
    with h5py.File(target, "w") as f:
        f.create_group("vars").attrs["name"] = "sequential"
        layers = f.create_group("layers")
        for name, _, _ in SHAPES:
            g = layers.create_group(name).create_group("vars")
            g.attrs["name"] = name
            for i, v in enumerate(values[name]):
                g.create_dataset(str(i), data=v)
        if optimizer:  # Keras writes the optimizer's variables too; cudnn_lite ignores them
            g = f.create_group("optimizer").create_group("vars")
            g.attrs["name"] = "adam"
            g.create_dataset("0", data=np.int32(7))
            g.create_dataset("1", data=np.float32(0.001))


def v3_weights_bytes(values):
    buf = io.BytesIO()
    write_v3_weights(buf, values)
    return buf.getvalue()


def _strings(strings):
    return np.asarray([s.encode("utf-8") for s in strings]) if strings else np.asarray([])


def write_legacy_weights_group(g, values, prefix=""):
    """Keras 2's weights layout: layer_names; per layer weight_names and '<layer>/<weight>:0'."""
    g.attrs["layer_names"] = _strings([name for name, _, _ in SHAPES])
    g.attrs["backend"] = b"tensorflow"
    g.attrs["keras_version"] = b"2.15.0"
    for name, _, weights in SHAPES:
        lg = g.create_group(name)
        names = [f"{prefix}{name}/{w}:0" for w, _ in weights]
        lg.attrs["weight_names"] = _strings(names)
        for wname, v in zip(names, values[name]):
            lg.create_dataset(wname, data=v)


def write_legacy_weights(path, values):
    with h5py.File(path, "w") as f:
        write_legacy_weights_group(f, values)


def write_legacy_model(path, values, config=None, training=TRAINING_KERAS2):
    with h5py.File(path, "w") as f:
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = b"2.15.0"
        f.attrs["model_config"] = json.dumps(config or model_config_keras2()).encode("utf-8")
        if training is not None:
            f.attrs["training_config"] = json.dumps(training).encode("utf-8")
        write_legacy_weights_group(f.create_group("model_weights"), values)


def write_keras_archive(path, values, config=None, compile_config=COMPILE_KERAS3, extra=None):
    config = dict(config or model_config_keras3())
    if compile_config is not None:
        config["compile_config"] = compile_config
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("metadata.json", json.dumps({"keras_version": "3.15.1", "date_saved": "2026-12-06@12:00:00"}))
        z.writestr("config.json", json.dumps(config))
        z.writestr("model.weights.h5", v3_weights_bytes(values))
        for name, data in (extra or {}).items():
            z.writestr(name, data)
