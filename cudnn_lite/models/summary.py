"""``model.summary()``: Keras 2's table (layer (type), output shape, param #, then the totals),
line for line as the textbook prints it."""
from __future__ import annotations

import numpy as np

__all__ = ["print_summary"]


def print_summary(model, line_length=None, positions=None, print_fn=None):
    """Print ``model``'s table through ``print_fn`` (default ``print``), one call per line."""
    print_fn = print_fn or print
    line_length = line_length or 65
    positions = positions or [0.45, 0.85, 1.0]
    if positions[-1] <= 1:
        positions = [int(line_length * p) for p in positions]

    def row(fields):
        # Keras 2's print_row: text too long for its column goes on to the next line(s)
        # (never truncated), e.g. "batch_normalization (BatchN" then "ormalization)".
        left = [str(text) for text in fields]
        while any(left):
            line = ""
            for col in range(len(left)):
                start = positions[col - 1] if col else 0
                space = 2 if col != len(positions) - 1 else 0
                cutoff = positions[col] - start - space - (1 if col != len(positions) - 1 else 0)
                if col == 0:
                    line += " "
                line += left[col][:cutoff] + " " * space
                left[col] = left[col][cutoff:]
                line += " " * (positions[col] - len(line))
            print_fn(line)

    print_fn(f'Model: "{model.name}"')
    print_fn("_" * line_length)
    row(["Layer (type)", "Output Shape", "Param #"])
    print_fn("=" * line_length)
    for layer in model.layers:
        row([f"{layer.name} ({type(layer).__name__})", str(layer.output_shape), layer.count_params()])
        print_fn(" " * line_length)
    print_fn("=" * line_length)
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    non_trainable = sum(int(np.prod(w.shape)) for w in model.non_trainable_weights)
    print_fn(f"Total params: {trainable + non_trainable:,}")
    print_fn(f"Trainable params: {trainable:,}")
    print_fn(f"Non-trainable params: {non_trainable:,}")
    print_fn("_" * line_length)
