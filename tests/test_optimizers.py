"""Each optimizer's steps equal a NumPy float64 implementation of its published rule
(Keras 3's update rules and defaults), plus Keras 2 spellings, decay, L2, config and state."""
from __future__ import annotations

import math

import numpy as np
import pytest

from cudnn_lite import optimizers
from helpers import to_device, to_host

pytestmark = pytest.mark.usefixtures("on_device")  # every test on 'cpu', and on 'cuda' where usable


# ------------------------------------------------ NumPy rules (float64)

def numpy_rule(name, cfg, p, grads, l2=0.0):
    """Apply the rule for each gradient in turn; returns the final parameter."""
    p = p.astype(np.float64)
    lr0 = cfg.get("learning_rate")
    decay = cfg.get("decay", 0.0)
    s1 = s2 = None
    u_product = 1.0
    for it, g in enumerate(grads):
        t = it + 1
        lr = lr0 / (1 + decay * it)
        g = g.astype(np.float64) + 2 * l2 * p
        if name == "sgd":
            mom, nest = cfg["momentum"], cfg["nesterov"]
            if mom == 0:
                p = p - lr * g
            else:
                s1 = np.zeros_like(p) if s1 is None else s1
                s1 = mom * s1 - lr * g
                p = p + (mom * s1 - lr * g if nest else s1)
        elif name == "rmsprop":
            rho, mom, eps = cfg["rho"], cfg["momentum"], cfg["epsilon"]
            s1 = np.zeros_like(p) if s1 is None else s1
            s1 = rho * s1 + (1 - rho) * g * g
            inc = lr * g / np.sqrt(s1 + eps)
            if mom == 0:
                p = p - inc
            else:
                s2 = np.zeros_like(p) if s2 is None else s2
                s2 = mom * s2 + inc
                p = p - s2
        elif name == "adagrad":
            s1 = np.full_like(p, cfg["initial_accumulator_value"]) if s1 is None else s1
            s1 = s1 + g * g
            p = p - lr * g / np.sqrt(s1 + cfg["epsilon"])
        elif name == "adadelta":
            rho, eps = cfg["rho"], cfg["epsilon"]
            s1 = np.zeros_like(p) if s1 is None else s1
            s2 = np.zeros_like(p) if s2 is None else s2
            s1 = rho * s1 + (1 - rho) * g * g
            delta = np.sqrt(s2 + eps) / np.sqrt(s1 + eps) * g
            s2 = rho * s2 + (1 - rho) * delta * delta
            p = p - lr * delta
        elif name == "adam":
            b1, b2, eps = cfg["beta_1"], cfg["beta_2"], cfg["epsilon"]
            s1 = np.zeros_like(p) if s1 is None else s1
            s2 = np.zeros_like(p) if s2 is None else s2
            alpha = lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
            s1 = s1 + (g - s1) * (1 - b1)
            s2 = s2 + (g * g - s2) * (1 - b2)
            p = p - alpha * s1 / (np.sqrt(s2) + eps)
        elif name == "nadam":  # keras/src/optimizers/nadam.py (Keras 3)
            b1, b2, eps = cfg["beta_1"], cfg["beta_2"], cfg["epsilon"]
            s1 = np.zeros_like(p) if s1 is None else s1
            s2 = np.zeros_like(p) if s2 is None else s2
            u_t = b1 * (1.0 - 0.5 * 0.96 ** t)
            u_t1 = b1 * (1.0 - 0.5 * 0.96 ** (t + 1))
            u_product = u_product * u_t
            u_product_t1 = u_product * u_t1
            s1 = s1 + (g - s1) * (1 - b1)
            s2 = s2 + (g * g - s2) * (1 - b2)
            m_hat = u_t1 * s1 / (1 - u_product_t1) + (1 - u_t) * g / (1 - u_product)
            v_hat = s2 / (1 - b2 ** t)
            p = p - m_hat * lr / (np.sqrt(v_hat) + eps)
        else:
            raise AssertionError(name)
    return p


CASES = [
    ("sgd", optimizers.SGD, {}),
    ("sgd", optimizers.SGD, {"learning_rate": 0.1, "momentum": 0.9}),
    ("sgd", optimizers.SGD, {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True}),
    ("rmsprop", optimizers.RMSprop, {}),
    ("rmsprop", optimizers.RMSprop, {"momentum": 0.5, "rho": 0.8}),
    ("adagrad", optimizers.Adagrad, {"learning_rate": 0.1}),
    ("adadelta", optimizers.Adadelta, {"learning_rate": 1.0}),
    ("adam", optimizers.Adam, {}),
    ("adam", optimizers.Adam, {"learning_rate": 0.01, "beta_1": 0.8}),
    ("nadam", optimizers.Nadam, {}),
    ("nadam", optimizers.Nadam, {"learning_rate": 0.01}),
]


