"""Keras 2's ``keras.utils.data_utils.Sequence``: the base class of batch sources.

A Sequence gives ``len(seq)`` batches, ``seq[i]`` is batch ``i`` as ``(x, y)``, and
``on_epoch_end()`` runs after each epoch (to reshuffle). ``fit`` reads the batches in a
shuffled order (``shuffle=True``) and ``evaluate``/``predict`` in order. Subclassing it is
optional: any object with ``__len__`` and ``__getitem__`` is used the same way.
"""
from __future__ import annotations

__all__ = ["Sequence"]


class Sequence:
    """Subclass and define ``__getitem__(index)`` and ``__len__()`` (and ``on_epoch_end``)."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__(index) -> (x, y)")

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __len__() -> the number of batches")

    def on_epoch_end(self):
        """Called after every epoch of fit (override to reshuffle)."""

    def __iter__(self):
        """Every batch, in order."""
        for i in range(len(self)):
            yield self[i]
