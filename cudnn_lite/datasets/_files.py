"""Finding, downloading, verifying and unpacking data-set files (shared by the loaders).

Search order for a data set ``name`` (e.g. 'mnist'):

1. the ``path=`` argument of ``load_data``;
2. ``$CUDNN_LITE_DATA/<name>/`` (plus loader-specific sub-folders);
3. the cache ``~/.cudnn_lite/datasets/<name>/``;
4. a download from the official location into the cache, verified by
   SHA-256 before use and written atomically (temporary file, then
   ``os.replace``), so an interrupted download never leaves a half file.

Offline with nothing found, :class:`DatasetNotFoundError` names every place searched.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import tempfile
import urllib.request

from ..files import atomic_write, current_umask

__all__ = ["ENV_VAR", "DatasetNotFoundError", "ChecksumError", "DatasetFormatError", "candidate_dirs", "cache_dir",
           "find_dir", "fetch_url", "download", "file_digest", "safe_extract_tar",
           "atomic_write_bytes"]

ENV_VAR = "CUDNN_LITE_DATA"


class DatasetNotFoundError(FileNotFoundError):
    """No copy of a data set was found and none could be downloaded."""


class ChecksumError(ValueError):
    """A downloaded or cached file does not have the published checksum."""


class DatasetFormatError(ValueError):
    """A data-set file is truncated, corrupt or not in the expected format."""


def cache_dir(name):
    """``~/.cudnn_lite/datasets/<name>`` (not created)."""
    return os.path.join(os.path.expanduser("~"), ".cudnn_lite", "datasets", name)


def candidate_dirs(name, path=None, env_subdirs=(), cache_subdirs=()):
    """The folders to search, in order, as (label, folder) pairs.

    ``env_subdirs``/``cache_subdirs`` are extra sub-folders tried inside
    ``$CUDNN_LITE_DATA/<name>`` and the cache (e.g. 'cifar-10-batches-py').
    """
    dirs = []
    if path is not None:
        p = os.path.expanduser(os.fspath(path))
        dirs.append(("path argument", p))
        for sub in env_subdirs:
            dirs.append(("path argument", os.path.join(p, sub)))
    env = os.environ.get(ENV_VAR)
    if env:
        base = os.path.join(os.path.expanduser(env), name)
        dirs.append((f"${ENV_VAR}", base))
        for sub in env_subdirs:
            dirs.append((f"${ENV_VAR}", os.path.join(base, sub)))
    cache = cache_dir(name)
    dirs.append(("cache", cache))
    for sub in cache_subdirs:
        dirs.append(("cache", os.path.join(cache, sub)))
    return dirs


def find_dir(dirs, has_files):
    """The first folder of ``dirs`` (label, folder) for which ``has_files(folder)`` is true."""
    for _, d in dirs:
        if os.path.isdir(d) and has_files(d):
            return d
    return None


def not_found_message(dataset, dirs, wanted, download_error=None):
    searched = "\n".join(f"  - {d} ({label})" for label, d in dirs)
    msg = (f"{dataset} not found. Looked for {wanted} in:\n{searched}\n"
           f"Pass path=..., set the {ENV_VAR} environment variable to a folder holding "
           f"'{os.path.basename(dirs[-1][1]) if dirs else dataset}/', or put the files into the "
           f"cache folder above.")
    if download_error is not None:
        msg += f"\nThe download failed too (offline?): {download_error}"
    return msg


def file_digest(path, algorithm="sha256", chunk=1 << 20):
    """Hex digest of a file's bytes."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def fetch_url(url, dst_file, timeout=60):
    """Copy the bytes at ``url`` into the open binary file ``dst_file`` (the only
    function that touches the network; tests replace it)."""
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (https only)
        shutil.copyfileobj(response, dst_file, 1 << 20)


def download(url, dest, sha256=None, md5=None, verify=None):
    """Download ``url`` to ``dest`` atomically, verified before it is put in place.

    ``sha256``/``md5``: expected hex digests of the file; ``verify(tmp_path)``:
    an extra check that raises on a bad file. Returns ``dest``.
    """
    if not url.startswith("https://"):
        raise ValueError(f"refusing a non-https download: {url}")
    folder = os.path.dirname(os.path.abspath(dest))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".download-", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            fetch_url(url, f)
        for algorithm, expected in (("sha256", sha256), ("md5", md5)):
            if expected is not None:
                got = file_digest(tmp, algorithm)
                if got != expected.lower():
                    raise ChecksumError(f"{url}: {algorithm} {got} does not match the published "
                                        f"{expected}; the download is corrupt or not the "
                                        f"official file (nothing was written to {dest})")
        if verify is not None:
            verify(tmp)
        os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp's 0600 -> what any new file gets
        os.replace(tmp, dest)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return dest


def atomic_write_bytes(path, data):
    """Write ``data`` to ``path`` atomically (:func:`cudnn_lite.files.atomic_write`)."""
    def write(tmp):
        with open(tmp, "wb") as f:
            f.write(data)
    atomic_write(path, write)


def _check_member(member, dest_real):
    name = member.name
    if os.path.isabs(name) or name.startswith(("/", "\\")) or ".." in name.replace("\\", "/").split("/"):
        raise ValueError(f"unsafe path in archive: {name!r}")
    if not (member.isfile() or member.isdir()):
        raise ValueError(f"unsupported member in archive (links and devices are refused): {name!r}")
    target = os.path.realpath(os.path.join(dest_real, name))
    if not (target == dest_real or target.startswith(dest_real + os.sep)):
        raise ValueError(f"archive member escapes the destination: {name!r}")


def safe_extract_tar(archive, dest, top=None):
    """Extract a .tar(.gz) into ``dest`` refusing absolute paths, '..', links and devices.

    Everything is checked before anything is written; extraction happens in a
    temporary folder beside ``dest`` and each top-level entry (or only ``top``)
    is then moved into place with ``os.replace``.
    """
    os.makedirs(dest, exist_ok=True)
    dest_real = os.path.realpath(dest)
    with tarfile.open(archive, "r:*") as tar:
        members = tar.getmembers()
        for m in members:
            _check_member(m, dest_real)
        tmp = tempfile.mkdtemp(prefix=".extract-", dir=dest)
        try:
            for m in members:
                out = os.path.join(tmp, m.name)
                if m.isdir():
                    os.makedirs(out, exist_ok=True)
                    continue
                os.makedirs(os.path.dirname(out), exist_ok=True)
                src = tar.extractfile(m)
                with open(out, "wb") as f:
                    shutil.copyfileobj(src, f, 1 << 20)
            for entry in os.listdir(tmp):
                if top is not None and entry != top:
                    continue
                final = os.path.join(dest, entry)
                if os.path.isdir(final):
                    shutil.rmtree(final)
                os.replace(os.path.join(tmp, entry), final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return dest
