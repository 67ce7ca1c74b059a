"""Package entry: build_info(), with_cuda, cuda_available(), thread control."""
import pytest

from helpers import package as cudnn_lite  # None without _C: conftest then fails each test loudly


def test_build_info_keys():
    info = cudnn_lite.build_info()
    for key in ("cpu", "threads", "pybind11", "cuda_runtime", "cuda_architectures", "version",
                "with_cuda", "cuda_emulated", "cuda_devices"):
        assert key in info, f"build_info() lacks {key!r}: {sorted(info)}"
    assert isinstance(info["with_cuda"], bool) and isinstance(info["cuda_emulated"], bool)
    assert cudnn_lite.cuda_emulated == info["cuda_emulated"]
    assert not info["cuda_emulated"] or info["with_cuda"], "the emulated build runs the CUDA kernels"
    assert isinstance(info["cpu"], str) and info["cpu"]
    assert info["version"] == cudnn_lite.__version__
    assert isinstance(info["threads"], int) and info["threads"] >= 1
    assert isinstance(cudnn_lite.with_cuda, bool) and cudnn_lite.with_cuda == info["with_cuda"]


def test_cuda_available_is_a_bool():
    # on a GPU-less machine this is False, without raising
    avail = cudnn_lite.cuda_available()
    assert isinstance(avail, bool)
    if not cudnn_lite.with_cuda or cudnn_lite.build_info()["cuda_devices"] == 0:
        assert avail is False
    if cudnn_lite.cuda_emulated:  # the emulated device needs no GPU and no CuPy
        assert avail is True and cudnn_lite.build_info()["cuda_devices"] == 1


def test_threads_round_trip():
    old = cudnn_lite.get_num_threads()
    assert isinstance(old, int) and old >= 1
    try:
        cudnn_lite.set_num_threads(1)
        assert cudnn_lite.get_num_threads() == 1
        cudnn_lite.set_num_threads(2)
        expected = 2 if "openmp" in cudnn_lite.build_info()["cpu"].lower() else cudnn_lite.get_num_threads()
        assert cudnn_lite.get_num_threads() == expected
    finally:
        cudnn_lite.set_num_threads(old)
    assert cudnn_lite.get_num_threads() == old


@pytest.mark.parametrize("bad", [0, -1, "2", 1.5, True, None])
def test_set_num_threads_rejects(bad):
    old = cudnn_lite.get_num_threads()
    with pytest.raises((ValueError, TypeError), match="n"):
        cudnn_lite.set_num_threads(bad)
    assert cudnn_lite.get_num_threads() == old
