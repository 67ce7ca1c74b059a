"""Atomic file writes with the permissions every other tool gives a new file.

``atomic_write(path, write)`` lets ``write(tmp_path)`` fill a temporary file in the destination
folder, fsyncs it, gives it its final permissions, then renames it over ``path``
(``os.replace``): a crash or an error leaves the previous file intact and no temporary file
behind. Permissions: a new file gets ``0o666 & ~umask`` (0644 under the usual umask 022), as
``open(path, 'w')``, h5py and Keras give it; a file that is replaced keeps its mode, as it would
when a tool truncates and rewrites it. (``tempfile.mkstemp`` creates 0600 files, which is what
every save used to leave behind.)
"""
from __future__ import annotations

import os
import stat
import tempfile

__all__ = ["atomic_write", "current_umask", "sniff"]


def current_umask() -> int:
    """The process's umask, read without changing it where Linux allows (``/proc/self/status``);
    elsewhere set and restored at once."""
    try:
        with open("/proc/self/status", "rb") as f:
            for line in f:
                if line.startswith(b"Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _final_mode(path) -> int:
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return 0o666 & ~current_umask()


def atomic_write(path, write) -> None:
    """Call ``write(tmp_path)`` to write the file, then put it at ``path`` atomically."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=folder)
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, _final_mode(path))
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:  # make the rename durable (best effort; not possible on every OS)
        dfd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


def sniff(path) -> str:
    """'hdf5', 'zip' or 'other', from the file's first bytes (FileNotFoundError if absent)."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such file: {path!r}")
    with open(path, "rb") as f:
        magic = f.read(8)
    if magic.startswith(b"\x89HDF\r\n\x1a\n"):
        return "hdf5"
    if magic.startswith(b"PK"):
        return "zip"
    return "other"
