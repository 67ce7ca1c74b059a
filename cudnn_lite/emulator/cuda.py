"""``cupy.cuda``'s subset for the emulated device: streams, devices, the runtime's device queries,
``set_allocator``. ``runtime`` is ``cupy.cuda.runtime``'s subset."""
from __future__ import annotations

import threading
import types
import weakref

from .. import _C
from ._memory import _emulator


class Stream:
    """A stream of the emulated device (cupy.cuda.Stream). Work runs synchronously, so a stream
    only says where ops launch (``with stream:`` / ``use()`` make it current) and
    ``synchronize()`` has nothing to wait for. ``Stream.null`` is the legacy default stream (0)."""

    null = None  # set below: Stream(null=True)

    def __init__(self, null=False, non_blocking=False, ptds=False, priority=None):
        self.non_blocking = bool(non_blocking)
        self.ptr = 0 if null else int(_emulator("emulator_stream_create")())
        self._owned = not null
        self._previous = []
        if self._owned:
            _streams[self.ptr] = self

    @classmethod
    def _borrowed(cls, ptr):
        """A Stream object for a handle made elsewhere (not destroyed with this object)."""
        s = cls(null=True)
        s.ptr = ptr
        return s

    def __del__(self):
        if getattr(self, "_owned", False):
            try:
                _C.emulator_stream_destroy(self.ptr)
            except Exception:  # interpreter shutdown: _C may be gone
                pass

    def use(self):
        """Make this the current stream (of this thread)."""
        _emulator("emulator_set_current_stream")(self.ptr)
        _current.stream = self  # kept alive while current, as CuPy keeps it
        return self

    def __enter__(self):
        self._previous.append(get_current_stream())
        return self.use()

    def __exit__(self, *exc):
        self._previous.pop().use()

    def synchronize(self):
        """Nothing to wait for: the emulator finishes every launch before returning."""

    @property
    def done(self):
        return True

    def __eq__(self, other):
        return isinstance(other, Stream) and self.ptr == other.ptr

    def __hash__(self):
        return hash(self.ptr)

    def __repr__(self):
        return f"<Stream {self.ptr} (emulated device)>"


_streams = weakref.WeakValueDictionary()   # handle -> the Stream object that created it
_current = threading.local()              # .stream: the current Stream, held alive
Stream.null = Stream(null=True)


def get_current_stream():
    """The current stream (cupy.cuda.get_current_stream): ``Stream.null`` until one is made current."""
    ptr = int(_emulator("emulator_current_stream")())
    if ptr == 0:
        return Stream.null
    return _streams.get(ptr) or Stream._borrowed(ptr)


class CUDARuntimeError(RuntimeError):
    """A CUDA runtime error of the emulated device (cupy_backends' CUDARuntimeError)."""


def getDeviceCount():  # noqa: N802 (CuPy's name)
    """Devices of the emulated build: 1."""
    return int(_C.cuda_device_count())


def _check_device(i):
    if not 0 <= i < getDeviceCount():
        raise CUDARuntimeError("cudaErrorInvalidDevice: invalid device ordinal")


class Device:
    """A device (cupy.cuda.Device); the emulator has device 0 only. Using another one raises
    CUDARuntimeError as CUDA does."""

    def __init__(self, device=None):
        self.id = 0 if device is None else int(device)

    def use(self):
        _check_device(self.id)

    def __enter__(self):
        self.use()
        return self

    def __exit__(self, *exc):
        pass  # device 0 was current before and stays current

    def synchronize(self):
        self.use()

    def __int__(self):
        return self.id

    def __eq__(self, other):
        return isinstance(other, Device) and self.id == other.id

    def __hash__(self):
        return hash(self.id)

    def __repr__(self):
        return f"<CUDA Device {self.id}>"


def set_allocator(allocator=None):
    """Accepted for CuPy compatibility; no effect (every array is its own emulator allocation)."""

def is_available():
    """True: the emulated build has its one device."""
    return getDeviceCount() > 0


#: ``cupy.cuda.runtime``'s subset: device queries.
runtime = types.ModuleType(f"{__name__}.runtime", "Device queries of the emulated device (cupy.cuda.runtime's subset).")
runtime.__dict__.update(CUDARuntimeError=CUDARuntimeError, getDeviceCount=getDeviceCount, getDevice=lambda: 0,
                        setDevice=_check_device, deviceSynchronize=lambda: None)
