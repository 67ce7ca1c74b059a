"""Test configuration: import the INSTALLED cudnn_lite, fail loudly without its _C,
and run every op, layer and model test on each available device ('cpu', and 'cuda' when
usable: a GPU with CuPy, or the emulated CUDA build with cudnn_lite.emulator)."""
from __future__ import annotations

import os
import sys

import pytest

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(TESTS_DIR)

# `python -m pytest` puts the current directory (the repo root) first on sys.path,
# which would import the source folder cudnn_lite/ (no compiled _C in it) instead
# of the installed package. Drop it; keep tests/ importable for helpers.py.
sys.path[:] = [p for p in sys.path
               if os.path.abspath(p or os.curdir) != REPO_ROOT]
if TESTS_DIR not in sys.path:
    sys.path.insert(0, TESTS_DIR)

C_IMPORT_ERROR = None
try:
    import cudnn_lite  # noqa: E402
    import cudnn_lite._C  # noqa: E402,F401
except Exception as exc:  # ImportError, or a broken extension
    C_IMPORT_ERROR = exc

C_MISSING_MESSAGE = (
    "cudnn_lite._C cannot be imported ({err!r}). The tests run against the INSTALLED "
    "package, not the source folder: run `pip install --no-build-isolation .` in the repo "
    "root (CUDNN_LITE_CUDA=OFF for a CPU-only build) and rerun pytest from the repo root."
)

# tests that need only NumPy (the reference's self-checks)
NO_EXTENSION_MODULES = ("test_reference",)


def pytest_report_header(config):
    if C_IMPORT_ERROR is not None:
        return "!!! " + C_MISSING_MESSAGE.format(err=C_IMPORT_ERROR)
    return f"cudnn_lite from {os.path.dirname(cudnn_lite.__file__)}"


@pytest.fixture(autouse=True)
def _require_extension(request):
    module = request.module.__name__.rsplit(".", 1)[-1]
    if C_IMPORT_ERROR is not None and module not in NO_EXTENSION_MODULES:
        pytest.fail(C_MISSING_MESSAGE.format(err=C_IMPORT_ERROR), pytrace=False)


def _cuda_usable():
    if C_IMPORT_ERROR is not None:
        return False
    try:
        return bool(cudnn_lite.cuda_available())
    except Exception:
        return False


def _skip_without_cuda():
    if not _cuda_usable():
        with_cuda = getattr(cudnn_lite, "with_cuda", None) if C_IMPORT_ERROR is None else None
        pytest.skip("cuda: not usable here (cudnn_lite.cuda_available() is False: "
                    f"with_cuda={with_cuda}, or no GPU visible, or CuPy missing; "
                    "a CUDNN_LITE_CUDA=EMULATE build runs these without a GPU)")


@pytest.fixture(params=["cpu", "cuda"])
def device(request):
    """'cpu' (NumPy arrays) or 'cuda' (device arrays: CuPy's, or cudnn_lite.emulator's in the
    emulated build); helpers.to_device / to_host move data."""
    if request.param == "cuda":
        _skip_without_cuda()
    return request.param


@pytest.fixture
def on_device(device):
    """Layer and model tests (``pytestmark = pytest.mark.usefixtures("on_device")``): each test
    runs once per device, with ``device`` as the default of the models it creates
    (backend.set_device); the previous default comes back afterwards. Returns the device."""
    from cudnn_lite import backend
    previous = backend._device
    backend.set_device(device)
    yield device
    backend._device = previous


@pytest.fixture(scope="session")
def cp():
    """The CUDA device's array module, used like CuPy: CuPy on a GPU machine, cudnn_lite.emulator
    in the emulated build (helpers.device_array_module). Skips where no CUDA device is usable.
    CUDNN_LITE_TEST_NO_CUPY_POOL=1 turns CuPy's memory pool off (each array its own cudaMalloc,
    so compute-sanitizer memcheck sees out-of-bounds accesses; the emulator has no pool)."""
    _skip_without_cuda()
    from helpers import device_array_module
    xp = device_array_module()
    if os.environ.get("CUDNN_LITE_TEST_NO_CUPY_POOL") == "1":
        xp.cuda.set_allocator(None)
    return xp
