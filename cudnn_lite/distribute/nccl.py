"""The NCCL engine (``cupy.cuda.nccl``), for one GPU per process.

UNVERIFIED on this project's CI (no GPU there): ``benchmarks/device_check.sh`` runs a 1-rank
smoke test of it on a GPU machine.

- Rank and size come from MPI (mpi4py) when the job was started by ``mpirun``; rank 0 draws the
  NCCL unique id (``nccl.get_unique_id()``) and broadcasts it over MPI; every rank then builds
  ``nccl.NcclCommunicator(size, uid, rank)`` on GPU ``local_rank % device_count``. A 1-rank
  communicator needs no MPI.
- ``allreduce_start`` records an event on the compute stream, makes a separate communication
  stream wait for it and enqueues ``allReduce`` there (in place), so the reduction of one bucket
  runs while the backward pass goes on; ``wait`` polls the done event against the deadline (then
  ``abort``s the NCCL communicator and raises CollectiveTimeout) and makes the compute stream
  wait for it.
- Small host objects (signatures, generator states) travel over MPI.

cupy and mpi4py are optional dependencies, imported when the communicator is created.
"""
from __future__ import annotations

import os

import numpy as np

from .comm import DEFAULT_TIMEOUT, CollectiveTimeout, Communicator
from .mpi import MPICommunicator, load_mpi, wait_polling

__all__ = ["NCCLCommunicator"]

_LOCAL_RANK_VARS = ("OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "PMI_LOCAL_RANK", "LOCAL_RANK")


def _local_rank(default):
    for var in _LOCAL_RANK_VARS:
        if var in os.environ:
            return int(os.environ[var])
    return default


class NCCLCommunicator(Communicator):
    """Data-parallel collectives over NCCL on CuPy arrays (device 'cuda')."""

    engine = "nccl"

    def __init__(self, timeout=DEFAULT_TIMEOUT, mpi_comm=None):
        try:
            import cupy  # optional dependency
            from cupy.cuda import nccl  # optional dependency
        except ImportError as e:
            raise ImportError(f"the NCCL engine needs CuPy built with NCCL (cupy.cuda.nccl): {e}") from None
        self._cupy, self._nccl = cupy, nccl
        MPI = load_mpi()
        self._host = None
        if MPI is not None:
            self._host = MPICommunicator(mpi_comm, device="cpu", timeout=timeout)
            rank, size = self._host.rank, self._host.size
        else:
            rank, size = 0, 1
        super().__init__(rank, size, "cuda", timeout)
        cupy.cuda.Device(_local_rank(rank) % cupy.cuda.runtime.getDeviceCount()).use()
        uid = nccl.get_unique_id() if rank == 0 else None
        if size > 1:
            uid = self._host.bcast_object(uid, "broadcast of the NCCL unique id")
        self.comm = nccl.NcclCommunicator(size, uid, rank)
        self._stream = cupy.cuda.Stream(non_blocking=True)

    _DTYPES = {np.dtype(np.float32): "NCCL_FLOAT32", np.dtype(np.float64): "NCCL_FLOAT64"}

    def _nccl_dtype(self, buf):
        name = self._DTYPES.get(np.dtype(buf.dtype))
        if name is None:
            raise TypeError(f"NCCL allreduce: float32 or float64 arrays only, got {buf.dtype}")
        return getattr(self._nccl, name)

    def _as_device(self, buf):
        if isinstance(buf, np.ndarray):  # a host array (the step's loss sums): a device copy
            return self._cupy.asarray(buf), buf
        return buf, None

    def allreduce_start(self, buf):
        cp = self._cupy
        dev, host = self._as_device(buf)
        ready = cp.cuda.Event(disable_timing=True)
        ready.record(cp.cuda.get_current_stream())
        self._stream.wait_event(ready)
        self.comm.allReduce(dev.data.ptr, dev.data.ptr, dev.size, self._nccl_dtype(dev),
                            self._nccl.NCCL_SUM, self._stream.ptr)
        done = cp.cuda.Event(disable_timing=True)
        done.record(self._stream)
        return done, dev, host

    def test(self, handle):
        return handle is None or handle[0].done

    def wait(self, handle, what="allreduce"):
        if handle is None:
            return
        done, dev, host = handle
        try:
            wait_polling(lambda: done.done, self.timeout, what, self.rank)
        except CollectiveTimeout:
            self.comm.abort()
            raise
        self._cupy.cuda.get_current_stream().wait_event(done)
        if host is not None:
            host[...] = self._cupy.asnumpy(dev)

    def bcast(self, buf, what="broadcast"):
        cp = self._cupy
        dev, host = self._as_device(buf)
        ready = cp.cuda.Event(disable_timing=True)
        ready.record(cp.cuda.get_current_stream())
        self._stream.wait_event(ready)
        self.comm.bcast(dev.data.ptr, dev.size, self._nccl_dtype(dev), 0, self._stream.ptr)
        done = cp.cuda.Event(disable_timing=True)
        done.record(self._stream)
        self.wait((done, dev, host), what)
        return buf

    def allgather_object(self, obj, what="allgather"):
        return [obj] if self._host is None else self._host.allgather_object(obj, what)

    def bcast_object(self, obj, what="broadcast"):
        return obj if self._host is None else self._host.bcast_object(obj, what)

    def abort(self, code=1):
        self.comm.abort()
        if self._host is not None:
            self._host.abort(code)
        raise SystemExit(code)
