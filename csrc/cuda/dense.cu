// dense.cu: fully connected layer forward (sgemm with a fused bias/activation
// epilogue) and the bias gradient (a deterministic column sum).
#include <cuda_runtime.h>

#include "common/activation_math.h"
#include "cuda/check.cuh"
#include "cuda/launch.cuh"
#include "cuda/colreduce.cuh"
#include "cudnn_lite.h"

namespace cudnn_lite {
namespace cuda {

namespace detail {
// defined in sgemm.cu
void sgemm_epilogue(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                    const float* a, int64_t lda, const float* b, int64_t ldb, float beta,
                    float* c, int64_t ldc, const float* bias, Activation act, float act_alpha,
                    cudaStream_t stream);
}  // namespace detail

namespace {

// x is (rows, in), w is (in, out), bias is (out) or nullptr, y is (rows, out);
// one thread per y element: the simple reference
__global__ void dense_forward_kernel1(int64_t rows, int64_t in, int64_t out,
                                      const float* __restrict__ x, const float* __restrict__ w,
                                      const float* __restrict__ bias, Activation act,
                                      float act_alpha, float* __restrict__ y) {
  const int64_t total = rows * out;
  for (int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; idx < total;
       idx += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t r = idx / out, j = idx - r * out;
    float acc = 0.0f;
    for (int64_t p = 0; p < in; ++p) acc = fmaf(x[r * in + p], w[p * out + j], acc);
    if (bias != nullptr) acc += bias[j];
    y[idx] = activation_value(act, act_alpha, acc);
  }
}

// dy is (rows, cols), db is (cols); one thread per column: the simple reference
__global__ void bias_backward_kernel1(int64_t rows, int64_t cols, const float* __restrict__ dy,
                                      float* __restrict__ db) {
  for (int64_t j = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; j < cols;
       j += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    double s = 0.0;
    for (int64_t r = 0; r < rows; ++r) s += dy[r * cols + j];
    db[j] = static_cast<float>(s);
  }
}

// bias_backward_kernel2 = colreduce::column_partial_kernel<1, BiasRows> +
// column_finalize_kernel<1, BiasStore>
struct BiasRows {
  const float* dy;
  int64_t cols;
  __device__ __forceinline__ void operator()(int64_t r, int64_t col, double (&acc)[1]) const {
    acc[0] += dy[r * cols + col];
  }
};
struct BiasStore {
  float* db;
  __device__ __forceinline__ void operator()(int64_t col, const double (&total)[1]) const {
    db[col] = static_cast<float>(total[0]);
  }
};

}  // namespace

void dense_forward(int64_t rows, int64_t in, int64_t out, const float* x, const float* w,
                   const Epilogue& ep, float* y, void* stream) {
  if (rows < 0 || in < 0 || out < 0) throw std::invalid_argument("dense_forward: negative size");
  if (rows == 0 || out == 0) return;
  cudaStream_t s = detail::as_stream(stream);
  if (detail::force_simple_kernels() || rows * out * (in > 0 ? in : 1) <= 32 * 32 * 32) {
    launch("dense_forward_kernel1", dense_forward_kernel1,
           detail::grid_stride_blocks(rows * out, 256), 256, 0, s, rows, in, out, x, w, ep.bias,
           ep.act, ep.alpha, y);
    return;
  }
  detail::sgemm_epilogue(false, false, rows, out, in, 1.0f, x, in, w, out, 0.0f, y, out, ep.bias,
                         ep.act, ep.alpha, s);
}

void bias_backward(int64_t rows, int64_t cols, const float* dy, float* db, void* stream) {
  if (rows < 0 || cols < 0) throw std::invalid_argument("bias_backward: negative size");
  if (cols == 0) return;
  cudaStream_t s = detail::as_stream(stream);
  if (detail::force_simple_kernels()) {
    launch("bias_backward_kernel1", bias_backward_kernel1, detail::grid_stride_blocks(cols, 256),
           256, 0, s, rows, cols, dy, db);
    return;
  }
  colreduce::column_reduce<1>(BiasRows{dy, cols}, BiasStore{db}, rows, cols, s,
                              "bias_backward_kernel2");
}

}  // namespace cuda
}  // namespace cudnn_lite
