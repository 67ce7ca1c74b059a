"""``DataParallel``: the one user-facing object of data-parallel training.

    strategy = cudnn_lite.distribute.DataParallel()      # under `mpirun -np N python train.py`
    with strategy.scope():
        model = build_model()                            # the model remembers the strategy
    model.compile(...)
    model.fit(x, y, batch_size=256)                      # 256 = the global batch

or ``model.fit(..., distribute=strategy)``. The engine is picked once, here: NCCL for a
'cuda' model when CuPy has NCCL, MPI otherwise, and one process (every collective the
identity) when the process was not started by an MPI launcher.
"""
from __future__ import annotations

import contextlib
import os

from .. import backend
from .comm import DEFAULT_TIMEOUT, Communicator, SingleProcess
from .mpi import MPICommunicator, launched_by_mpirun, load_mpi
from .nccl import NCCLCommunicator

__all__ = ["DataParallel", "current_strategy", "make_communicator", "ENGINES"]

ENGINES = ("auto", "mpi", "nccl", "single")
_current = None


def current_strategy():
    """The strategy of the innermost ``strategy.scope()`` being entered, or None."""
    return _current


def _timeout_from_env():
    raw = os.environ.get("CUDNN_LITE_DIST_TIMEOUT")
    if raw is None:
        return DEFAULT_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"CUDNN_LITE_DIST_TIMEOUT: expected seconds, got {raw!r}") from None
    if not value > 0:
        raise ValueError(f"CUDNN_LITE_DIST_TIMEOUT: expected a positive number of seconds, got {raw!r}")
    return value


def _nccl_usable():
    try:
        from cupy.cuda import nccl  # optional dependency
    except ImportError:
        return False
    return nccl is not None


def make_communicator(engine="auto", timeout=None, device=None, cuda_aware=False):
    """A Communicator for ``engine`` ('auto', 'mpi', 'nccl' or 'single')."""
    if engine not in ENGINES:
        raise ValueError(f"engine: expected one of {ENGINES}, got {engine!r}")
    timeout = _timeout_from_env() if timeout is None else timeout
    device = backend.get_device() if device is None else backend._check_device(device)
    if engine == "auto":
        if not launched_by_mpirun():
            engine = "single"
        elif load_mpi() is None:
            raise ImportError("this process was started by an MPI launcher (mpirun) but mpi4py is not "
                              "installed, so the ranks cannot talk: pip install mpi4py, or run one "
                              "process without mpirun")
        else:
            engine = "nccl" if device == "cuda" and _nccl_usable() and not cuda_aware else "mpi"
    if engine == "single":
        return SingleProcess(device, timeout)
    if engine == "mpi":
        return MPICommunicator(device=device, timeout=timeout, cuda_aware=cuda_aware)
    return NCCLCommunicator(timeout=timeout)


class DataParallel:
    """Synchronous data parallelism: every rank holds the whole model, takes its shard of each
    global batch, and the gradients are averaged (bucketed nonblocking allreduces, started while
    the backward pass runs) before every rank applies the same optimizer step.

    Arguments:
        engine: 'auto' (default), 'mpi' (mpi4py), 'nccl' (cupy.cuda.nccl) or 'single'.
        communicator: a ready :class:`~.comm.Communicator` (overrides ``engine``).
        timeout: seconds a collective waits for the other ranks before CollectiveTimeout
            (default $CUDNN_LITE_DIST_TIMEOUT, else 300).
        bucket_mb: gradient bucket size in MiB (default 0.25: the textbook models (0.9-1.2 MB of
            gradients) get 2-4 buckets, so the first ones travel while the backward pass goes on).
        sync_batch_norm: batch-norm statistics over the global batch (an allreduce of the sums
            and sums of squares per layer, forward and backward) instead of per rank.
        cuda_aware: the MPI build moves CuPy buffers itself (no host staging).
    """

    def __init__(self, engine="auto", communicator=None, timeout=None, bucket_mb=0.25,
                 sync_batch_norm=False, cuda_aware=False):
        if communicator is not None and not isinstance(communicator, Communicator):
            raise TypeError(f"communicator: expected a cudnn_lite.distribute Communicator, "
                            f"got {type(communicator).__name__}")
        if isinstance(bucket_mb, bool) or not isinstance(bucket_mb, (int, float)) or not bucket_mb > 0:
            raise ValueError(f"bucket_mb: expected a positive number, got {bucket_mb!r}")
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float))
                                    or not timeout > 0):
            raise ValueError(f"timeout: expected a positive number of seconds, got {timeout!r}")
        self.comm = communicator or make_communicator(engine, timeout, cuda_aware=cuda_aware)
        self.bucket_bytes = int(bucket_mb * 2**20)
        self.sync_batch_norm = bool(sync_batch_norm)
        self.last_fit = None  # after a fit: steps, seconds waited for gradients, bytes, bucket sizes

    @property
    def rank(self):
        return self.comm.rank

    @property
    def num_replicas_in_sync(self):  # tf.distribute's name
        return self.comm.size

    @property
    def size(self):
        return self.comm.size

    @property
    def is_chief(self):
        return self.comm.rank == 0

    @property
    def engine(self):
        return self.comm.engine

    @contextlib.contextmanager
    def scope(self):
        """Models created inside train with this strategy (``fit`` without ``distribute=``)."""
        global _current
        previous, _current = _current, self
        try:
            yield self
        finally:
            _current = previous

    def __repr__(self):
        return f"<DataParallel {self.comm.engine}: rank {self.rank} of {self.size}>"
