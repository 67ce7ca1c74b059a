"""Weight initializers with Keras's names and formulas.

An initializer is called with a shape and returns a float32 NumPy array (the
layer moves it to its device). ``seed=None`` draws from the generator of
:func:`cudnn_lite.backend.set_random_seed`, so seeded runs are reproducible.
"""
from __future__ import annotations

import math

import numpy as np

from . import backend

__all__ = ["Initializer", "Zeros", "Ones", "Constant", "RandomNormal", "RandomUniform",
           "GlorotUniform", "GlorotNormal", "HeNormal", "HeUniform", "get", "serialize",
           "LecunNormal", "LecunUniform", "TruncatedNormal", "zeros", "ones", "glorot_uniform", "glorot_normal",
           "he_normal", "he_uniform", "lecun_normal", "lecun_uniform", "truncated_normal"]


def compute_fans(shape):
    """Keras's (fan_in, fan_out): dense (in, out); conv (kh, kw, in, out) times the receptive field."""
    shape = tuple(int(s) for s in shape)
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = int(np.prod(shape[:-2]))
    return shape[-2] * receptive, shape[-1] * receptive


class Initializer:
    """Base: ``init(shape) -> float32 ndarray``."""

    def __call__(self, shape, dtype="float32"):
        raise NotImplementedError

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class _Seeded(Initializer):
    def __init__(self, seed=None):
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
            raise ValueError(f"seed: expected an int or None, got {seed!r}")
        self.seed = seed
        self._calls = 0

    def _rng(self):
        if self.seed is None:
            return backend.rng()
        # a seeded initializer gives the same values each call (Keras 3 with a fixed seed)
        return np.random.default_rng(int(self.seed))

    def get_config(self):
        return {"seed": self.seed}


class Zeros(Initializer):
    def __call__(self, shape, dtype="float32"):
        return np.zeros(shape, dtype=np.float32)


class Ones(Initializer):
    def __call__(self, shape, dtype="float32"):
        return np.ones(shape, dtype=np.float32)


class Constant(Initializer):
    def __init__(self, value=0.0):
        self.value = float(value)

    def __call__(self, shape, dtype="float32"):
        return np.full(shape, self.value, dtype=np.float32)

    def get_config(self):
        return {"value": self.value}


class RandomNormal(_Seeded):
    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        self.mean, self.stddev = float(mean), float(stddev)

    def __call__(self, shape, dtype="float32"):
        return self._rng().normal(self.mean, self.stddev, size=shape).astype(np.float32)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class RandomUniform(_Seeded):
    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        super().__init__(seed)
        self.minval, self.maxval = float(minval), float(maxval)

    def __call__(self, shape, dtype="float32"):
        return self._rng().uniform(self.minval, self.maxval, size=shape).astype(np.float32)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


def _truncated_normal(rng, stddev, shape):
    """Normal(0, stddev) redrawn outside two standard deviations (TensorFlow's truncated_normal)."""
    out = rng.normal(0.0, 1.0, size=shape)
    bad = np.abs(out) > 2.0
    while bad.any():
        out[bad] = rng.normal(0.0, 1.0, size=int(bad.sum()))
        bad = np.abs(out) > 2.0
    return (out * stddev).astype(np.float32)


class VarianceScaling(_Seeded):
    """Keras's VarianceScaling: scale / fan, 'truncated_normal' or 'uniform'."""

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None):
        super().__init__(seed)
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"mode: expected 'fan_in', 'fan_out' or 'fan_avg', got {mode!r}")
        if distribution not in ("truncated_normal", "untruncated_normal", "uniform"):
            raise ValueError(f"distribution: expected 'truncated_normal', 'untruncated_normal' or 'uniform', got {distribution!r}")
        self.scale, self.mode, self.distribution = float(scale), mode, distribution

    def __call__(self, shape, dtype="float32"):
        fan_in, fan_out = compute_fans(shape)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        scale = self.scale / max(1.0, fan)
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * scale)
            return self._rng().uniform(-limit, limit, size=shape).astype(np.float32)
        if self.distribution == "untruncated_normal":
            return self._rng().normal(0.0, math.sqrt(scale), size=shape).astype(np.float32)
        # 0.8796...: stddev of a unit normal truncated to [-2, 2] (Keras)
        return _truncated_normal(self._rng(), math.sqrt(scale) / 0.87962566103423978, shape)

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution, "seed": self.seed}


