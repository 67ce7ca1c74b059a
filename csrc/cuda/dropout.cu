// dropout.cu: inverted dropout with masks bit-identical to the CPU's.
// Element i keeps iff philox_uniform(seed, offset + i) >= rate (csrc/common/philox.h);
// y = keep ? x / (1 - rate) : 0. Forward and backward apply the same mask, so
// one kernel serves both (in = x or dy, out = y or dx).
//   dropout_kernel1: one element per thread, one Philox call per element
//   dropout_kernel2: one Philox counter per thread: its 4 words serve the 4
//                    elements whose index (offset + i) shares the counter
#include <cuda_runtime.h>

#include "cuda/check.cuh"
#include "cuda/launch.cuh"
#include "cudnn_lite.h"
#include "common/philox.h"

namespace cudnn_lite {
namespace cuda {

namespace {

// in, out are (n)
__global__ void dropout_kernel1(int64_t n, const float* __restrict__ in, float* __restrict__ out,
                                float rate, uint64_t seed, uint64_t offset) {
  const float keep_div = 1.0f - rate;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const bool keep = philox_uniform(seed, offset + static_cast<uint64_t>(i)) >= rate;
    out[i] = keep ? in[i] / keep_div : 0.0f;
  }
}

// in, out are (n); counters run over [offset / 4, (offset + n - 1) / 4]
__global__ void dropout_kernel2(int64_t n, const float* __restrict__ in, float* __restrict__ out,
                                float rate, uint64_t seed, uint64_t offset) {
  const float keep_div = 1.0f - rate;
  const uint64_t first = offset >> 2;
  const uint64_t end = offset + static_cast<uint64_t>(n);  // one past the last index
  const uint64_t counters = ((end - 1) >> 2) - first + 1;
  for (uint64_t c = static_cast<uint64_t>(blockIdx.x) * blockDim.x + threadIdx.x; c < counters;
       c += static_cast<uint64_t>(gridDim.x) * blockDim.x) {
    const uint64_t ctr = first + c;
    const Philox4 r = philox4x32_10(ctr, seed);
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const uint64_t g = ctr * 4 + j;  // global index offset + i
      if (g < offset || g >= end) continue;
      const uint64_t i = g - offset;
      const bool keep = philox_to_uniform(r.v[j]) >= rate;
      out[i] = keep ? in[i] / keep_div : 0.0f;
    }
  }
}

void run(const char* what, int64_t n, const float* in, float* out, float rate, uint64_t seed,
         uint64_t offset, void* stream) {
  if (n < 0) throw std::invalid_argument(std::string(what) + ": negative size");
  if (!(rate >= 0.0f && rate < 1.0f))
    throw std::invalid_argument(std::string(what) + ": rate must be in [0, 1)");
  if (n == 0) return;
  cudaStream_t s = detail::as_stream(stream);
  if (detail::force_simple_kernels()) {
    launch("dropout_kernel1", dropout_kernel1, detail::grid_stride_blocks(n, 256), 256, 0, s, n, in,
           out, rate, seed, offset);
    return;
  }
  const int64_t counters = static_cast<int64_t>(((offset + n - 1) >> 2) - (offset >> 2) + 1);
  launch("dropout_kernel2", dropout_kernel2, detail::grid_stride_blocks(counters, 256), 256, 0, s,
         n, in, out, rate, seed, offset);
}

}  // namespace

void dropout_forward(int64_t n, const float* x, float* y, float rate, uint64_t seed,
                     uint64_t offset, void* stream) {
  run("dropout_forward", n, x, y, rate, seed, offset, stream);
}

void dropout_backward(int64_t n, const float* dy, float* dx, float rate, uint64_t seed,
                      uint64_t offset, void* stream) {
  run("dropout_backward", n, dy, dx, rate, seed, offset, stream);
}

}  // namespace cuda
}  // namespace cudnn_lite
