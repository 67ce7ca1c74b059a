"""Padding and output-shape helpers of ops agree with the reference's independent ones."""
import itertools

import pytest

from helpers import ops, ref


@pytest.mark.parametrize("size,k,s", list(itertools.product([1, 2, 5, 7, 28], [1, 2, 3, 5], [1, 2, 3])))
@pytest.mark.parametrize("padding", ["valid", "same", (1, 2, 0, 1)])
def test_padding_and_output_shapes(size, k, s, padding):
    shape = (3, size, size + 2, 4)
    if padding == "valid" and k > size:
        with pytest.raises(ValueError):
            ops.conv_output_shape(shape, 8, k, s, padding)
        return
    if padding != "same" and padding != "valid" and k > size + 3:
        return
    assert ops.conv_padding(shape, k, s, padding) == ref.conv_padding(shape, k, s, padding)
    assert ops.pool_padding(shape, k, s, padding) == ref.pool_padding(shape, k, s, padding)
    assert ops.conv_output_shape(shape, 8, k, s, padding) == ref.conv_output_shape(shape, 8, k, s, padding)
    assert ops.pool_output_shape(shape, k, s, padding) == ref.pool_output_shape(shape, k, s, padding)


def test_pool_strides_default_to_pool_size():
    assert ops.pool_output_shape((1, 28, 28, 3), 2) == (1, 14, 14, 3)
    assert ops.pool_output_shape((1, 7, 7, 3), 3) == ref.pool_output_shape((1, 7, 7, 3), 3) == (1, 2, 2, 3)


def test_bad_padding_strings():
    with pytest.raises(ValueError, match="padding"):
        ops.conv_padding((1, 5, 5, 1), 3, 1, "full")
    with pytest.raises(ValueError, match="padding"):
        ops.conv_padding((1, 5, 5, 1), 3, 1, (1, 2, 3))
    with pytest.raises(ValueError, match="kernel_size"):
        ops.conv_padding((1, 5, 5, 1), 0, 1, "same")
    with pytest.raises(ValueError, match="strides"):
        ops.conv_padding((1, 5, 5, 1), 3, -1, "same")


@pytest.mark.parametrize("size,k,s", [(5, 3, 2**62), (2**40, 3, 2**62), (2**40, 2**40, 1), (7, 2**40, 3),
                                      (1, 1, 2**63 - 1), (2**40, 5, 2**40 - 1)])
def test_same_padding_of_huge_values_is_exact(size, k, s):
    # the binding computes 'same' in int64 without overflowing; the reference in Python ints
    assert ops.conv_padding((size, size), k, s, "same") == ref.conv_padding((size, size), k, s, "same")


def test_the_kernel_bindings_and_ops_share_one_geometry():
    import numpy as np
    from cudnn_lite import _C
    x, w = np.ones((2, 9, 7, 3), np.float32), np.ones((3, 2, 3, 4), np.float32)
    geometry, y_shape = _C.conv2d_geometry(x.shape, w.shape, (2, 1), "same")
    assert y_shape == ref.conv_output_shape(x.shape, 4, (3, 2), (2, 1), "same")
    assert geometry == (2, 1) + ref.conv_padding(x.shape, (3, 2), (2, 1), "same")
    _C.conv2d_forward(x, w, None, np.empty(y_shape, np.float32), *geometry, "linear", 0.0)
    geometry, y_shape = _C.pool2d_geometry(x.shape, 3, 2, "same")
    assert y_shape == ref.pool_output_shape(x.shape, 3, 2, "same")
    _C.maxpool2d_forward(x, np.empty(y_shape, np.float32), *geometry)
    with pytest.raises(ValueError, match="^x_shape: expected a 4-D"):
        _C.conv2d_geometry((9, 7, 3), w.shape, 1, "valid", x_name="x_shape")
    with pytest.raises(ValueError, match="^w_shape: expected in_channels 3"):
        _C.conv2d_geometry(x.shape, (3, 3, 2, 4), 1, "valid", w_name="w_shape")