@pytest.mark.parametrize("name, cls, kwargs", CASES)
@pytest.mark.parametrize("steps", [1, 3])
def test_steps_match_numpy_rule(name, cls, kwargs, steps, device):
    rng = np.random.default_rng(0)
    p0 = rng.standard_normal((4, 5)).astype(np.float32)
    grads = [rng.standard_normal((4, 5)).astype(np.float32) for _ in range(steps)]
    opt = cls(**kwargs)
    cfg = opt.get_config()
    p = to_device(p0.copy(), device)
    for g in grads:
        opt.apply([p], [to_device(g.copy(), device)])
    assert opt.iterations == steps
    np.testing.assert_allclose(to_host(p), numpy_rule(name, cfg, p0, grads), rtol=2e-5, atol=2e-6)


def test_keras_defaults():
    assert optimizers.SGD().get_config()["learning_rate"] == 0.01
    assert optimizers.RMSprop().get_config() == {"name": "RMSprop", "learning_rate": 0.001, "decay": 0.0,
                                                 "rho": 0.9, "momentum": 0.0, "epsilon": 1e-7}
    assert optimizers.Adagrad().initial_accumulator_value == 0.1
    assert optimizers.Adadelta().rho == 0.95 and optimizers.Adadelta().learning_rate == 0.001
    adam = optimizers.Adam()
    assert (adam.learning_rate, adam.beta_1, adam.beta_2, adam.epsilon) == (0.001, 0.9, 0.999, 1e-7)


def test_keras2_lr_and_decay(device):
    rng = np.random.default_rng(1)
    p0 = rng.standard_normal(6).astype(np.float32)
    grads = [rng.standard_normal(6).astype(np.float32) for _ in range(4)]
    opt = optimizers.Adam(lr=0.01, decay=0.1)
    assert opt.learning_rate == 0.01 and opt.lr == 0.01
    p = to_device(p0.copy(), device)
    for g in grads:
        opt.apply([p], [to_device(g, device)])
    np.testing.assert_allclose(to_host(p), numpy_rule("adam", opt.get_config(), p0, grads), rtol=2e-5, atol=2e-6)
    assert abs(opt.current_learning_rate() - 0.01 / (1 + 0.1 * 4)) < 1e-12


def test_l2_adds_its_gradient(device):
    rng = np.random.default_rng(2)
    p0 = rng.standard_normal(7).astype(np.float32)
    g = rng.standard_normal(7).astype(np.float32)
    opt = optimizers.SGD(learning_rate=0.1, momentum=0.5)
    p = to_device(p0.copy(), device)
    opt.apply([p], [to_device(g, device)], [0.01])
    np.testing.assert_allclose(to_host(p), numpy_rule("sgd", opt.get_config(), p0, [g], l2=0.01), rtol=1e-6, atol=1e-7)


def test_get_by_name_and_config_round_trip():
    for name, cls in [("sgd", optimizers.SGD), ("rmsprop", optimizers.RMSprop), ("adam", optimizers.Adam),
                      ("adagrad", optimizers.Adagrad), ("adadelta", optimizers.Adadelta), ("nadam", optimizers.Nadam)]:
        opt = optimizers.get(name)
        assert type(opt) is cls
        again = optimizers.deserialize(optimizers.serialize(opt))
        assert type(again) is cls and again.get_config() == opt.get_config()
    with pytest.raises(ValueError, match="optimizer"):
        optimizers.get("adamw2")
    with pytest.raises(ValueError, match="learning_rate"):
        optimizers.Adam(learning_rate=-1)
    with pytest.raises(ValueError, match="momentum"):
        optimizers.SGD(momentum=1.5)


@pytest.mark.parametrize("cls", [optimizers.SGD, optimizers.RMSprop, optimizers.Adagrad, optimizers.Adadelta,
                                 optimizers.Adam, optimizers.Nadam])
def test_state_round_trip_continues_identically(cls, device):
    rng = np.random.default_rng(3)
    p = to_device(rng.standard_normal(5).astype(np.float32), device)
    kwargs = {"momentum": 0.9} if cls in (optimizers.SGD, optimizers.RMSprop) else {}
    a = cls(**kwargs)
    for _ in range(2):
        a.apply([p], [to_device(rng.standard_normal(5).astype(np.float32), device)])
    state = a.get_state()
    b = cls.from_config(a.get_config())
    q = p.copy()
    b.set_state(state, [q])
    g = to_device(rng.standard_normal(5).astype(np.float32), device)
    a.apply([p], [g])
    b.apply([q], [g])
    np.testing.assert_array_equal(to_host(p), to_host(q))
