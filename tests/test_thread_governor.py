"""The thread governor (cudnn_lite/thread_governor.py): its decisions on a scripted clock and
run-queue delay, and that a training run whose team size changes from step to step ends with
the same bits as one at the full thread count."""
from __future__ import annotations

import numpy as np
import pytest

import cudnn_lite
from cudnn_lite import backend, thread_governor
from cudnn_lite.layers import Conv2D, Dense, Dropout, Flatten, MaxPooling2D
from cudnn_lite.models import Sequential


class Script:
    """A fake clock and run-queue delay: each step takes `cost[team]` seconds per sample and
    waits `delay` of its time on the run queue."""

    def __init__(self, monkeypatch, gov, cost, delay):
        self.now, self.waited, self.cost, self.delay = 100.0, 0, cost, delay
        monkeypatch.setattr(thread_governor.time, "perf_counter", lambda: self.now)
        monkeypatch.setattr(gov, "_run_delay", lambda: self.waited)

    def step(self, gov, samples=32):
        full, team = gov.begin()
        seconds = self.cost[team] * samples
        self.now += seconds
        self.waited += int(self.delay * seconds * 1e9)
        gov.end(samples)
        return team


@pytest.fixture
def two_threads():
    before = cudnn_lite.get_num_threads()
    cudnn_lite.set_num_threads(2)
    yield
    cudnn_lite.set_num_threads(before)


def fresh_governor():
    g = thread_governor._Governor()
    if g._stat is None:
        pytest.skip("/proc/thread-self/schedstat is not readable here: the governor stays off")
    return g


def test_candidates():
    assert thread_governor._candidates(1) == [1]
    assert thread_governor._candidates(2) == [2, 1]
    assert thread_governor._candidates(8) == [8, 7, 4, 2, 1]


def test_quiet_machine_never_probes(monkeypatch, two_threads):
    g = fresh_governor()
    s = Script(monkeypatch, g, {2: 1e-3, 1: 2e-3}, delay=0.01)
    assert {s.step(g) for _ in range(50)} == {2}
    assert g.mode == "quiet"


def test_busy_machine_settles_on_the_faster_team_and_reprobes(monkeypatch, two_threads):
    g = fresh_governor()
    s = Script(monkeypatch, g, {2: 3e-3, 1: 2e-3}, delay=0.3)  # 1 thread is faster now
    teams = [s.step(g) for _ in range(thread_governor.BUSY_STEPS)]
    assert teams == [2] * thread_governor.BUSY_STEPS and g.mode == "probe"
    probe = [s.step(g) for _ in range(2 * thread_governor.PROBE_STEPS)]
    assert probe == [2] * thread_governor.PROBE_STEPS + [1] * thread_governor.PROBE_STEPS
    assert g.mode == "settled" and g.team == 1
    _, kept, timed, _ = g.history[-1]
    assert kept == 1 and timed[1] < timed[2]
    assert s.step(g) == 1
    # the load goes away: the next probe (after REPROBE_SECONDS at least) returns to quiet
    s.now = g.next_probe
    s.cost, s.delay = {2: 1e-3, 1: 2e-3}, 0.0
    for _ in range(2 * thread_governor.PROBE_STEPS):
        s.step(g)
    assert g.mode == "quiet" and s.step(g) == 2


def test_busy_machine_where_the_full_team_stays_faster(monkeypatch, two_threads):
    g = fresh_governor()
    s = Script(monkeypatch, g, {2: 2e-3, 1: 3e-3}, delay=0.3)
    for _ in range(thread_governor.BUSY_STEPS + 2 * thread_governor.PROBE_STEPS):
        s.step(g)
    # still contended at the full team: settled on it, probing again later, not quiet
    assert g.mode == "settled" and g.team == 2
    assert g.next_probe >= s.now + thread_governor.REPROBE_SECONDS - 1e-9


def test_set_num_threads_starts_over(monkeypatch, two_threads):
    g = fresh_governor()
    s = Script(monkeypatch, g, {2: 3e-3, 1: 2e-3}, delay=0.3)
    for _ in range(thread_governor.BUSY_STEPS + 2 * thread_governor.PROBE_STEPS):
        s.step(g)
    assert g.mode == "settled"
    cudnn_lite.set_num_threads(1)
    assert s.step(g) == 1 and g.mode == "quiet"


def _train(steps=12):
    backend.set_random_seed(11)
    model = Sequential([Conv2D(8, 3, padding="same", activation="relu", input_shape=(12, 12, 3)),
                        MaxPooling2D(2), Flatten(), Dropout(0.3), Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    rng = np.random.default_rng(4)
    x = rng.standard_normal((steps * 16, 12, 12, 3), dtype=np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, steps * 16)]
    hist = model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    return model.get_weights(), hist.history["loss"]


def test_changing_teams_changes_no_bit(monkeypatch, two_threads):
    """Every step 'contended' (DELAY_FRACTION below zero), so the governor probes 2 and 1
    threads in turn throughout: the weights equal those of a run at 2 threads throughout."""
    if backend.get_device() != "cpu":
        pytest.skip("the governor runs CPU steps only")
    monkeypatch.setattr(thread_governor, "_local", type(thread_governor._local)())
    thread_governor.set_enabled(False)
    try:
        w_full, h_full = _train()
    finally:
        thread_governor.set_enabled(True)
    monkeypatch.setattr(thread_governor, "DELAY_FRACTION", -1.0)
    monkeypatch.setattr(thread_governor, "BUSY_STEPS", 1)
    seen = []
    real = cudnn_lite._C.set_num_threads
    monkeypatch.setattr(thread_governor._C, "set_num_threads", lambda n: (seen.append(n), real(n)))
    w_gov, h_gov = _train()
    if thread_governor.state()["available"]:
        assert 1 in seen  # some steps did run with one thread
    assert h_gov == h_full
    assert all(np.array_equal(a, b) for a, b in zip(w_gov, w_full))
    assert cudnn_lite.get_num_threads() == 2


def test_a_smaller_team_must_win_by_the_margin(monkeypatch, two_threads):
    g = fresh_governor()
    # 1 thread 2% faster per sample: within the margin, so the full team stays
    s = Script(monkeypatch, g, {2: 1.00e-3, 1: 0.98e-3}, delay=0.3)
    for _ in range(thread_governor.BUSY_STEPS + 2 * thread_governor.PROBE_STEPS):
        s.step(g)
    assert g.mode == "settled" and g.team == 2
    # 10% faster: beyond it
    g2 = fresh_governor()
    s2 = Script(monkeypatch, g2, {2: 1.00e-3, 1: 0.90e-3}, delay=0.3)
    for _ in range(thread_governor.BUSY_STEPS + 2 * thread_governor.PROBE_STEPS):
        s2.step(g2)
    assert g2.mode == "settled" and g2.team == 1
