// softmax.cu: softmax over the last axis of a (rows, cols) matrix and its gradient.
//   *_kernel1: one warp per row (cols <= 1024), shuffles only
//   *_kernel2: one block per row (any cols), block reductions in shared memory
// Same numerics as csrc/cpu/softmax.cpp: y = exp(x - max) * (1 / sum); a row
// holding a NaN (or only -inf) gives NaN; the backward dot is summed in double.
#include <cuda_runtime.h>

#include "cuda/check.cuh"
#include "cuda/launch.cuh"
#include "cuda/reduce.cuh"
#include "cudnn_lite.h"

namespace cudnn_lite {
namespace cuda {

namespace {

constexpr int kWarpRowsPerBlock = 8;  // kernel1: 8 warps, one row each
constexpr int kBlockThreads = 256;    // kernel2

// x, y are (rows, cols); warp w of the grid handles rows w, w + warps, ...
__global__ void softmax_forward_kernel1(int64_t rows, int64_t cols, const float* __restrict__ x,
                                        float* __restrict__ y) {
  const int lane = threadIdx.x & 31;
  const int64_t warp = static_cast<int64_t>(blockIdx.x) * kWarpRowsPerBlock + (threadIdx.x >> 5);
  const int64_t warps = static_cast<int64_t>(gridDim.x) * kWarpRowsPerBlock;
  for (int64_t r = warp; r < rows; r += warps) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    float m = -INFINITY;
    bool nan = false;
    for (int64_t j = lane; j < cols; j += 32) {
      const float v = xr[j];
      m = v > m ? v : m;
      nan |= v != v;
    }
    m = warp_max(m);
    if (__any_sync(0xffffffffu, nan)) m = NAN;
    float s = 0.0f;
    for (int64_t j = lane; j < cols; j += 32) s += expf(xr[j] - m);
    s = warp_sum(s);
    const float inv = 1.0f / s;
    for (int64_t j = lane; j < cols; j += 32) yr[j] = expf(xr[j] - m) * inv;
  }
}

// x, y are (rows, cols); block b handles rows b, b + gridDim.x, ...
__global__ void softmax_forward_kernel2(int64_t rows, int64_t cols, const float* __restrict__ x,
                                        float* __restrict__ y) {
  __shared__ float scratch[32];
  __shared__ int any_nan;
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    if (threadIdx.x == 0) any_nan = 0;
    float m = -INFINITY;
    bool nan = false;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
      const float v = xr[j];
      m = v > m ? v : m;
      nan |= v != v;
    }
    __syncthreads();  // any_nan reset is visible
    if (nan) any_nan = 1;
    m = block_max(m, scratch);  // contains __syncthreads: any_nan is final after it
    if (any_nan) m = NAN;
    float s = 0.0f;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) s += expf(xr[j] - m);
    s = block_sum(s, scratch);
    const float inv = 1.0f / s;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) yr[j] = expf(xr[j] - m) * inv;
    __syncthreads();  // everyone has read any_nan before the next row resets it
  }
}

// y, dy, dx are (rows, cols): dx = y * (dy - sum(dy * y)); warp per row
__global__ void softmax_backward_kernel1(int64_t rows, int64_t cols, const float* __restrict__ y,
                                         const float* __restrict__ dy, float* __restrict__ dx) {
  const int lane = threadIdx.x & 31;
  const int64_t warp = static_cast<int64_t>(blockIdx.x) * kWarpRowsPerBlock + (threadIdx.x >> 5);
  const int64_t warps = static_cast<int64_t>(gridDim.x) * kWarpRowsPerBlock;
  for (int64_t r = warp; r < rows; r += warps) {
    const float* yr = y + r * cols;
    const float* dyr = dy + r * cols;
    float* dxr = dx + r * cols;
    double dot = 0.0;
    for (int64_t j = lane; j < cols; j += 32) dot += static_cast<double>(dyr[j]) * yr[j];
    const float s = static_cast<float>(warp_sum(dot));
    for (int64_t j = lane; j < cols; j += 32) dxr[j] = yr[j] * (dyr[j] - s);
  }
}

// as kernel1, block per row
__global__ void softmax_backward_kernel2(int64_t rows, int64_t cols, const float* __restrict__ y,
                                         const float* __restrict__ dy, float* __restrict__ dx) {
  __shared__ double scratch[32];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* yr = y + r * cols;
    const float* dyr = dy + r * cols;
    float* dxr = dx + r * cols;
    double dot = 0.0;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x)
      dot += static_cast<double>(dyr[j]) * yr[j];
    const float s = static_cast<float>(block_sum(dot, scratch));
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) dxr[j] = yr[j] * (dyr[j] - s);
  }
}

unsigned row_blocks(int64_t rows, int64_t rows_per_block) {
  int64_t b = (rows + rows_per_block - 1) / rows_per_block;
  const int64_t cap = static_cast<int64_t>(detail::sm_count()) * 64;
  if (b > cap) b = cap;
  return static_cast<unsigned>(b < 1 ? 1 : b);
}

}  // namespace

void softmax_forward(int64_t rows, int64_t cols, const float* x, float* y, void* stream) {
  if (rows < 0 || cols < 0) throw std::invalid_argument("softmax_forward: negative size");
  if (rows == 0 || cols == 0) return;
  cudaStream_t s = detail::as_stream(stream);
  if (cols <= 1024 || detail::force_simple_kernels()) {
    launch("softmax_forward_kernel1", softmax_forward_kernel1, row_blocks(rows, kWarpRowsPerBlock),
           kWarpRowsPerBlock * 32, 0, s, rows, cols, x, y);
  } else {
    launch("softmax_forward_kernel2", softmax_forward_kernel2, row_blocks(rows, 1), kBlockThreads,
           0, s, rows, cols, x, y);
  }
}

void softmax_backward(int64_t rows, int64_t cols, const float* y, const float* dy, float* dx,
                      void* stream) {
  if (rows < 0 || cols < 0) throw std::invalid_argument("softmax_backward: negative size");
  if (rows == 0 || cols == 0) return;
  cudaStream_t s = detail::as_stream(stream);
  if (cols <= 1024 || detail::force_simple_kernels()) {
    launch("softmax_backward_kernel1", softmax_backward_kernel1,
           row_blocks(rows, kWarpRowsPerBlock), kWarpRowsPerBlock * 32, 0, s, rows, cols, y, dy,
           dx);
  } else {
    launch("softmax_backward_kernel2", softmax_backward_kernel2, row_blocks(rows, 1), kBlockThreads,
           0, s, rows, cols, y, dy, dx);
  }
}

}  // namespace cuda
}  // namespace cudnn_lite
