"""BatchTotals: the one place a batch's loss and metrics are summed, on the model's device."""
from __future__ import annotations

import numpy as np

from .. import backend

__all__ = ["BatchTotals"]


class BatchTotals:
    """Sums of the loss (with the L2 term) and of each metric over the batches seen, and how
    many values each sum holds, kept on the device: ``add`` reads nothing back, ``logs``/``values``
    do. A metric gives one value per sample, or one per batch (a custom metric that reduces, such
    as Keras 2's ``K.mean(...)``), which counts once: Keras 3's Mean of the values."""

    def __init__(self, names, device):
        self.names = names
        self.sums = backend.xp(device).zeros(len(names), dtype=np.float64)
        self.counts = [0] * len(names)
        self.seen = 0

    def add(self, step, n):
        """Add one batch of ``n`` samples: ``step`` is Trainer._step's (per-sample loss, L2 term,
        [per-sample (or per-batch) metric values])."""
        per, reg, metric_values = step
        self.sums[0] += per.sum() + reg * n
        self.counts[0] += n
        for j, m in enumerate(metric_values):
            self.sums[1 + j] += m.sum()
            self.counts[1 + j] += n if getattr(m, "ndim", 0) else 1
        self.seen += n

    def add_sums(self, sums, n):
        """Add sums already taken ([loss sum, metric sums...] over ``n`` samples, e.g. reduced
        over the ranks of a data-parallel step, where a per-batch metric comes weighted by its
        rows), each sum counting ``n`` values."""
        self.sums += sums
        self.counts = [c + n for c in self.counts]
        self.seen += n

    def device_logs(self):
        """{name: mean so far}, device scalars (for the batch callbacks: nothing is read back)."""
        return {k: self.sums[i] / self.counts[i] for i, k in enumerate(self.names)}

    def values(self):
        """The means so far as floats (read back from the device)."""
        return [float(v) / max(c, 1) for v, c in zip(backend.to_numpy(self.sums), self.counts)]

    def logs(self):
        return dict(zip(self.names, self.values()))
