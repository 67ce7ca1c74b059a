"""Thread safety: Python threads running inference on separate models at once get the same
results as sequential runs, and the kernels release the GIL (another Python thread makes
progress while a long kernel runs)."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from cudnn_lite import backend, ops
from cudnn_lite.layers import Conv2D, Dense, Flatten, MaxPooling2D
from cudnn_lite.models import Sequential


pytestmark = pytest.mark.usefixtures("on_device")  # every test on 'cpu', and on 'cuda' where usable


def cnn(seed):
    backend.set_random_seed(seed)
    return Sequential([Conv2D(8, 3, activation="relu", input_shape=(12, 12, 1)), MaxPooling2D(2),
                       Flatten(), Dense(10, activation="softmax")])


def mlp(seed):
    backend.set_random_seed(seed)
    return Sequential([Dense(32, input_dim=20, activation="tanh"), Dense(4, activation="sigmoid")])


def run_threads(jobs):
    results, errors = [None] * len(jobs), []
    start = threading.Barrier(len(jobs))

    def work(i, fn):
        try:
            start.wait()
            results[i] = fn()
        except BaseException as e:  # noqa: BLE001 (reported below)
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i, fn)) for i, fn in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    return results


def test_concurrent_inference_on_separate_models_matches_sequential():
    rng = np.random.default_rng(0)
    models = [cnn(1), cnn(2), mlp(3), mlp(4)]
    inputs = [rng.standard_normal((64, 12, 12, 1)).astype(np.float32),
              rng.standard_normal((64, 12, 12, 1)).astype(np.float32),
              rng.standard_normal((256, 20)).astype(np.float32),
              rng.standard_normal((256, 20)).astype(np.float32)]
    sequential = [m.predict(x, batch_size=16) for m, x in zip(models, inputs)]

    def job(m, x):
        return lambda: [m.predict(x, batch_size=16) for _ in range(15)]

    concurrent = run_threads([job(m, x) for m, x in zip(models, inputs)])
    for want, runs in zip(sequential, concurrent):
        for got in runs:
            np.testing.assert_array_equal(got, want)


def test_concurrent_ops_on_shared_read_only_inputs(device):
    if device != "cpu":
        pytest.skip("CPU by nature: read-only NumPy arrays shared by CPU kernels running in several threads")
    rng = np.random.default_rng(1)
    x = rng.standard_normal((8, 16, 16, 4)).astype(np.float32)
    w = rng.standard_normal((3, 3, 4, 8)).astype(np.float32)
    x.setflags(write=False)
    w.setflags(write=False)
    want = ops.conv2d_forward(x, w, padding="same", activation="relu")
    runs = run_threads([lambda: [ops.conv2d_forward(x, w, padding="same", activation="relu") for _ in range(20)]] * 3)
    for r in runs:
        for got in r:
            np.testing.assert_array_equal(got, want)


def _progress_while(fn, reps):
    """Rate of a pure-Python counter thread while ``fn`` runs ``reps`` times in another thread,
    as a fraction of the counter's rate when it runs alone."""
    stop = threading.Event()
    counts = []

    def counter():
        c = 0
        while not stop.is_set():
            c += 1
        counts.append(c)

    t = threading.Thread(target=counter)
    t.start()
    time.sleep(0.2)
    stop.set()
    t.join()
    free_rate = counts.pop() / 0.2

    stop.clear()
    t = threading.Thread(target=counter)
    t.start()
    t0 = time.perf_counter()
    worker = threading.Thread(target=lambda: [fn() for _ in range(reps)])
    worker.start()
    worker.join()
    busy = time.perf_counter() - t0
    stop.set()
    t.join()
    return counts.pop() / busy / free_rate


def test_kernels_release_the_gil(device):
    if device != "cpu":
        pytest.skip("CPU by nature: times a CPU kernel (sgemm on one OpenMP thread) against a Python thread")
    # One thread runs long kernels; a pure-Python counter thread must keep counting meanwhile.
    # Were the GIL held through each kernel, the counter would only run in the 5 ms switch
    # intervals between calls. A C call that does hold the GIL (list.sort) is the control,
    # measured the same way, so machine load affects both alike.
    import cudnn_lite
    threads = cudnn_lite.get_num_threads()
    cudnn_lite.set_num_threads(1)  # the kernel on one core, the counter on the other
    try:
        n = 1536
        a = np.random.default_rng(2).standard_normal((n, n)).astype(np.float32)
        out = np.empty((n, n), np.float32)
        t0 = time.perf_counter()
        ops.sgemm(a, a, out=out)
        one = time.perf_counter() - t0
        reps = max(2, int(0.6 / max(one, 1e-4)))
        kernel = _progress_while(lambda: ops.sgemm(a, a, out=out), reps)

        values = list(np.random.default_rng(3).random(400_000))
        t0 = time.perf_counter()
        sorted(values)
        one_sort = time.perf_counter() - t0
        control = _progress_while(lambda: sorted(values), max(2, int(0.6 / max(one_sort, 1e-4))))
    finally:
        cudnn_lite.set_num_threads(threads)
    assert kernel > 0.15 and kernel > 3 * control, dict(kernel=kernel, control=control, sgemm_s=one,
                                                       sort_s=one_sort)
