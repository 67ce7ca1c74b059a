"""Optimizers with Keras 3's update rules and defaults (Keras 2's spellings accepted).

Keras 2 code runs unchanged: ``lr=`` for ``learning_rate=``, ``decay=``, ``epsilon=None``
(:func:`cudnn_lite.config.epsilon`, 1e-7), Nadam's ``schedule_decay=``, the lowercase
classes (``optimizers.rmsprop(lr=1e-4, decay=1e-6)``), and ``model.optimizer.lr`` readable
and writable with ``backend.get_value``/``set_value``. Defaults are Keras 3's where the two
differ (Adagrad, Adadelta and Nadam's learning rates; README, "Coming from Keras").

Each step calls :func:`cudnn_lite.ops.optimizer_update` once per trainable
weight; the rules and the per-step scalars c1..c3 are documented at
``OptimizerStep`` in ``csrc/cudnn_lite.h``. ``decay`` is Keras 2's
learning-rate decay: ``lr_t = lr / (1 + decay * iterations)``.

State (``iterations``, Nadam's ``u_product``, and per-weight slots) is saved
with the model by :mod:`cudnn_lite.saving`.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from . import backend, config, ops, unsupported

__all__ = ["Optimizer", "SGD", "RMSprop", "Adagrad", "Adadelta", "Adam", "Nadam", "sgd", "rmsprop", "adagrad",
           "adadelta", "adam", "nadam", "get", "serialize", "deserialize"]


def _number(value, name, low=None, high=None, low_open=False):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{name}: expected a number, got {value!r}")
    value = float(value)
    if low is not None and (value < low or (low_open and value == low)):
        raise ValueError(f"{name}: expected a value {'>' if low_open else '>='} {low}, got {value!r}")
    if high is not None and value > high:
        raise ValueError(f"{name}: expected a value <= {high}, got {value!r}")
    return value


def _epsilon(value):
    """An optimizer's epsilon: Keras 2's ``epsilon=None`` means the fuzz factor (config.epsilon())."""
    return _number(config.epsilon() if value is None else value, "epsilon", 0.0)


class Optimizer:
    """Base class. Subclasses set ``kind`` (the kernel's rule) and ``n_slots``."""

    kind = ""
    n_slots = 0

    def __init__(self, learning_rate=0.001, name=None, decay=0.0, lr=None, **kwargs):
        unknown = set(kwargs) - {"clipnorm", "clipvalue", "global_clipnorm", "weight_decay", "use_ema"}
        if unknown:
            raise TypeError(f"{type(self).__name__}: unexpected argument(s) {sorted(unknown)}")
        for k in ("clipnorm", "clipvalue", "global_clipnorm", "weight_decay"):
            if kwargs.get(k) is not None:
                raise ValueError(f"{k}: not supported by cudnn_lite optimizers")
        if lr is not None:  # Keras 2 spelling
            learning_rate = lr
        self.learning_rate = learning_rate
        self.decay = _number(decay, "decay", 0.0)
        self.name = name or type(self).__name__
        self.iterations = 0
        self._slots: list[list] = []  # per trainable weight: [slot1, slot2] arrays or None

    # learning rate ---------------------------------------------------------
    @property
    def learning_rate(self):
        """The base learning rate (or schedule). A number comes back as a backend.BoundValue, so that
        Keras 2's ``K.set_value(model.optimizer.lr, 0.01)`` changes it."""
        lr = self._learning_rate
        return lr if callable(lr) else backend.BoundValue(lr, self, "learning_rate")

    @learning_rate.setter
    def learning_rate(self, value):
        if callable(value):  # a schedule: lr(step)
            self._learning_rate = value
        else:
            self._learning_rate = _number(value, "learning_rate", 0.0)

    lr = learning_rate  # Keras 2 attribute name (model.optimizer.lr)

    def current_learning_rate(self) -> float:
        """The learning rate of the next step (schedule and decay applied)."""
        lr = self._learning_rate
        lr = float(lr(self.iterations)) if callable(lr) else lr
        if self.decay:
            lr = lr / (1.0 + self.decay * self.iterations)
        return lr

    # slots -----------------------------------------------------------------
    def _slot_init(self, index):
        """Initial value of slot ``index`` (0 or 1)."""
        return 0.0

    def build(self, params):
        """Create the slots for ``params`` (arrays on the weights' device), once."""
        if len(self._slots) == len(params):
            return
        self._slots = []
        for p in params:
            xp = backend.array_module(p)  # the slots live with their weight
            slots = [None, None]
            for i in range(self._n_slots()):
                s = xp.empty(p.shape, dtype=np.float32)
                s.fill(self._slot_init(i))
                slots[i] = s
            self._slots.append(slots)

    def _n_slots(self):
        return self.n_slots

    def _hyper(self):
        """Keyword arguments of ops.optimizer_update other than lr and c1..c3."""
        return {}

    def _scalars(self, lr, t):
        """c1, c2, c3 for step t (1-based)."""
        return {}

    def apply(self, params, grads, l2s=None):
        """One step: update every ``params[i]`` in place with ``grads[i]`` (L2 ``l2s[i]``)."""
        self.build(params)
        t = self.iterations + 1
        lr = self.current_learning_rate()
        scal = self._scalars(lr, t)
        hyper = self._hyper()
        l2s = l2s or [0.0] * len(params)
        for p, g, (s1, s2), l2 in zip(params, grads, self._slots, l2s):
            ops.optimizer_update(self.kind, p, g, s1, s2, lr=lr, l2=l2, **hyper, **scal)
        self.iterations = t

    # config & state ----------------------------------------------------------
    def get_config(self):
        lr = self._learning_rate
        return {"name": self.name, "learning_rate": lr if not callable(lr) else None, "decay": self.decay}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def get_state(self):
        """{'iterations': int, 'scalars': {...}, 'slots': [[array|None, array|None], ...]} (NumPy)."""
        return {"iterations": int(self.iterations), "scalars": self._state_scalars(),
                "slots": [[None if s is None else backend.to_numpy(s).copy() for s in pair]
                          for pair in self._slots]}

    def set_state(self, state, params=None):
        """Restore get_state()'s output; slots go to the device of ``params`` (or stay NumPy)."""
        self.iterations = int(state["iterations"])
        self._set_state_scalars(state.get("scalars", {}))
        slots = []
        for i, pair in enumerate(state["slots"]):
            device = backend.device_of(params[i]) if params is not None else "cpu"
            if params is not None and any(s is not None and tuple(s.shape) != tuple(params[i].shape) for s in pair):
                raise ValueError(f"optimizer state: slot shape does not match weight {i} {tuple(params[i].shape)}")
            slots.append([None if s is None else backend.to_device(s, device, np.float32) for s in pair])
        if params is not None and len(slots) not in (0, len(params)):
            raise ValueError(f"optimizer state has {len(slots)} weights, the model has {len(params)}")
        self._slots = slots

    def _state_scalars(self):
        return {}

    def _set_state_scalars(self, scalars):
        pass

    def variables_on(self, device):
        """Move the slots to ``device``."""
        self._slots = [[None if s is None else backend.to_device(s, device) for s in pair] for pair in self._slots]

    def __repr__(self):
        return f"{type(self).__name__}({self.get_config()})"


class SGD(Optimizer):
    """momentum == 0: w -= lr g; else m = momentum m - lr g; w += m (nesterov: momentum m - lr g)."""

    kind = "sgd"

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, name=None, **kwargs):
        super().__init__(learning_rate, name, **kwargs)
        self.momentum = _number(momentum, "momentum", 0.0, 1.0)
        self.nesterov = bool(nesterov)

    def _n_slots(self):
        return 1 if self.momentum > 0 else 0

    def _hyper(self):
        return {"momentum": self.momentum, "nesterov": self.nesterov}

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class RMSprop(Optimizer):
    """v = rho v + (1-rho) g^2; w -= lr g / sqrt(v + eps) (with momentum: through m)."""

    kind = "rmsprop"

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False,
                 name=None, **kwargs):
        super().__init__(learning_rate, name, **kwargs)
        if centered:
            raise ValueError("centered=True is not supported")
        self.rho = _number(rho, "rho", 0.0, 1.0)
        self.momentum = _number(momentum, "momentum", 0.0, 1.0)
        self.epsilon = _epsilon(epsilon)

    def _n_slots(self):
        return 2 if self.momentum > 0 else 1

    def _hyper(self):
        return {"rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon}

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon}


