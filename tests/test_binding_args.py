"""The binding checks every non-array argument, once (python/args.cpp, python/shapes.cpp):
the enum tables it exports are the only lists of names, and ops, reference and the layers use
them; a name and its id are the same argument; the dropout rate and seeds follow one rule."""
from __future__ import annotations

import numpy as np
import pytest

from helpers import ops, ref
from cudnn_lite import _C, activations

F = np.float32
TABLES = ["ACTIVATIONS", "LOSSES", "OPTIMIZERS", "FILL_MODES"]


@pytest.mark.parametrize("table", TABLES)
def test_one_table_per_enum(table):
    names = getattr(_C, table)
    assert list(names.values()) == list(range(len(names))), f"{table}: ids must be 0..n-1 in order"
    assert getattr(ops, table) == names
    assert getattr(ref, table) == tuple(names)


def test_the_reference_implements_every_name():
    x = np.linspace(-2, 2, 9)
    for act in _C.ACTIVATIONS:
        ref.activation_forward(x, act, 0.1)
        ref.activation_backward(x, x, x, act, 0.1)
    p = np.full((2, 3), 0.3)
    for loss in _C.LOSSES:
        ref.loss_forward(p, p, loss)
        ref.loss_backward(p, p, loss)
    for kind in _C.OPTIMIZERS:
        ref.optimizer_update(kind, x, x, x * x, x * x, lr=0.1, momentum=0.5, c1=0.1, c2=0.1, c3=1.0)
    for mode in _C.FILL_MODES:
        ref.affine_transform(np.ones((1, 3, 3, 1)), np.array([[1.0, 0, 0.5, 0, 1, -0.5]]), mode)
    with pytest.raises(ValueError, match="fill_mode"):
        ref.affine_transform(np.ones((1, 3, 3, 1)), np.array([[1.0, 0, 0, 0, 1, 0]]), "mirror")
    assert set(activations.NAMES) == set(_C.ACTIVATIONS) | {"softmax"}


def test_a_name_and_its_id_are_the_same_argument():
    x = np.linspace(-3, 3, 11).astype(F)
    for act, i in _C.ACTIVATIONS.items():
        by_name, by_id = np.empty_like(x), np.empty_like(x)
        _C.activation_forward(x, by_name, act, 0.1)
        _C.activation_forward(x, by_id, i, 0.1)
        np.testing.assert_array_equal(by_name, by_id)
    p = np.full((2, 3), 0.3, F)
    for loss, i in _C.LOSSES.items():
        a, b = np.empty(2, F), np.empty(2, F)
        _C.loss_forward(p, p, a, loss)
        _C.loss_forward(p, p, b, np.int64(i))
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("bad", ["Relu", "softmax", 6, -1, 2**70, True, 1.0, None, b"relu"])
def test_unknown_enum_values_name_the_argument(bad):
    x = np.ones(3, F)
    if bad is None:  # None means linear for an activation (Keras's activation=None) ...
        np.testing.assert_array_equal(ops.activation_forward(x, None), x)
    else:
        with pytest.raises(ValueError, match="^activation: "):
            ops.activation_forward(x, bad)
    with pytest.raises(ValueError, match="^loss: "):  # ... but not for the others
        ops.loss_forward(np.ones((2, 3), F), np.ones((2, 3), F), bad)
    with pytest.raises(ValueError, match="^kind: "):
        ops.optimizer_update(bad, np.ones(3, F), np.ones(3, F), lr=0.1)
    with pytest.raises(ValueError, match="^fill_mode: "):
        ops.affine_transform(np.ones((1, 2, 2, 1), F), np.zeros((1, 6), F), bad)


@pytest.mark.parametrize("kind,momentum,missing", [("sgd", 0.9, "slot1"), ("adagrad", 0.0, "slot1"),
                                                    ("rmsprop", 0.9, "slot2"), ("adadelta", 0.0, "slot1"),
                                                    ("adam", 0.0, "slot1"), ("nadam", 0.0, "slot1")])
def test_a_missing_slot_is_named(kind, momentum, missing):
    slots = {"slot1": np.zeros(3, F), "slot2": np.zeros(3, F)}
    slots[missing] = None
    with pytest.raises(ValueError, match=f"^{missing}: required by {kind} "):
        ops.optimizer_update(kind, np.ones(3, F), np.ones(3, F), **slots, lr=0.1, momentum=momentum)
    ops.optimizer_update("sgd", np.ones(3, F), np.ones(3, F), lr=0.1)  # plain sgd needs none


@pytest.mark.parametrize("rate", [-0.1, 1.0, 0.99999999, float("nan"), float("inf"), True, False, "0.5", None])
def test_one_dropout_rate_rule(rate):
    from cudnn_lite.layers import Dropout
    with pytest.raises(ValueError, match="^rate: "):
        ops.dropout_forward(np.ones(3, F), rate, 1)
    with pytest.raises(ValueError, match="^rate: "):
        Dropout(rate)
    with pytest.raises(ValueError, match="^rate: "):
        ops.check_dropout_rate(rate)


def test_dropout_rate_and_seed_values():
    from cudnn_lite.layers import Dropout
    assert Dropout(np.float32(0.25)).rate == 0.25 and Dropout(0).rate == 0.0
    assert ops.check_dropout_rate(0.3) == 0.3  # the layer keeps the user's value (its config)
    x = np.ones(64, F)
    ops.dropout_forward(x, 0.5, 2**64 - 1, 2**64 - 65)          # the largest seed, and offset for 64
    ops.dropout_forward(x, 0.5, np.uint64(7), np.int32(3))      # NumPy integers
    for name, seed, offset in [("seed", -1, 0), ("seed", 2**64, 0), ("seed", 1.0, 0), ("seed", True, 0),
                               ("offset", 1, -1), ("offset", 1, 2**64 - 64)]:
        with pytest.raises(ValueError, match=f"^{name}: "):
            ops.dropout_forward(x, 0.5, seed, offset)
