"""Learning curves: ``plot_history(history, path)`` writes a PNG of loss and
accuracy (train and validation) per epoch. Needs matplotlib (the ``plot``
extra: ``pip install cudnn_lite[plot]``); it is imported only when called."""
from __future__ import annotations

import os

from .files import atomic_write

__all__ = ["plot_history"]


def _pyplot():
    try:
        import matplotlib
    except ImportError as e:
        raise ImportError("plot_history needs matplotlib: pip install 'cudnn_lite[plot]' "
                          "(or pip install matplotlib)") from e
    matplotlib.use("Agg", force=True)  # files only, no display needed
    import matplotlib.pyplot as plt
    return plt


def _as_dict(history):
    """A History object (``.history``) or a dict of per-epoch lists -> dict."""
    h = getattr(history, "history", history)
    if not isinstance(h, dict):
        raise TypeError(f"plot_history: expected a History or a dict of lists, "
                        f"got {type(history).__name__}")
    return {k: [float(x) for x in v] for k, v in h.items()}


def plot_history(history, path, title=None):
    """Write the learning curves of ``history`` to the PNG ``path``; returns the path.

    One panel for the loss, one per other metric (e.g. accuracy), each with
    the training curve and, when present, the ``val_`` curve. The file is
    written atomically (temporary file, then rename).
    """
    h = _as_dict(history)
    names = [k for k in h if not k.startswith("val_")]
    names += [k[4:] for k in h if k.startswith("val_") and k[4:] not in h]
    if not names:
        raise ValueError("plot_history: the history holds no values")
    names.sort(key=lambda k: (k != "loss", k))
    plt = _pyplot()
    from matplotlib.ticker import MaxNLocator
    fig, axes = plt.subplots(1, len(names), figsize=(5 * len(names), 4), squeeze=False)
    for ax, name in zip(axes[0], names):
        for key, label in ((name, "train"), ("val_" + name, "validation")):
            if key in h:
                ax.plot(range(1, len(h[key]) + 1), h[key], label=label)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.set_title(name)
        ax.grid(True, alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    path = os.fspath(path)
    try:
        atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=100))
    finally:
        plt.close(fig)
    return path
