// tensor.h: turning Python arrays into raw float pointers, with the checks that
// keep bad input from ever reaching a kernel.
//
// A NumPy array runs on the CPU; an object with __cuda_array_interface__ (a
// CuPy array) runs on the GPU. Either must be float32 and C-contiguous; outputs
// must be writable; every failed check raises TypeError/ValueError naming the
// argument, what was expected and what was given. A GPU array must live on the
// current CUDA device; when its __cuda_array_interface__ names another stream
// than CuPy's current one, the kernels' stream waits for it (on the device).
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "cudnn_lite.h"

namespace py = pybind11;

namespace cudnn_lite::binding {

struct Tensor {
  float* data = nullptr;
  std::vector<int64_t> shape;
  bool gpu = false;
  const char* name = "";

  int64_t ndim() const { return static_cast<int64_t>(shape.size()); }
  int64_t numel() const {
    int64_t n = 1;
    for (int64_t s : shape) n *= s;
    return n;
  }
  // dim(-1) is the last axis
  int64_t dim(int64_t i) const { return shape.at(static_cast<size_t>(i < 0 ? ndim() + i : i)); }
};

std::string shape_str(const std::vector<int64_t>& shape);

// obj must be a float32 C-contiguous NumPy or CuPy array; outputs also writable.
Tensor tensor_arg(py::handle obj, const char* name, bool writable = false);
// None -> a Tensor with data == nullptr (gpu taken from `like`)
Tensor optional_tensor_arg(py::handle obj, const char* name, bool writable = false);

// ValueError naming the array (`name`, or the tensor's) unless its shape is as expected
void expect_rank(const std::vector<int64_t>& shape, const char* name, int64_t rank,
                 const char* layout);
void expect_rank(const Tensor& t, int64_t rank, const char* layout);
void expect_shape(const Tensor& t, const std::vector<int64_t>& expected);
void expect_same_shape(const Tensor& t, const Tensor& like);
// every present tensor lives where the first one does (all NumPy or all CuPy)
void expect_same_device(std::initializer_list<const Tensor*> tensors);

// CuPy's current stream as a cudaStream_t (void*); needs the GIL
void* current_stream();

}  // namespace cudnn_lite::binding

// Runs cpu::fn(args...) or cuda::fn(args..., stream) with the GIL released.
#ifdef CUDNN_LITE_WITH_CUDA
#define CL_LAUNCH(gpu, fn, ...)                                          \
  do {                                                                   \
    if (gpu) {                                                           \
      void* stream_ = ::cudnn_lite::binding::current_stream();           \
      py::gil_scoped_release release_;                                   \
      ::cudnn_lite::cuda::fn(__VA_ARGS__, stream_);                      \
    } else {                                                             \
      py::gil_scoped_release release_;                                   \
      ::cudnn_lite::cpu::fn(__VA_ARGS__);                                \
    }                                                                    \
  } while (0)
#else
#define CL_LAUNCH(gpu, fn, ...)                                          \
  do {                                                                   \
    (void)(gpu);                                                         \
    py::gil_scoped_release release_;                                     \
    ::cudnn_lite::cpu::fn(__VA_ARGS__);                                  \
  } while (0)
#endif
