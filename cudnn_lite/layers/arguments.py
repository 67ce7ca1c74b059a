"""Argument checks shared by the convolution and pooling layers (kernel sizes, strides, padding)."""
from __future__ import annotations

import numbers
import warnings

from .core import positive_int

__all__ = ["pair", "padding_mode"]


def pair(value, name):
    """An int, a pair of ints, or (the textbook's typo) a digit string like '1' -> (a, b)."""
    if isinstance(value, str):
        if value.strip().isdigit():
            warnings.warn(f"{name}={value!r} is a string; using the int {int(value)}", stacklevel=4)
            value = int(value)
        else:
            raise ValueError(f"{name}: expected an int or a pair of ints, got {value!r}")
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = (int(value), int(value))
    try:
        a, b = value
        return positive_int(a, name), positive_int(b, name)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected a positive int or a pair of positive ints, got {value!r}") from None


def padding_mode(value):
    if not isinstance(value, str) or value.lower() not in ("valid", "same"):
        raise ValueError(f"padding: expected 'valid' or 'same', got {value!r}")
    return value.lower()
