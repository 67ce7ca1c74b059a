// batchnorm.cu: batch normalization over the last axis of a (rows, c) matrix,
// numerics as csrc/cpu/batchnorm.cpp: per-channel sums in double, two passes
// (mean, then sum of squared deviations: no cancellation), biased variance,
// invstd = float(1 / sqrt(var + eps)) in double, moving averages updated on
// the device. The column sums are colreduce's deterministic partial sums
// (no atomics): the same input gives bit-identical statistics on every run.
//   batchnorm_stats:     column_reduce<1> sum x          -> mean (double workspace)
//                        column_reduce<1> sum (x-mean)^2 -> save_*, moving_*
//   batchnorm_normalize_kernel: y = (x - mean) * (gamma * invstd) + beta
//   batchnorm_backward:  column_reduce<2> sum dy, sum dy * xhat -> dbeta, dgamma
//                        batchnorm_backward_dx_kernel
#include <cuda_runtime.h>

#include <cmath>

#include "cuda/check.cuh"
#include "cuda/launch.cuh"
#include "cuda/colreduce.cuh"
#include "cudnn_lite.h"

namespace cudnn_lite {
namespace cuda {

namespace {

struct SumX {  // acc += x[r, ch]
  const float* x;
  int64_t c;
  __device__ __forceinline__ void operator()(int64_t r, int64_t ch, double (&acc)[1]) const {
    acc[0] += x[r * c + ch];
  }
};
struct StoreMean {  // mean[ch] = total / rows (double)
  double* mean;
  double rows;
  __device__ __forceinline__ void operator()(int64_t ch, const double (&total)[1]) const {
    mean[ch] = total[0] / rows;
  }
};
struct SumSqDev {  // acc += (x[r, ch] - mean[ch])^2
  const float* x;
  const double* mean;
  int64_t c;
  __device__ __forceinline__ void operator()(int64_t r, int64_t ch, double (&acc)[1]) const {
    const double e = static_cast<double>(x[r * c + ch]) - mean[ch];
    acc[0] += e * e;
  }
};
struct FinishStats {  // save_mean, save_invstd, moving averages
  const double* mean;
  double rows;
  float eps, momentum;
  float *save_mean, *save_invstd, *moving_mean, *moving_var;
  __device__ __forceinline__ void operator()(int64_t ch, const double (&total)[1]) const {
    const double var = total[0] / rows;
    const float m = static_cast<float>(mean[ch]);
    const float v = static_cast<float>(var);
    save_mean[ch] = m;
    save_invstd[ch] = static_cast<float>(1.0 / sqrt(var + static_cast<double>(eps)));
    moving_mean[ch] = moving_mean[ch] * momentum + m * (1.0f - momentum);
    moving_var[ch] = moving_var[ch] * momentum + v * (1.0f - momentum);
  }
};
struct SumDyXhat {  // acc0 += dy, acc1 += dy * xhat (xhat in float, as the CPU)
  const float *x, *dy, *mean, *invstd;
  int64_t c;
  __device__ __forceinline__ void operator()(int64_t r, int64_t ch, double (&acc)[2]) const {
    const float g = dy[r * c + ch];
    const float xhat = (x[r * c + ch] - mean[ch]) * invstd[ch];
    acc[0] += g;
    acc[1] += static_cast<double>(g) * xhat;
  }
};
struct StoreGrads {
  float *dgamma, *dbeta;
  __device__ __forceinline__ void operator()(int64_t ch, const double (&total)[2]) const {
    dbeta[ch] = static_cast<float>(total[0]);
    dgamma[ch] = static_cast<float>(total[1]);
  }
};

// save_mean = 0, save_invstd = 1 / sqrt(eps) for an empty batch; c threads
__global__ void batchnorm_empty_kernel(int64_t c, float eps, float* __restrict__ save_mean,
                                       float* __restrict__ save_invstd) {
  for (int64_t ch = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; ch < c;
       ch += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    save_mean[ch] = 0.0f;
    save_invstd[ch] = static_cast<float>(1.0 / sqrt(static_cast<double>(eps)));
  }
}

// x, y are (rows, c); mean, invstd, gamma, beta are (c):
// y = (x - mean) * (gamma * invstd) + beta
__global__ void batchnorm_normalize_kernel(int64_t rows, int64_t c, const float* __restrict__ x,
                                           const float* __restrict__ mean,
                                           const float* __restrict__ invstd,
                                           const float* __restrict__ gamma,
                                           const float* __restrict__ beta,
                                           float* __restrict__ y) {
  const int64_t total = rows * c;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t ch = i % c;
    const float scale = __ldg(gamma + ch) * __ldg(invstd + ch);
    y[i] = (x[i] - __ldg(mean + ch)) * scale + __ldg(beta + ch);
  }
}

// x, y are (rows, c); moving statistics (c): y = (x - mm) * gamma / sqrt(mv + eps) + beta
__global__ void batchnorm_inference_kernel(int64_t rows, int64_t c, const float* __restrict__ x,
                                           const float* __restrict__ gamma,
                                           const float* __restrict__ beta,
                                           const float* __restrict__ moving_mean,
                                           const float* __restrict__ moving_var, float eps,
                                           float* __restrict__ y) {
  const int64_t total = rows * c;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t ch = i % c;
    const float scale =
        __ldg(gamma + ch) *
        static_cast<float>(1.0 / sqrt(static_cast<double>(__ldg(moving_var + ch)) + eps));
    y[i] = (x[i] - __ldg(moving_mean + ch)) * scale + __ldg(beta + ch);
  }
}

// x, dy, dx are (rows, c); per channel (c): dx = k (rows dy - dbeta - xhat dgamma),
// k = gamma invstd / rows
__global__ void batchnorm_backward_dx_kernel(int64_t rows, int64_t c, const float* __restrict__ x,
                                             const float* __restrict__ dy,
                                             const float* __restrict__ gamma,
                                             const float* __restrict__ mean,
                                             const float* __restrict__ invstd,
                                             const float* __restrict__ dgamma,
                                             const float* __restrict__ dbeta,
                                             float* __restrict__ dx) {
  const int64_t total = rows * c;
  const float frows = static_cast<float>(rows);
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t ch = i % c;
    const float is = __ldg(invstd + ch);
    const float k = __ldg(gamma + ch) * is / frows;
    const float xhat = (x[i] - __ldg(mean + ch)) * is;
    dx[i] = k * (frows * dy[i] - __ldg(dbeta + ch) - xhat * __ldg(dgamma + ch));
  }
}

