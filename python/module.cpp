// module.cpp: the extension module cudnn_lite._C.
// Registers the op bindings (bind_*.cpp) and the runtime queries: threads,
// build information, CUDA presence. C++ exceptions become Python ones:
// std::invalid_argument -> ValueError, cudnn_lite::cuda::Error -> CudaError
// (a RuntimeError), std::bad_alloc -> MemoryError.
#include <pybind11/stl.h>

#include "cudnn_lite.h"
#include "tensor.h"

namespace cudnn_lite::binding {
void register_layers(py::module_& m);
void register_pointwise(py::module_& m);
void register_image(py::module_& m);
void register_emulator(py::module_& m);
void register_args(py::module_& m);
void register_shapes(py::module_& m);
}  // namespace cudnn_lite::binding

namespace cl = cudnn_lite;

PYBIND11_MODULE(_C, m) {
  m.doc() = "cudnn_lite kernels (C++ CPU and, when compiled in, CUDA)";
#ifdef CUDNN_LITE_CUDA_EMULATED
  m.attr("cuda_emulated") = true;  // the CUDA kernels run on the host SIMT emulator
#else
  m.attr("cuda_emulated") = false;
#endif
#ifdef CUDNN_LITE_WITH_CUDA
  m.attr("with_cuda") = true;
  py::register_exception<cl::cuda::Error>(m, "CudaError", PyExc_RuntimeError);
  m.def("cuda_device_count", [] { return cl::cuda::device_count(); });
  m.def("cuda_runtime_version", [] { return cl::cuda::runtime_version(); });
  m.def("cuda_synchronize", [] {
    py::gil_scoped_release release;
    cl::cuda::synchronize();
  });
#else
  m.attr("with_cuda") = false;
  m.def("cuda_device_count", [] { return 0; });
  m.def("cuda_runtime_version", [] { return std::string(); });
  m.def("cuda_synchronize", [] {});
#endif

  m.def("get_num_threads", [] { return cl::cpu::get_num_threads(); });
  m.def("set_num_threads", [](int n) {
    if (n < 1) throw py::value_error("n: expected a positive number of threads");
    cl::cpu::set_num_threads(n);
  });
  m.def("build_info", [] {
    py::dict info;
    info["cpu"] = cl::cpu::build_info();
    info["threads"] = cl::cpu::get_num_threads();
#ifdef CUDNN_LITE_VERSION
    info["package_version"] = CUDNN_LITE_VERSION;
#endif
    info["pybind11"] = std::to_string(PYBIND11_VERSION_MAJOR) + "." +
                       std::to_string(PYBIND11_VERSION_MINOR) + "." +
                       std::to_string(PYBIND11_VERSION_PATCH);
#ifdef CUDNN_LITE_WITH_CUDA
    info["cuda_runtime"] = cl::cuda::runtime_version();
    info["cuda_architectures"] = CUDNN_LITE_CUDA_ARCHS;
#ifdef CUDNN_LITE_CUDA_EMULATED
    info["cuda_runtime"] = cl::cuda::runtime_version() + " (emulated)";
#endif
#else
    info["cuda_runtime"] = "";
    info["cuda_architectures"] = "";
#endif
    return info;
  });

  m.def(
      "check_array",
      [](py::handle obj, const char* name, bool writable) {
        return cl::binding::tensor_arg(obj, name, writable).shape;
      },
      py::arg("array"), py::arg("name"), py::arg("writable") = false,
      "The checks every op applies to its arrays (float32, C-contiguous, NumPy or CuPy); "
      "returns the shape or raises TypeError/ValueError naming the argument");

  cl::binding::register_args(m);    // the enum tables (ACTIVATIONS, ...), check_dropout_rate
  cl::binding::register_shapes(m);  // conv2d_geometry, pool2d_geometry, ...
  cl::binding::register_layers(m);
  cl::binding::register_pointwise(m);
  cl::binding::register_image(m);
  cl::binding::register_emulator(m);
}