class Adagrad(Optimizer):
    """a += g^2 (a starts at initial_accumulator_value); w -= lr g / sqrt(a + eps)."""

    kind = "adagrad"
    n_slots = 1

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, name=None, **kwargs):
        super().__init__(learning_rate, name, **kwargs)
        self.initial_accumulator_value = _number(initial_accumulator_value, "initial_accumulator_value", 0.0)
        self.epsilon = _epsilon(epsilon)

    def _slot_init(self, index):
        return self.initial_accumulator_value

    def _hyper(self):
        return {"epsilon": self.epsilon}

    def get_config(self):
        return {**super().get_config(), "initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}


class Adadelta(Optimizer):
    """Zeiler's rule as Keras 3 writes it (see csrc/cudnn_lite.h)."""

    kind = "adadelta"
    n_slots = 2

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, name=None, **kwargs):
        super().__init__(learning_rate, name, **kwargs)
        self.rho = _number(rho, "rho", 0.0, 1.0)
        self.epsilon = _epsilon(epsilon)

    def _hyper(self):
        return {"rho": self.rho, "epsilon": self.epsilon}

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}


class Adam(Optimizer):
    """m, v moving averages; w -= lr sqrt(1-beta_2^t)/(1-beta_1^t) m / (sqrt(v) + eps)."""

    kind = "adam"
    n_slots = 2

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False,
                 name=None, **kwargs):
        super().__init__(learning_rate, name, **kwargs)
        if amsgrad:
            raise ValueError("amsgrad=True is not supported")
        self.beta_1 = _number(beta_1, "beta_1", 0.0, 1.0)
        self.beta_2 = _number(beta_2, "beta_2", 0.0, 1.0)
        self.epsilon = _epsilon(epsilon)

    def _hyper(self):
        return {"beta1": self.beta_1, "beta2": self.beta_2, "epsilon": self.epsilon}

    def _scalars(self, lr, t):
        return {"c1": lr * math.sqrt(1.0 - self.beta_2 ** t) / (1.0 - self.beta_1 ** t)}

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}


