"""Training metrics (per-sample, Keras's accuracy resolution) and the evaluation
functions against hand-computed values (scikit-learn's definitions)."""
from __future__ import annotations

import numpy as np
import pytest

from cudnn_lite import metrics
from cudnn_lite.utils import np_utils, to_categorical


def test_categorical_accuracy_for_cce():
    name, fn = metrics.get("accuracy", "categorical_crossentropy")
    assert name == "accuracy"
    y_true = np.eye(3, dtype=np.float32)[[0, 1, 2, 1]]
    y_pred = np.array([[.8, .1, .1], [.2, .3, .5], [.1, .1, .8], [.3, .4, .3]], np.float32)
    out = fn(y_true, y_pred)
    assert out.shape == (4,)
    assert out.tolist() == [1, 0, 1, 1]


def test_acc_display_name_and_binary_accuracy():
    name, fn = metrics.get("acc", "binary_crossentropy")
    assert name == "acc"
    y_true = np.array([[1], [0], [1], [0]], np.float32)
    y_pred = np.array([[.9], [.4], [.2], [.6]], np.float32)
    assert fn(y_true, y_pred).tolist() == [1, 1, 0, 0]
    # multi-label: mean over outputs
    out = fn(np.array([[1, 0], [1, 1]], np.float32), np.array([[.7, .6], [.8, .9]], np.float32))
    assert out.tolist() == [0.5, 1.0]


def test_accuracy_with_one_output_and_mse_is_binary():
    _, fn = metrics.get("accuracy", "mse")
    assert fn(np.array([[1.], [0.]], np.float32), np.array([[1.], [1.]], np.float32)).tolist() == [1, 0]


@pytest.mark.parametrize("labels", [np.array([2, 0, 1]), np.array([[2], [0], [1]])])
def test_sparse_accuracy_for_integer_targets(labels):
    _, fn = metrics.get("accuracy", "categorical_crossentropy")
    y_pred = np.array([[.1, .2, .7], [.5, .4, .1], [.6, .3, .1]], np.float32)
    assert fn(labels, y_pred).tolist() == [1, 1, 0]


def test_mse_mae_metrics():
    y_true = np.array([[1., 2.], [0., 0.]], np.float32)
    y_pred = np.array([[2., 4.], [1., -1.]], np.float32)
    name, mse = metrics.get("mse", "mse")
    assert name == "mse"
    np.testing.assert_allclose(mse(y_true, y_pred), [2.5, 1.0])
    np.testing.assert_allclose(metrics.get("mae")[1](y_true, y_pred), [1.5, 1.0])


def test_unknown_metric_and_callable():
    with pytest.raises(ValueError, match="unknown metric"):
        metrics.get("bogus", "mse")

    def my_metric(y_true, y_pred):
        return y_true[:, 0]
    assert metrics.get(my_metric, "mse")[0] == "my_metric"


# 3 classes, 8 samples:
#  true: 0 0 0 1 1 2 2 2
#  pred: 0 1 0 1 2 2 2 0
# confusion (rows true): [[2,1,0],[0,1,1],[1,0,2]]
T = np.array([0, 0, 0, 1, 1, 2, 2, 2])
P = np.array([0, 1, 0, 1, 2, 2, 2, 0])


def test_confusion_and_accuracy():
    cm = metrics.confusion_matrix(T, P)
    assert cm.tolist() == [[2, 1, 0], [0, 1, 1], [1, 0, 2]]
    assert metrics.confusion_matrix(T, P, num_classes=4).shape == (4, 4)
    assert metrics.accuracy_score(T, P) == pytest.approx(5 / 8)
    # one-hot / probability rows are argmaxed
    assert metrics.confusion_matrix(to_categorical(T), to_categorical(P)).tolist() == cm.tolist()


def test_precision_recall_f1_by_hand():
    # per class: precision = TP/(TP+FP): 2/3, 1/2, 2/3; recall = TP/(TP+FN): 2/3, 1/2, 2/3
    p = metrics.precision(T, P, average=None)
    r = metrics.recall(T, P, average=None)
    np.testing.assert_allclose(p, [2 / 3, 1 / 2, 2 / 3])
    np.testing.assert_allclose(r, [2 / 3, 1 / 2, 2 / 3])
    assert metrics.precision(T, P) == pytest.approx((2 / 3 + 1 / 2 + 2 / 3) / 3)
    assert metrics.precision(T, P, average="micro") == pytest.approx(5 / 8)
    assert metrics.f1_score(T, P, average="micro") == pytest.approx(5 / 8)
    np.testing.assert_allclose(metrics.f1_score(T, P, average=None), [2 / 3, 1 / 2, 2 / 3])


def test_macro_f1_is_mean_of_per_class_f1():
    t = np.array([0, 0, 1, 1])
    p = np.array([0, 1, 1, 1])
    # class 0: p=1, r=1/2, f1=2/3; class 1: p=2/3, r=1, f1=4/5
    assert metrics.f1_score(t, p) == pytest.approx((2 / 3 + 4 / 5) / 2)
    assert metrics.f1_score(t, p, average="binary") == pytest.approx(4 / 5)
    assert metrics.precision(t, p, average="binary") == pytest.approx(2 / 3)
    assert metrics.recall(t, p, average="binary") == pytest.approx(1.0)


def test_zero_division_gives_zero_and_bad_average():
    t = np.array([0, 0, 1])
    p = np.array([0, 0, 0])  # class 1 never predicted: precision 0 (sklearn zero_division=0)
    np.testing.assert_allclose(metrics.precision(t, p, average=None), [2 / 3, 0.0])
    with pytest.raises(ValueError, match="average"):
        metrics.precision(t, p, average="samples")
    with pytest.raises(ValueError, match="binary"):
        metrics.f1_score(T, P, average="binary")


def test_to_categorical_like_keras():
    y = np.array([[1], [0], [3]])
    out = to_categorical(y, 4)
    assert out.shape == (3, 4) and out.dtype == np.float32
    assert out.argmax(1).tolist() == [1, 0, 3]
    assert np_utils.to_categorical([2, 1]).tolist() == [[0, 0, 1], [0, 1, 0]]
    from cudnn_lite.utils.np_utils import to_categorical as tc
    assert tc(np.array([[0, 1], [1, 0]])).shape == (2, 2, 2)
    with pytest.raises(ValueError, match="out of range"):
        to_categorical([5], 3)
    with pytest.raises(ValueError, match=">= 0"):
        to_categorical([-1], 3)
