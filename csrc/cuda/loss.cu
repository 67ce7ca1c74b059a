// loss.cu: the four Keras losses on probabilities and their gradients, with
// the numerics of csrc/cpu/loss.cpp (row sums in double, float32 clip bounds
// eps = 1e-7 and 1 - eps = 0.99999988f, gradient passed where
// eps <= value <= 1 - eps, TensorFlow's clip_by_value rule).
//   loss_forward_kernel:  one warp per row -> loss_per_row
//   loss_backward_kernel: one warp per row (categorical needs two row sums)
//   softmax_cross_entropy_backward_kernel: elementwise (p - t) / rows
#include <cuda_runtime.h>

#include "cuda/check.cuh"
#include "cuda/launch.cuh"
#include "cuda/reduce.cuh"
#include "cudnn_lite.h"

namespace cudnn_lite {
namespace cuda {

namespace {

constexpr int kRowsPerBlock = 8;  // warps per block, one row each
constexpr float kLo = kLossEpsilon;
constexpr float kHi = 1.0f - kLossEpsilon;

__device__ __forceinline__ float clip(float v) { return v < kLo ? kLo : (v > kHi ? kHi : v); }
__device__ __forceinline__ bool inside(float v) { return v >= kLo && v <= kHi; }

// p, t are (rows, cols), loss_per_row is (rows)
__global__ void loss_forward_kernel(Loss loss, int64_t rows, int64_t cols,
                                    const float* __restrict__ p, const float* __restrict__ t,
                                    float* __restrict__ loss_per_row) {
  const int lane = threadIdx.x & 31;
  const int64_t warp = static_cast<int64_t>(blockIdx.x) * kRowsPerBlock + (threadIdx.x >> 5);
  const int64_t warps = static_cast<int64_t>(gridDim.x) * kRowsPerBlock;
  const double inv_cols = cols > 0 ? 1.0 / static_cast<double>(cols) : 0.0;
  for (int64_t r = warp; r < rows; r += warps) {
    const float* pr = p + r * cols;
    const float* tr = t + r * cols;
    double acc = 0.0;
    switch (loss) {
      case Loss::categorical_crossentropy: {
        double s = 0.0;
        for (int64_t j = lane; j < cols; j += 32) s += pr[j];
        const float sf = static_cast<float>(warp_sum(s));
        for (int64_t j = lane; j < cols; j += 32)
          acc -= static_cast<double>(tr[j]) * log(static_cast<double>(clip(pr[j] / sf)));
        break;
      }
      case Loss::binary_crossentropy: {
        for (int64_t j = lane; j < cols; j += 32) {
          const double q = clip(pr[j]);
          const double tj = tr[j];
          acc -= tj * log(q) + (1.0 - tj) * log(1.0 - q);
        }
        break;
      }
      case Loss::mse: {
        for (int64_t j = lane; j < cols; j += 32) {
          const double e = static_cast<double>(pr[j]) - tr[j];
          acc += e * e;
        }
        break;
      }
      case Loss::mae: {
        for (int64_t j = lane; j < cols; j += 32)
          acc += fabs(static_cast<double>(pr[j]) - tr[j]);
        break;
      }
    }
    acc = warp_sum(acc);
    if (loss != Loss::categorical_crossentropy) acc *= inv_cols;
    if (lane == 0) loss_per_row[r] = static_cast<float>(acc);
  }
}

// p, t, dp are (rows, cols): dp = d mean_rows(loss) / dp
__global__ void loss_backward_kernel(Loss loss, int64_t rows, int64_t cols,
                                     const float* __restrict__ p, const float* __restrict__ t,
                                     float* __restrict__ dp, float inv_rows, float scale) {
  const int lane = threadIdx.x & 31;
  const int64_t warp = static_cast<int64_t>(blockIdx.x) * kRowsPerBlock + (threadIdx.x >> 5);
  const int64_t warps = static_cast<int64_t>(gridDim.x) * kRowsPerBlock;
  for (int64_t r = warp; r < rows; r += warps) {
    const float* pr = p + r * cols;
    const float* tr = t + r * cols;
    float* dr = dp + r * cols;
    switch (loss) {
      case Loss::categorical_crossentropy: {
        // q = p / s; g_j = -t_j / q_j inside the clip range else 0;
        // dL/dp_k = (g_k - sum_j g_j q_j) / s, times 1 / rows
        double s = 0.0;
        for (int64_t j = lane; j < cols; j += 32) s += pr[j];
        const float sf = static_cast<float>(warp_sum(s));
        double gq = 0.0;
        for (int64_t j = lane; j < cols; j += 32) {
          const float q = pr[j] / sf;
          const float g = inside(q) ? -tr[j] / q : 0.0f;
          gq += static_cast<double>(g) * q;
        }
        const float sub = static_cast<float>(warp_sum(gq));
        const float k = inv_rows / sf;
        for (int64_t j = lane; j < cols; j += 32) {
          const float q = pr[j] / sf;
          const float g = inside(q) ? -tr[j] / q : 0.0f;
          dr[j] = (g - sub) * k;
        }
        break;
      }
      case Loss::binary_crossentropy: {
        for (int64_t j = lane; j < cols; j += 32) {
          const float q = pr[j];
          const float g = (1.0f - tr[j]) / (1.0f - q) - tr[j] / q;
          dr[j] = inside(q) ? g * scale : 0.0f;
        }
        break;
      }
      case Loss::mse: {
        const float k = 2.0f * scale;
        for (int64_t j = lane; j < cols; j += 32) dr[j] = (pr[j] - tr[j]) * k;
        break;
      }
      case Loss::mae: {
        for (int64_t j = lane; j < cols; j += 32) {
          const float e = pr[j] - tr[j];
          dr[j] = e > 0.0f ? scale : (e < 0.0f ? -scale : 0.0f);
        }
        break;
      }
    }
  }
}

// p, t, dlogits are (n = rows * cols): dlogits = (p - t) * (1 / rows)
__global__ void softmax_cross_entropy_backward_kernel(int64_t n, const float* __restrict__ p,
                                                      const float* __restrict__ t,
                                                      float* __restrict__ dlogits,
                                                      float inv_rows) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    dlogits[i] = (p[i] - t[i]) * inv_rows;
}

void check_loss(Loss loss, const char* what) {
  if (!enum_valid(loss))
    throw std::invalid_argument(std::string(what) + ": unknown loss " +
                                std::to_string(static_cast<int>(loss)));
}

unsigned warp_row_blocks(int64_t rows) {
  int64_t b = (rows + kRowsPerBlock - 1) / kRowsPerBlock;
  const int64_t cap = static_cast<int64_t>(detail::sm_count()) * 64;
  if (b > cap) b = cap;
  return static_cast<unsigned>(b < 1 ? 1 : b);
}

}  // namespace

void loss_forward(Loss loss, int64_t rows, int64_t cols, const float* p, const float* t,
                  float* loss_per_row, void* stream) {
  check_loss(loss, "loss_forward");
  if (rows < 0 || cols < 0) throw std::invalid_argument("loss_forward: negative size");
  if (rows == 0) return;
  launch("loss_forward_kernel", loss_forward_kernel, warp_row_blocks(rows), kRowsPerBlock * 32, 0,
         detail::as_stream(stream), loss, rows, cols, p, t, loss_per_row);
}

void loss_backward(Loss loss, int64_t rows, int64_t cols, const float* p, const float* t,
                   float* dp, void* stream) {
  check_loss(loss, "loss_backward");
  if (rows < 0 || cols < 0) throw std::invalid_argument("loss_backward: negative size");
  if (rows == 0 || cols == 0) return;
  const float inv_rows = 1.0f / static_cast<float>(rows);
  const float scale = inv_rows / static_cast<float>(cols);  // 1 / (rows cols), as the CPU
  launch("loss_backward_kernel", loss_backward_kernel, warp_row_blocks(rows), kRowsPerBlock * 32, 0,
         detail::as_stream(stream), loss, rows, cols, p, t, dp, inv_rows, scale);
}

void softmax_cross_entropy_backward(int64_t rows, int64_t cols, const float* p, const float* t,
                                    float* dlogits, void* stream) {
  if (rows < 0 || cols < 0)
    throw std::invalid_argument("softmax_cross_entropy_backward: negative size");
  const int64_t n = rows * cols;
  if (n == 0) return;
  const float inv_rows = 1.0f / static_cast<float>(rows);
  launch("softmax_cross_entropy_backward_kernel", softmax_cross_entropy_backward_kernel,
         detail::grid_stride_blocks(n, 256), 256, 0, detail::as_stream(stream), n, p, t, dlogits,
         inv_rows);
}

}  // namespace cuda
}  // namespace cudnn_lite
