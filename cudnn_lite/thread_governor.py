"""Fewer CPU threads while the machine is busy: the team size of each training step, measured.

A fork-join training step beside other busy processes waits at every join for a thread the
kernel scheduler has descheduled (issue 14; ``benchmarks/bench_contention.py``). Every CPU
kernel cuts its work into chunks fixed by the shape and adds partial sums in chunk order, so
the thread count changes no bit of any result (``tests/test_determinism.py``): the team size
can follow the machine from one step to the next.

How it decides, per Python thread that trains (``Model.fit``, ``train_on_batch``), on the CPU:

- **quiet**: every step runs with the full thread count (:func:`cudnn_lite.set_num_threads`).
  After each step the training thread's run-queue delay is read (``/proc/thread-self/schedstat``:
  the time it was runnable but waited for a CPU; 2 us a read). On an idle machine it stays near
  zero and nothing else happens.
- **probe**: once the delay exceeds ``DELAY_FRACTION`` of the step's time for
  ``BUSY_STEPS`` steps in a row, the next steps are timed at each candidate team size, from
  the full count down to 1 (``PROBE_STEPS`` each, the first of each discarded), and the team
  with the least median time per sample is kept.
- **settled**: steps run with the kept team; the probe runs again after ``REPROBE_SECONDS``
  or ``REPROBE_FACTOR`` times the last probe's duration, whichever is longer (so probing, part
  of it at the slower teams, stays a small share of the time also when a step takes half a
  second). A probe that keeps the full team and sees no delay at it returns to quiet.

Measured on 2 cores beside busy-looping processes (``bench_contention.py``): with one such
process a 2-thread run kept 0.47 of its quiet speed (mnist_cnn) and 0.25 (cifar10_cnn), a
1-thread run 0.53 and 0.62; with three, 2 threads did better on mnist_cnn and 1 on
cifar10_cnn. No fixed team is right for every network and load; a measured one is.

Switch it off with ``CUDNN_LITE_THREAD_GOVERNOR=0`` in the environment or
:func:`set_enabled`; where ``/proc/thread-self/schedstat`` cannot be read (not Linux, or a
kernel without scheduler statistics) it never leaves the full team.
"""
from __future__ import annotations

import contextlib
import os
import statistics
import threading
import time

from . import _C

__all__ = ["governed_step", "set_enabled", "enabled", "state", "DELAY_FRACTION", "BUSY_STEPS",
           "PROBE_STEPS", "REPROBE_SECONDS", "REPROBE_FACTOR", "MARGIN"]

DELAY_FRACTION = 0.05   # run-queue delay / step time above which a step counts as contended
BUSY_STEPS = 3          # contended steps in a row that start a probe
PROBE_STEPS = 3         # steps timed per candidate team (the first one discarded)
REPROBE_SECONDS = 5.0   # a settled team is kept at least this long before the next probe,
REPROBE_FACTOR = 10.0   # and at least this many times as long as the last probe took
MARGIN = 0.03           # how much faster per sample a smaller team must be to replace the full one

_enabled = os.environ.get("CUDNN_LITE_THREAD_GOVERNOR", "1").strip().lower() not in ("0", "false", "off", "no")
_local = threading.local()


def set_enabled(flag: bool) -> None:
    """Turn the governor on or off for the whole process (off: every step uses the full team)."""
    global _enabled
    _enabled = bool(flag)


def enabled() -> bool:
    return _enabled


def _candidates(full):
    """Team sizes a probe tries, largest first: full, full - 1, full // 2, ..., 1 (distinct)."""
    sizes, t = {full, max(1, full - 1)}, full
    while t > 1:
        t //= 2
        sizes.add(max(1, t))
    return sorted(sizes, reverse=True)