constexpr int kThreads = 256;

}  // namespace

void batchnorm_forward_train(int64_t rows, int64_t c, const float* x, const float* gamma,
                             const float* beta, float eps, float momentum, float* moving_mean,
                             float* moving_var, float* y, float* save_mean, float* save_invstd,
                             void* stream) {
  if (rows < 0 || c < 0) throw std::invalid_argument("batchnorm_forward_train: negative size");
  if (c == 0) return;
  cudaStream_t s = detail::as_stream(stream);
  if (rows == 0) {  // as the CPU: no statistics, moving averages unchanged
    launch("batchnorm_empty_kernel", batchnorm_empty_kernel,
           detail::grid_stride_blocks(c, kThreads), kThreads, 0, s, c, eps, save_mean, save_invstd);
    return;
  }
  const double drows = static_cast<double>(rows);
  double* mean = static_cast<double*>(detail::device_alloc_async(
      static_cast<size_t>(c) * sizeof(double), s, "batchnorm_forward_train"));
  try {
    colreduce::column_reduce<1>(SumX{x, c}, StoreMean{mean, drows}, rows, c, s,
                                "batchnorm_mean");
    colreduce::column_reduce<1>(
        SumSqDev{x, mean, c},
        FinishStats{mean, drows, eps, momentum, save_mean, save_invstd, moving_mean, moving_var},
        rows, c, s, "batchnorm_var");
  } catch (...) {
    (void)cudaFreeAsync(mean, s);
    throw;
  }
  detail::device_free_async(mean, s, "batchnorm_forward_train");
  launch("batchnorm_normalize_kernel", batchnorm_normalize_kernel,
         detail::grid_stride_blocks(rows * c, kThreads), kThreads, 0, s, rows, c, x, save_mean,
         save_invstd, gamma, beta, y);
}

void batchnorm_forward_inference(int64_t rows, int64_t c, const float* x, const float* gamma,
                                 const float* beta, const float* moving_mean,
                                 const float* moving_var, float eps, float* y, void* stream) {
  if (rows < 0 || c < 0)
    throw std::invalid_argument("batchnorm_forward_inference: negative size");
  if (rows * c == 0) return;
  cudaStream_t s = detail::as_stream(stream);
  launch("batchnorm_inference_kernel", batchnorm_inference_kernel,
         detail::grid_stride_blocks(rows * c, kThreads), kThreads, 0, s, rows, c, x, gamma, beta,
         moving_mean, moving_var, eps, y);
}

void batchnorm_backward(int64_t rows, int64_t c, const float* x, const float* dy,
                        const float* gamma, const float* save_mean, const float* save_invstd,
                        float* dx, float* dgamma, float* dbeta, void* stream) {
  if (rows < 0 || c < 0) throw std::invalid_argument("batchnorm_backward: negative size");
  if (c == 0) return;
  cudaStream_t s = detail::as_stream(stream);
  // rows == 0 gives dgamma = dbeta = 0 (empty sums) and no dx
  colreduce::column_reduce<2>(SumDyXhat{x, dy, save_mean, save_invstd, c},
                              StoreGrads{dgamma, dbeta}, rows, c, s, "batchnorm_backward");
  if (rows == 0) return;
  launch("batchnorm_backward_dx_kernel", batchnorm_backward_dx_kernel,
         detail::grid_stride_blocks(rows * c, kThreads), kThreads, 0, s, rows, c, x, dy, gamma,
         save_mean, save_invstd, dgamma, dbeta, dx);
}

}  // namespace cuda
}  // namespace cudnn_lite
