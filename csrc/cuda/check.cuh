// check.cuh: error checking and small launch helpers shared by csrc/cuda/*.cu.
//
//   CUDA_CHECK(call, "kernel_name")  throws cudnn_lite::cuda::Error naming the
//                                    kernel (or op) and cudaGetErrorString
//   CUDA_CHECK_LAUNCH("kernel_name") checks cudaGetLastError right after a launch
//   device_alloc_async / device_free_async: stream-ordered temporaries whose
//                                    out-of-memory error says how many bytes were asked
#pragma once

#include <cuda_runtime.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "cudnn_lite.h"

namespace cudnn_lite {
namespace cuda {
namespace detail {

[[noreturn]] inline void throw_cuda_error(cudaError_t err, const char* what, const char* file,
                                          int line) {
  throw Error(std::string("cudnn_lite CUDA error in ") + what + ": " + cudaGetErrorName(err) +
              " (" + cudaGetErrorString(err) + ") at " + file + ":" + std::to_string(line));
}

inline void check(cudaError_t err, const char* what, const char* file, int line) {
  if (err != cudaSuccess) throw_cuda_error(err, what, file, line);
}

inline cudaStream_t as_stream(void* stream) { return static_cast<cudaStream_t>(stream); }

// A stream-ordered temporary buffer (cudaMallocAsync); an out-of-memory error
// reports the size that was asked for.
inline void* device_alloc_async(size_t bytes, cudaStream_t stream, const char* what) {
  void* p = nullptr;
  if (bytes == 0) return nullptr;
  const cudaError_t err = cudaMallocAsync(&p, bytes, stream);
  if (err != cudaSuccess) {
    (void)cudaGetLastError();  // clear the (non-sticky) allocation error
    if (err == cudaErrorMemoryAllocation)
      throw Error(std::string("cudnn_lite CUDA error in ") + what +
                  ": out of GPU memory allocating " + std::to_string(bytes) +
                  " bytes of workspace");
    throw Error(std::string("cudnn_lite CUDA error in ") + what + ": cudaMallocAsync of " +
                std::to_string(bytes) + " bytes failed: " + cudaGetErrorString(err));
  }
  return p;
}

inline void device_free_async(void* p, cudaStream_t stream, const char* what) {
  if (p == nullptr) return;
  const cudaError_t err = cudaFreeAsync(p, stream);
  if (err != cudaSuccess) throw_cuda_error(err, what, __FILE__, __LINE__);
}

// Number of SMs of the current device, cached per device id (correct when the
// caller switches devices; a failed query falls back to 108 and is not cached).
inline int sm_count() {
  static std::atomic<int> cache[64];
  int dev = 0;
  if (cudaGetDevice(&dev) != cudaSuccess) {
    (void)cudaGetLastError();
    return 108;
  }
  if (dev >= 0 && dev < 64) {
    const int cached = cache[dev].load(std::memory_order_relaxed);
    if (cached > 0) return cached;
  }
  int sms = 0;
  if (cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev) != cudaSuccess ||
      sms <= 0) {
    (void)cudaGetLastError();
    return 108;
  }
  if (dev >= 0 && dev < 64) cache[dev].store(sms, std::memory_order_relaxed);
  return sms;
}

// Blocks for a grid-stride loop over n items: enough to fill the GPU, never
// more than needed, never more than the grid limit.
inline unsigned grid_stride_blocks(int64_t n, int threads) {
  int64_t blocks = (n + threads - 1) / threads;
  const int64_t cap = static_cast<int64_t>(sm_count()) * 32;
  if (blocks > cap) blocks = cap;
  if (blocks < 1) blocks = 1;
  return static_cast<unsigned>(blocks);
}

// CUDNN_LITE_CUDA_SIMPLE=1 in the environment routes every op that has one to
// its simple reference kernel (the *_kernel1 versions) so a device check can
// compare the fast kernels against them. Read at every call (a getenv is
// cheap next to a launch), so a test may flip it with os.environ in-process.
inline bool force_simple_kernels() {
  const char* v = std::getenv("CUDNN_LITE_CUDA_SIMPLE");
  return v != nullptr && v[0] != '\0' && v[0] != '0';
}

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

}  // namespace detail
}  // namespace cuda
}  // namespace cudnn_lite

#define CUDA_CHECK(call, name) \
  ::cudnn_lite::cuda::detail::check((call), (name), __FILE__, __LINE__)
#define CUDA_CHECK_LAUNCH(name) \
  ::cudnn_lite::cuda::detail::check(cudaGetLastError(), (name), __FILE__, __LINE__)