class _Governor:
    """The state of one training thread (module docstring)."""

    def __init__(self):
        self.mode = "quiet"
        self.busy = 0
        self.team = None          # the settled team size
        self.full = None          # the thread count the probe was made for
        self.probe = []           # [(team, [seconds per sample, ...], [delay fraction, ...])]
        self.next_probe = 0.0
        self.history = []         # the last probes, for state(): (time, team kept, times, delays)
        self._stat = None
        try:
            self._stat = open("/proc/thread-self/schedstat", "rb", buffering=0)
            self._run_delay()
        except (OSError, ValueError, IndexError):
            if self._stat is not None:
                self._stat.close()
            self._stat = None

    def __del__(self):
        if getattr(self, "_stat", None) is not None:
            self._stat.close()

    def _run_delay(self):
        """Nanoseconds this thread has waited on a run queue so far."""
        self._stat.seek(0)
        return int(self._stat.read().split()[1])

    # one step: begin() picks the team, end() records what the step cost
    def begin(self):
        full = int(_C.get_num_threads())
        if full != self.full:  # set_num_threads changed the count: start over
            self.full, self.mode, self.busy, self.probe = full, "quiet", 0, []
        team = full
        if self.mode == "settled" and time.perf_counter() >= self.next_probe:
            self._start_probe()
        if self.mode == "probe":
            team = self.probe[0][0]
        elif self.mode == "settled":
            team = self.team
        self._t0 = time.perf_counter()
        self._d0 = self._run_delay()
        return full, team

    def end(self, samples):
        seconds = time.perf_counter() - self._t0
        delay = (self._run_delay() - self._d0) * 1e-9
        frac = delay / seconds if seconds > 0 else 0.0
        if self.mode == "quiet":
            self.busy = self.busy + 1 if frac > DELAY_FRACTION else 0
            if self.busy >= BUSY_STEPS and self.full > 1:
                self._start_probe()
            return
        if self.mode != "probe":
            return
        _, per_sample, fracs = self.probe[0]
        per_sample.append(seconds / max(samples, 1))
        fracs.append(frac)
        if len(per_sample) < PROBE_STEPS:
            return
        self.probe.append(self.probe.pop(0))
        if self.probe[0][1]:  # every candidate timed: decide
            self._decide()

    def _start_probe(self):
        self.mode = "probe"
        self.probe_started = time.perf_counter()
        self.probe = [(t, [], []) for t in _candidates(self.full)]

    def _decide(self):
        timed = {t: statistics.median(ps[1:]) for t, ps, _ in self.probe}
        fracs = {t: statistics.median(fs[1:]) for t, _, fs in self.probe}
        # a smaller team must beat the full one by MARGIN: two timed steps each are noisy, and
        # a wrong smaller team costs more than a wrong full one (it is kept until the next probe)
        best = min(timed, key=lambda t: (timed[t] * (1.0 if t == self.full else 1.0 + MARGIN), -t))
        self.history = (self.history + [(time.time(), best, timed, fracs)])[-8:]
        self.probe, self.busy = [], 0
        if best == self.full and fracs[best] <= DELAY_FRACTION:
            self.mode, self.team = "quiet", None
            return
        now = time.perf_counter()
        self.mode, self.team = "settled", best
        self.next_probe = now + max(REPROBE_SECONDS, REPROBE_FACTOR * (now - self.probe_started))


def _governor():
    g = getattr(_local, "governor", None)
    if g is None:
        g = _local.governor = _Governor()
    return g


@contextlib.contextmanager
def governed_step(samples):
    """Run one CPU training step of ``samples`` samples with the team the governor picks."""
    g = _governor() if _enabled else None
    if g is None or g._stat is None:
        yield
        return
    full, team = g.begin()
    if team != full:
        _C.set_num_threads(team)
    try:
        yield
    finally:
        if team != full:
            _C.set_num_threads(full)
        g.end(samples)


def state():
    """The calling thread's governor: mode ('quiet', 'probe', 'settled'), the settled team, the
    full thread count, and the last probes as (unix time, team kept, {team: seconds per sample},
    {team: run-queue delay fraction})."""
    g = _governor()
    return {"enabled": _enabled, "available": g._stat is not None, "mode": g.mode, "team": g.team,
            "full": g.full, "probes": list(g.history)}
