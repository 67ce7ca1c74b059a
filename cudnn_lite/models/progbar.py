"""Keras's progress output: the one-line bar of ``verbose=1`` and the number formats that the
bar and the ``verbose=2`` epoch lines share."""
from __future__ import annotations

import sys
import time

__all__ = ["Progbar", "fmt_logs", "fmt_step_time", "fmt_eta"]


def fmt_value(v):
    return f"{v:.4f}" if abs(v) > 1e-3 else f"{v:.4e}"


def fmt_logs(logs):
    """' - loss: 0.1234 - accuracy: 0.9876' (Keras's order: the dict's)."""
    return "".join(f" - {k}: {fmt_value(float(v))}" for k, v in logs.items())


def fmt_step_time(seconds):
    if seconds >= 1:
        return f"{seconds:.0f}s/step"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/step"
    return f"{seconds * 1e6:.0f}us/step"


def fmt_eta(seconds):
    if seconds > 3600:
        return f"{int(seconds // 3600)}:{int(seconds % 3600 // 60):02d}:{int(seconds % 60):02d}"
    if seconds > 60:
        return f"{int(seconds // 60)}:{int(seconds % 60):02d}"
    return f"{int(seconds)}s"


class Progbar:
    """Keras's one-line progress bar (redrawn with \\r on a terminal, at most every 0.1 s)."""

    def __init__(self, target, width=30, stream=None, interval=0.1):
        self.target, self.width, self.interval = int(target), width, interval
        self.stream = stream or sys.stdout
        self.start = time.time()
        self._last = 0.0
        self._len = 0
        isatty = getattr(self.stream, "isatty", lambda: False)
        self.dynamic = bool(isatty()) or "ipykernel" in sys.modules

    def due(self):
        return self.dynamic and time.time() - self._last >= self.interval

    def update(self, current, logs=None, final=False):
        now = time.time()
        self._last = now
        digits = len(str(self.target))
        filled = int(self.width * current / max(self.target, 1))
        bar = "=" * max(filled - 1, 0) + (">" if current < self.target else "=") if filled > 0 else ""
        bar = f"{current:>{digits}}/{self.target} [" + bar + "." * (self.width - len(bar)) + "]"
        elapsed = now - self.start
        if final:
            info = f" - {elapsed:.0f}s {fmt_step_time(elapsed / max(current, 1))}"
        else:
            eta = elapsed / max(current, 1) * (self.target - current)
            info = f" - ETA: {fmt_eta(eta)}"
        line = bar + info + fmt_logs(logs or {})
        if self.dynamic:
            pad = " " * max(self._len - len(line), 0)
            self.stream.write("\r" + line + pad + ("\n" if final else ""))
        elif final:
            self.stream.write(line + "\n")
        self._len = len(line)
        self.stream.flush()