class GlorotUniform(VarianceScaling):
    """U(-limit, limit), limit = sqrt(6 / (fan_in + fan_out)) (Keras's default kernel initializer)."""

    def __init__(self, seed=None):
        super().__init__(1.0, "fan_avg", "uniform", seed)

    def get_config(self):
        return {"seed": self.seed}


class GlorotNormal(VarianceScaling):
    def __init__(self, seed=None):
        super().__init__(1.0, "fan_avg", "truncated_normal", seed)

    def get_config(self):
        return {"seed": self.seed}


class HeNormal(VarianceScaling):
    """Truncated normal with stddev sqrt(2 / fan_in) (Keras)."""

    def __init__(self, seed=None):
        super().__init__(2.0, "fan_in", "truncated_normal", seed)

    def get_config(self):
        return {"seed": self.seed}


class HeUniform(VarianceScaling):
    def __init__(self, seed=None):
        super().__init__(2.0, "fan_in", "uniform", seed)

    def get_config(self):
        return {"seed": self.seed}


class LecunNormal(VarianceScaling):
    """Truncated normal with stddev sqrt(1 / fan_in) (Keras)."""

    def __init__(self, seed=None):
        super().__init__(1.0, "fan_in", "truncated_normal", seed)

    def get_config(self):
        return {"seed": self.seed}


class LecunUniform(VarianceScaling):
    """U(-limit, limit), limit = sqrt(3 / fan_in) (Keras)."""

    def __init__(self, seed=None):
        super().__init__(1.0, "fan_in", "uniform", seed)

    def get_config(self):
        return {"seed": self.seed}


class TruncatedNormal(_Seeded):
    """Normal(mean, stddev) with values beyond two standard deviations redrawn (Keras)."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        self.mean, self.stddev = float(mean), float(stddev)

    def __call__(self, shape, dtype="float32"):
        return (_truncated_normal(self._rng(), self.stddev, shape) + np.float32(self.mean)).astype(np.float32)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


zeros, ones, glorot_uniform, glorot_normal, he_normal, he_uniform = (
    Zeros, Ones, GlorotUniform, GlorotNormal, HeNormal, HeUniform)
lecun_normal, lecun_uniform, truncated_normal = LecunNormal, LecunUniform, TruncatedNormal

_BY_NAME = {
    "zeros": Zeros, "ones": Ones, "constant": Constant,
    "random_normal": RandomNormal, "random_uniform": RandomUniform,
    "glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal,
    "he_normal": HeNormal, "he_uniform": HeUniform, "variance_scaling": VarianceScaling,
    "lecun_normal": LecunNormal, "lecun_uniform": LecunUniform, "truncated_normal": TruncatedNormal,
    # Keras 1/2's short names (Keras 3 keeps them)
    "uniform": RandomUniform, "normal": RandomNormal, "zero": Zeros, "one": Ones,
}
_BY_CLASS = {cls.__name__: cls for cls in _BY_NAME.values()}


def get(identifier) -> Initializer:
    """An Initializer from a name ('glorot_uniform'), a config dict, a class or an instance."""
    if isinstance(identifier, Initializer):
        return identifier
    if isinstance(identifier, str):
        key = backend._snake(identifier) if identifier[:1].isupper() else identifier.lower()
        if key in _BY_NAME:
            return _BY_NAME[key]()
        raise ValueError(f"initializer: unknown name {identifier!r}; known: {sorted(_BY_NAME)}")
    if isinstance(identifier, dict):
        cls = _BY_CLASS.get(identifier.get("class_name"))
        if cls is None:
            raise ValueError(f"initializer: unknown class_name in {identifier!r}")
        return cls.from_config(identifier.get("config", {}))
    if isinstance(identifier, type) and issubclass(identifier, Initializer):
        return identifier()
    if callable(identifier):
        return identifier
    raise ValueError(f"initializer: expected a name, dict or Initializer, got {identifier!r}")


def serialize(init):
    """Name for the built-in defaults, else {'class_name', 'config'} (JSON-ready)."""
    for name, cls in _BY_NAME.items():
        if type(init) is cls and init.get_config() in ({}, {"seed": None}):
            return name
    if type(init).__name__ in _BY_CLASS:
        return {"class_name": type(init).__name__, "config": init.get_config()}
    raise ValueError(f"initializer {init!r} cannot be saved (not a built-in initializer)")