class Nadam(Adam):
    """Adam with Nesterov momentum, Keras 3's schedule mu_t = beta_1 (1 - 0.5 * 0.96^t)."""

    kind = "nadam"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, name=None,
                 schedule_decay=None, **kwargs):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, name=name, **kwargs)
        # Keras 2's argument: mu_t = beta_1 (1 - 0.5 * 0.96^(t * schedule_decay)), 0.004 there;
        # None is Keras 3's schedule (the exponent is t)
        self.schedule_decay = None if schedule_decay is None else _number(schedule_decay, "schedule_decay", 0.0)
        self.u_product = 1.0  # prod_{i <= iterations} mu_i

    def _mu(self, t):
        exponent = t if self.schedule_decay is None else t * self.schedule_decay
        return self.beta_1 * (1.0 - 0.5 * 0.96 ** exponent)

    def get_config(self):
        config = super().get_config()
        if self.schedule_decay is not None:
            config["schedule_decay"] = self.schedule_decay
        return config

    def _scalars(self, lr, t):
        prod_t = self.u_product * self._mu(t)
        prod_t1 = prod_t * self._mu(t + 1)
        return {"c1": self._mu(t + 1) / (1.0 - prod_t1), "c2": (1.0 - self._mu(t)) / (1.0 - prod_t),
                "c3": 1.0 / (1.0 - self.beta_2 ** t)}

    def apply(self, params, grads, l2s=None):
        t = self.iterations + 1
        super().apply(params, grads, l2s)
        self.u_product *= self._mu(t)

    def _state_scalars(self):
        return {"u_product": self.u_product}

    def _set_state_scalars(self, scalars):
        self.u_product = float(scalars.get("u_product", 1.0))


# Keras 2's lowercase aliases of the classes (keras.optimizers.rmsprop(lr=1e-4, decay=1e-6))
sgd, rmsprop, adagrad, adadelta, adam, nadam = SGD, RMSprop, Adagrad, Adadelta, Adam, Nadam

_BY_NAME = {"sgd": SGD, "rmsprop": RMSprop, "adagrad": Adagrad, "adadelta": Adadelta, "adam": Adam,
            "nadam": Nadam}


def get(identifier) -> Optimizer:
    """An Optimizer from a name ('adam'), an instance, or {'class_name', 'config'}."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _BY_NAME:
        return _BY_NAME[identifier.lower()]()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    raise ValueError(f"optimizer: expected one of {sorted(_BY_NAME)} or an optimizers.* object, got {identifier!r}")


def serialize(opt: Optimizer) -> dict:
    return {"class_name": type(opt).__name__, "config": opt.get_config()}


def deserialize(config: dict) -> Optimizer:
    cls = _BY_NAME.get(str(config.get("class_name", "")).lower())
    if cls is None:
        raise ValueError(f"optimizer: unknown class_name {config.get('class_name')!r}")
    cfg = dict(config.get("config", {}))
    if cfg.get("learning_rate") is None:
        cfg.pop("learning_rate", None)
    return cls(**cfg)


# Keras optimizers that have no kernel here: named, and refused with the reason.
_NO_KERNEL = "it has no update kernel in cudnn_lite (available: SGD, RMSprop, Adagrad, Adadelta, Adam, Nadam)"
__getattr__ = unsupported.module_getattr(__name__, "keras.optimizers", {
    name: _NO_KERNEL for name in ("Adamax", "adamax", "Ftrl", "ftrl", "AdamW", "adamw", "Lion", "lion",
                                  "Adafactor", "adafactor", "LossScaleOptimizer", "TFOptimizer")})
