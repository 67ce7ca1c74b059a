"""Data-set loaders on small files written here in the official formats: MNIST IDX
(.gz or not), CIFAR-10 python batches; corrupt, truncated and malicious files; the
search order; downloads (never from the network: the fetcher is replaced); make_blobs."""
from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
import tarfile

import numpy as np
import pytest

from cudnn_lite.datasets import (ChecksumError, DatasetFormatError, DatasetNotFoundError,
                                 _files, cifar10, make_blobs, mnist)

MNIST_NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
               "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


# ------------------------------------------------------------------ helpers

def idx_bytes(arr):
    arr = np.ascontiguousarray(arr, dtype=np.uint8)
    header = bytes([0, 0, 0x08, arr.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    return header + arr.tobytes()


def write_mnist(folder, n_train=5, n_test=3, gz=True, seed=0):
    rng = np.random.default_rng(seed)
    os.makedirs(folder, exist_ok=True)
    data = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, n_train, dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    for name, arr in data.items():
        raw = idx_bytes(arr)
        if gz:
            with open(os.path.join(folder, name + ".gz"), "wb") as f:
                f.write(gzip.compress(raw))
        else:
            with open(os.path.join(folder, name), "wb") as f:
                f.write(raw)
    return data


def cifar_batch(n, seed):
    rng = np.random.default_rng(seed)
    return {b"batch_label": b"training batch",
            b"labels": [int(v) for v in rng.integers(0, 10, n)],
            b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
            b"filenames": [b"img_%d.png" % i for i in range(n)]}


class Py2StylePickler(pickle._Pickler):
    """Writes bytes as Python 2 str and names numpy.core.multiarray, like the official files."""
    dispatch = dict(pickle._Pickler.dispatch)

    def save_bytes(self, obj):
        n = len(obj)
        if n < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([n]) + obj)
        else:
            self.write(pickle.BINSTRING + n.to_bytes(4, "little") + obj)
        self.memoize(obj)
    dispatch[bytes] = save_bytes

    def save_global(self, obj, name=None):
        if getattr(obj, "__name__", None) == "_reconstruct":
            self.write(pickle.GLOBAL + b"numpy.core.multiarray\n_reconstruct\n")
            self.memoize(obj)
            return
        super().save_global(obj, name)
    dispatch[type(pickle.dump)] = save_global


def dump_py2(obj, path):
    with open(path, "wb") as f:
        Py2StylePickler(f, protocol=2).dump(obj)


def write_cifar(parent, n=4, style="py2"):
    folder = os.path.join(parent, "cifar-10-batches-py")
    os.makedirs(folder, exist_ok=True)
    batches = {}
    for i, name in enumerate([f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]):
        b = cifar_batch(n, i)
        batches[name] = b
        path = os.path.join(folder, name)
        if style == "py2":
            dump_py2(b, path)
        else:
            with open(path, "wb") as f:
                pickle.dump(b, f, protocol=style)
    return folder, batches


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No $CUDNN_LITE_DATA, HOME in tmp (empty cache), and no network."""
    monkeypatch.delenv("CUDNN_LITE_DATA", raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))

    def offline(url, dst_file, timeout=60):
        raise OSError(f"network disabled in tests: {url}")
    monkeypatch.setattr(_files, "fetch_url", offline)
    return tmp_path


# -------------------------------------------------------------------- MNIST

@pytest.mark.parametrize("gz", [True, False])
def test_mnist_reads_idx_files(isolated, gz):
    folder = isolated / "m"
    data = write_mnist(folder, gz=gz)
    (x, y), (xt, yt) = mnist.load_data(path=folder)
    assert x.shape == (5, 28, 28) and x.dtype == np.uint8
    assert y.shape == (5,) and y.dtype == np.uint8
    assert xt.shape == (3, 28, 28) and yt.shape == (3,)
    np.testing.assert_array_equal(x, data["train-images-idx3-ubyte"])
    np.testing.assert_array_equal(yt, data["t10k-labels-idx1-ubyte"])


def test_mnist_truncated_gzip(isolated):
    folder = isolated / "m"
    write_mnist(folder)
    p = folder / "train-images-idx3-ubyte.gz"
    p.write_bytes(p.read_bytes()[:-30])
    with pytest.raises(DatasetFormatError, match="truncated"):
        mnist.load_data(path=folder)


def test_mnist_truncated_idx_data(isolated):
    folder = isolated / "m"
    write_mnist(folder, gz=False)
    p = folder / "t10k-images-idx3-ubyte"
    p.write_bytes(p.read_bytes()[:-7])
    with pytest.raises(DatasetFormatError, match="truncated or corrupt"):
        mnist.load_data(path=folder)


def test_mnist_bad_magic_and_wrong_kind(isolated):
    folder = isolated / "m"
    write_mnist(folder, gz=False)
    p = folder / "train-labels-idx1-ubyte"
    p.write_bytes(b"PK\x03\x04" + p.read_bytes()[4:])
    with pytest.raises(DatasetFormatError, match="not an IDX file"):
        mnist.load_data(path=folder)
    # image file where a label file belongs: wrong number of dimensions
    p.write_bytes((folder / "train-images-idx3-ubyte").read_bytes())
    with pytest.raises(DatasetFormatError, match="dimensions"):
        mnist.load_data(path=folder)


def test_mnist_count_mismatch(isolated):
    folder = isolated / "m"
    write_mnist(folder, gz=False)
    (folder / "train-labels-idx1-ubyte").write_bytes(idx_bytes(np.zeros(4, np.uint8)))
    with pytest.raises(DatasetFormatError, match="5 images but"):
        mnist.load_data(path=folder)


def test_search_order(isolated, monkeypatch):
    arg, env, home = isolated / "arg", isolated / "env", isolated / "home"
    write_mnist(arg, n_train=2, seed=1)
    write_mnist(env / "mnist", n_train=3, seed=2)
    write_mnist(home / ".cudnn_lite" / "datasets" / "mnist", n_train=4, seed=3)
    monkeypatch.setenv("CUDNN_LITE_DATA", str(env))
    assert len(mnist.load_data(path=arg)[0][0]) == 2          # 1. path argument
    assert len(mnist.load_data()[0][0]) == 3                  # 2. $CUDNN_LITE_DATA/mnist
    monkeypatch.setenv("CUDNN_LITE_DATA", str(isolated / "nothing"))
    assert len(mnist.load_data()[0][0]) == 4                  # 3. the cache
    # a path argument without the files falls through to the next places
    assert len(mnist.load_data(path=isolated / "empty")[0][0]) == 4


def test_offline_error_names_paths_and_variable(isolated, monkeypatch):
    monkeypatch.setenv("CUDNN_LITE_DATA", str(isolated / "envdir"))
    with pytest.raises(DatasetNotFoundError) as e:
        mnist.load_data(path=isolated / "argdir")
    msg = str(e.value)
    assert "CUDNN_LITE_DATA" in msg
    assert str(isolated / "argdir") in msg
    assert os.path.join(str(isolated / "envdir"), "mnist") in msg
    assert os.path.join(".cudnn_lite", "datasets", "mnist") in msg
    assert "network disabled" in msg
    with pytest.raises(DatasetNotFoundError):
        mnist.load_data(download=False)


def _serve(monkeypatch, files):
    """Replace the network: url -> bytes."""
    calls = []

    def fetch(url, dst_file, timeout=60):
        calls.append(url)
        dst_file.write(files[url])
    monkeypatch.setattr(_files, "fetch_url", fetch)
    return calls


def test_mnist_download_verified_into_cache(isolated, monkeypatch):
    src = isolated / "src"
    data = write_mnist(src, gz=False)
    raw = {n: (src / n).read_bytes() for n in MNIST_NAMES}
    monkeypatch.setattr(mnist, "FILES", {n: hashlib.sha256(raw[n]).hexdigest() for n in MNIST_NAMES})
    calls = _serve(monkeypatch, {mnist.MIRROR + n + ".gz": gzip.compress(raw[n]) for n in MNIST_NAMES})
    (x, y), _ = mnist.load_data()
    np.testing.assert_array_equal(x, data["train-images-idx3-ubyte"])
    assert len(calls) == 4 and all(c.startswith("https://") for c in calls)
    cache = isolated / "home" / ".cudnn_lite" / "datasets" / "mnist"
    assert sorted(os.listdir(cache)) == sorted(n + ".gz" for n in MNIST_NAMES)
    mnist.load_data()  # now from the cache, no new download
    assert len(calls) == 4


def test_mnist_download_with_wrong_content_is_rejected(isolated, monkeypatch):
    src = isolated / "src"
    write_mnist(src, gz=False)
    files = {mnist.MIRROR + n + ".gz": gzip.compress((src / n).read_bytes()) for n in MNIST_NAMES}
    _serve(monkeypatch, files)  # real FILES hashes: these fake files do not match
    with pytest.raises(DatasetNotFoundError, match="SHA-256"):
        mnist.load_data()
    cache = isolated / "home" / ".cudnn_lite" / "datasets" / "mnist"
    assert not cache.exists() or os.listdir(cache) == []  # nothing half-written left


def test_official_mnist_hashes_match_shared_copy():
    folder = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "datasets", "mnist")
    if not os.path.isdir(folder):
        pytest.skip("../shared/datasets/mnist not present")
    for name in ("t10k-labels-idx1-ubyte", "train-labels-idx1-ubyte"):
        with gzip.open(os.path.join(folder, name + ".gz")) as f:
            assert hashlib.sha256(f.read()).hexdigest() == mnist.FILES[name]


# ----------------------------------------------------------------- CIFAR-10

@pytest.mark.parametrize("style", ["py2", 2, 4])
def test_cifar_reads_official_layout(isolated, style):
    folder, batches = write_cifar(isolated / "c", style=style)
    (x, y), (xt, yt) = cifar10.load_data(path=isolated / "c")
    assert x.shape == (20, 32, 32, 3) and x.dtype == np.uint8
    assert y.shape == (20, 1) and y.dtype == np.uint8
    assert xt.shape == (4, 32, 32, 3) and yt.shape == (4, 1)
    # channel-planar rows -> HWC: pixel (r, c) of channel k is data[k*1024 + r*32 + c]
    d = batches["data_batch_1"][b"data"]
    assert x[0, 5, 7, 2] == d[0, 2 * 1024 + 5 * 32 + 7]
    assert x[1, 31, 0, 0] == d[1, 31 * 32]
    np.testing.assert_array_equal(y[4:8, 0], batches["data_batch_2"][b"labels"])
    # the batches folder itself is accepted as path too
    assert cifar10.load_data(path=folder)[1][0].shape == (4, 32, 32, 3)


def test_cifar_env_and_cache(isolated, monkeypatch):
    env = isolated / "env"
    write_cifar(env / "cifar10", n=2)
    monkeypatch.setenv("CUDNN_LITE_DATA", str(env))
    assert cifar10.load_data()[0][0].shape[0] == 10
    monkeypatch.delenv("CUDNN_LITE_DATA")
    write_cifar(isolated / "home" / ".cudnn_lite" / "datasets" / "cifar10", n=3)
    assert cifar10.load_data()[0][0].shape[0] == 15


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_cifar_malicious_pickle_is_rejected_without_running(isolated):
    folder, _ = write_cifar(isolated / "c", n=2)
    marker = isolated / "pwned"
    evil = {b"data": _Evil(marker), b"labels": [0, 1]}
    with open(os.path.join(folder, "data_batch_3"), "wb") as f:
        pickle.dump(evil, f, protocol=2)
    with pytest.raises(DatasetFormatError, match="refusing to load global"):
        cifar10.load_data(path=folder)
    assert not marker.exists()
    # also a bare reduce of builtins.eval
    payload = b"cbuiltins\neval\n(Vprint('x')\ntR."
    with open(os.path.join(folder, "data_batch_3"), "wb") as f:
        f.write(payload)
    with pytest.raises(DatasetFormatError, match="builtins.'eval'"):
        cifar10.load_data(path=folder)


def test_cifar_truncated_and_wrong_content(isolated):
    folder, _ = write_cifar(isolated / "c", n=2)
    p = os.path.join(folder, "test_batch")
    with open(p, "rb") as f:
        raw = f.read()
    with open(p, "wb") as f:
        f.write(raw[: len(raw) // 2])
    with pytest.raises(DatasetFormatError, match="test_batch"):
        cifar10.load_data(path=folder)
    bad = cifar_batch(2, 0)
    bad[b"data"] = bad[b"data"][:, :100]
    dump_py2(bad, p)
    with pytest.raises(DatasetFormatError, match=r"\(n, 3072\)"):
        cifar10.load_data(path=folder)
    bad = cifar_batch(2, 0)
    bad[b"labels"] = [1]
    dump_py2(bad, p)
    with pytest.raises(DatasetFormatError, match="labels"):
        cifar10.load_data(path=folder)


def _tar_bytes(members):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data, kind in members:
            info = tarfile.TarInfo(name)
            if kind == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, data
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.mark.parametrize("member", [("../escape", b"x", "file"), ("/abs/path", b"x", "file"),
                                    ("cifar-10-batches-py/../../x", b"x", "file"),
                                    ("cifar-10-batches-py/link", "/etc/passwd", "symlink")])
def test_unsafe_tar_members_are_refused(isolated, member):
    archive = isolated / "a.tar.gz"
    archive.write_bytes(_tar_bytes([("cifar-10-batches-py/ok", b"fine", "file"), member]))
    dest = isolated / "dest"
    with pytest.raises(ValueError, match="unsafe|unsupported|escapes"):
        _files.safe_extract_tar(str(archive), str(dest))
    assert not (dest / "cifar-10-batches-py").exists()  # nothing extracted
    assert not (isolated / "escape").exists()


def test_cifar_download_verified_and_extracted(isolated, monkeypatch):
    src, _ = write_cifar(isolated / "src", n=2)
    members = [(f"cifar-10-batches-py/{n}", open(os.path.join(src, n), "rb").read(), "file")
               for n in os.listdir(src)]
    blob = _tar_bytes(members)
    monkeypatch.setattr(cifar10, "SHA256", hashlib.sha256(blob).hexdigest())
    monkeypatch.setattr(cifar10, "MD5", hashlib.md5(blob).hexdigest())
    _serve(monkeypatch, {cifar10.URL: blob})
    (x, y), _ = cifar10.load_data()
    assert x.shape == (10, 32, 32, 3)
    cache = isolated / "home" / ".cudnn_lite" / "datasets" / "cifar10"
    assert sorted(os.listdir(cache)) == ["cifar-10-batches-py"]  # archive removed after use


def test_cifar_download_with_bad_checksum(isolated, monkeypatch):
    _serve(monkeypatch, {cifar10.URL: b"not the archive"})
    with pytest.raises(DatasetNotFoundError, match="sha256"):
        cifar10.load_data()
    cache = isolated / "home" / ".cudnn_lite" / "datasets" / "cifar10"
    assert not cache.exists() or os.listdir(cache) == []


def test_download_rejects_plain_http(tmp_path):
    with pytest.raises(ValueError, match="non-https"):
        _files.download("http://example.invalid/x", str(tmp_path / "x"))


def test_checksum_error_type(tmp_path, monkeypatch):
    monkeypatch.setattr(_files, "fetch_url", lambda url, f, timeout=60: f.write(b"abc"))
    with pytest.raises(ChecksumError):
        _files.download("https://example.invalid/x", str(tmp_path / "x"), sha256="0" * 64)
    assert os.listdir(tmp_path) == []


# ------------------------------------------------------------------- blobs

def test_make_blobs_matches_scikit_learn():
    # values from sklearn.datasets.make_blobs with the textbook's arguments
    X, y = make_blobs(n_samples=1000, centers=3, n_features=2, cluster_std=2, random_state=2)
    assert X.shape == (1000, 2) and y.shape == (1000,)
    np.testing.assert_allclose(X[:3], [[0.4871981127474787, -0.4316054814243375],
                                       [-1.4895887915186194, -3.4791574150716293],
                                       [-2.0625044401902253, -7.7330041875347355]], rtol=1e-12)
    assert y[:10].tolist() == [2, 2, 2, 0, 1, 0, 1, 1, 2, 2]
    assert np.bincount(y).tolist() == [334, 333, 333]
    np.testing.assert_allclose(X.sum(), -5456.281100421177, rtol=1e-12)


def test_make_blobs_options():
    X, y, c = make_blobs(n_samples=[3, 5], centers=[[0, 0, 0], [100, 100, 100]], cluster_std=0.1,
                         shuffle=False, random_state=0, return_centers=True)
    assert X.shape == (8, 3) and y.tolist() == [0] * 3 + [1] * 5
    assert np.all(np.abs(X[y == 1] - 100) < 1)
    a, _ = make_blobs(random_state=5)
    b, _ = make_blobs(random_state=5)
    np.testing.assert_array_equal(a, b)
