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
