"""The communicator interface that data-parallel training is written against, and its
single-process implementation.

Everything above this interface (sharding, gradient buckets, the trainer's distributed step,
sync batch norm, the checks) is shared by the engines; an engine (:mod:`.mpi`, :mod:`.nccl`)
only moves bytes:

- ``allreduce_start(buf)`` starts an in-place sum of a flat float32/float64 array over the
  ranks and returns a handle; ``wait(handle, what)`` finishes it, polling with the
  communicator's deadline, and raises :class:`CollectiveTimeout` naming ``what`` when the
  other ranks do not answer in time (a rank died, raised or is stuck);
- ``test(handle)`` asks whether it has completed without waiting (an MPI library progresses
  its nonblocking collectives inside such calls, so the backward pass calls it between layers);
- ``allreduce(buf, what)`` is the two in one; ``bcast(buf)`` copies rank 0's array in place;
- ``allgather_object`` / ``bcast_object`` move small picklable host objects (signatures,
  generator states);
- ``abort(code)`` ends every rank of the job.
"""
from __future__ import annotations

__all__ = ["Communicator", "SingleProcess", "DistributedError", "CollectiveTimeout",
           "MismatchError", "DEFAULT_TIMEOUT"]

DEFAULT_TIMEOUT = 300.0  # seconds a collective may wait for the other ranks


class DistributedError(RuntimeError):
    """A data-parallel run cannot go on (raised on every rank that sees it)."""


class CollectiveTimeout(DistributedError):
    """A collective did not complete within the deadline: another rank died, raised or hangs."""


class MismatchError(DistributedError):
    """The ranks disagree on the model, the optimizer or the data (detected before the first step)."""


class Communicator:
    """Base class: ``rank``, ``size``, ``device`` ('cpu' or 'cuda') and the collectives above."""

    engine = ""

    def __init__(self, rank, size, device, timeout=DEFAULT_TIMEOUT):
        if not timeout > 0:
            raise ValueError(f"timeout: expected a positive number of seconds, got {timeout!r}")
        self.rank = int(rank)
        self.size = int(size)
        self.device = device
        self.timeout = float(timeout)

    @property
    def is_chief(self):
        return self.rank == 0

    def allreduce_start(self, buf):
        raise NotImplementedError

    def wait(self, handle, what="allreduce"):
        raise NotImplementedError

    def test(self, handle):
        """Whether ``handle``'s collective has completed (drives MPI's progress; no waiting)."""
        return True

    def allreduce(self, buf, what="allreduce"):
        self.wait(self.allreduce_start(buf), what)
        return buf

    def bcast(self, buf, what="broadcast"):
        raise NotImplementedError

    def allgather_object(self, obj, what="allgather"):
        raise NotImplementedError

    def bcast_object(self, obj, what="broadcast"):
        raise NotImplementedError

    def abort(self, code=1):
        raise NotImplementedError

    def __repr__(self):
        return f"<{type(self).__name__} rank {self.rank} of {self.size}, {self.device}>"


class SingleProcess(Communicator):
    """One rank: every collective is the identity (a run without mpirun or mpi4py)."""

    engine = "single"

    def __init__(self, device="cpu", timeout=DEFAULT_TIMEOUT):
        super().__init__(0, 1, device, timeout)

    def allreduce_start(self, buf):
        return None

    def wait(self, handle, what="allreduce"):
        return None

    def bcast(self, buf, what="broadcast"):
        return buf

    def allgather_object(self, obj, what="allgather"):
        return [obj]

    def bcast_object(self, obj, what="broadcast"):
        return obj

    def abort(self, code=1):
        raise SystemExit(code)
