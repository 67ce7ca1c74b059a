"""Data-parallel training across processes and machines: MPI (mpi4py) for CPU processes, NCCL
(cupy.cuda.nccl) for GPU processes, one API above both.

    import cudnn_lite as cl
    strategy = cl.distribute.DataParallel()        # mpirun -np 4 python train.py
    with strategy.scope():
        model = cl.zoo.build("mnist-cnn")
    model.fit(x, y, batch_size=128)                # 128 = the global batch, split over the ranks

Layout: ``comm`` (the Communicator interface, the single-process one, the errors), ``mpi`` and
``nccl`` (the engines), ``sharding``, ``buckets`` (gradients in flat buffers, reduced while the
backward pass runs), ``sync_bn``, ``checks`` (rank agreement), ``parallel`` (one fit's
per-step work), ``strategy`` (DataParallel). mpi4py and CuPy are optional: without them every
strategy is one process.
"""
from __future__ import annotations

from .checks import check_in_sync, state_digest
from .comm import (DEFAULT_TIMEOUT, CollectiveTimeout, Communicator, DistributedError, MismatchError,
                   SingleProcess)
from .mpi import MPICommunicator, launched_by_mpirun
from .parallel import ParallelFit, reduce_totals
from .sharding import eval_shard, shard_bounds, sharded_array_batches, sharded_batches
from .strategy import DataParallel, current_strategy, make_communicator

__all__ = ["DataParallel", "current_strategy", "make_communicator", "Communicator", "SingleProcess",
           "MPICommunicator", "DistributedError", "CollectiveTimeout", "MismatchError", "DEFAULT_TIMEOUT",
           "ParallelFit", "reduce_totals", "shard_bounds", "sharded_array_batches", "sharded_batches",
           "eval_shard", "check_in_sync", "state_digest", "launched_by_mpirun"]
