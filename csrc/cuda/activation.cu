// activation.cu: elementwise activations and their gradients (n elements).
//   *_kernel1: scalar grid-stride loop (reference, and unaligned pointers)
//   *_kernel2: float4 grid-stride loop over n / 4 vectors, the n % 4 tail in scalar
// The per-element math is activation_value / activation_grad of csrc/common/activation_math.h,
// the functions the CPU kernels and every fused epilogue use: the same bits for the same input.
#include <cuda_runtime.h>

#include "common/activation_math.h"
#include "cuda/check.cuh"
#include "cuda/launch.cuh"
#include "cudnn_lite.h"

namespace cudnn_lite {
namespace cuda {

namespace {

constexpr int kThreads = 256;

// x, y are (n)
__global__ void activation_forward_kernel1(Activation act, float alpha, int64_t n,
                                           const float* __restrict__ x, float* __restrict__ y) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    y[i] = activation_value(act, alpha, x[i]);
}

// x, y are (n), 16-byte aligned
__global__ void activation_forward_kernel2(Activation act, float alpha, int64_t n,
                                           const float* __restrict__ x, float* __restrict__ y) {
  const int64_t n4 = n / 4;
  const int64_t start = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  const float4* x4 = reinterpret_cast<const float4*>(x);
  float4* y4 = reinterpret_cast<float4*>(y);
  for (int64_t i = start; i < n4; i += step) {
    const float4 v = __ldg(x4 + i);
    y4[i] = make_float4(activation_value(act, alpha, v.x), activation_value(act, alpha, v.y),
                        activation_value(act, alpha, v.z), activation_value(act, alpha, v.w));
  }
  for (int64_t i = n4 * 4 + start; i < n; i += step) y[i] = activation_value(act, alpha, x[i]);
}

// x (forward input, read when need_x), y (forward output, read when need_y), dy, dx are (n)
__global__ void activation_backward_kernel1(Activation act, float alpha, int64_t n,
                                            const float* __restrict__ x,
                                            const float* __restrict__ y,
                                            const float* __restrict__ dy,
                                            float* __restrict__ dx, bool need_x, bool need_y) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const float xv = need_x ? x[i] : 0.0f;
    const float yv = need_y ? y[i] : 0.0f;
    dx[i] = activation_grad(act, alpha, xv, yv, dy[i]);
  }
}

// as kernel1, float4 (all used pointers 16-byte aligned)
__global__ void activation_backward_kernel2(Activation act, float alpha, int64_t n,
                                            const float* __restrict__ x,
                                            const float* __restrict__ y,
                                            const float* __restrict__ dy,
                                            float* __restrict__ dx, bool need_x, bool need_y) {
  const int64_t n4 = n / 4;
  const int64_t start = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  const float4 zero = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
  for (int64_t i = start; i < n4; i += step) {
    const float4 xv = need_x ? __ldg(reinterpret_cast<const float4*>(x) + i) : zero;
    const float4 yv = need_y ? __ldg(reinterpret_cast<const float4*>(y) + i) : zero;
    const float4 g = __ldg(reinterpret_cast<const float4*>(dy) + i);
    reinterpret_cast<float4*>(dx)[i] = make_float4(activation_grad(act, alpha, xv.x, yv.x, g.x),
                                                   activation_grad(act, alpha, xv.y, yv.y, g.y),
                                                   activation_grad(act, alpha, xv.z, yv.z, g.z),
                                                   activation_grad(act, alpha, xv.w, yv.w, g.w));
  }
  for (int64_t i = n4 * 4 + start; i < n; i += step) {
    const float xv = need_x ? x[i] : 0.0f;
    const float yv = need_y ? y[i] : 0.0f;
    dx[i] = activation_grad(act, alpha, xv, yv, dy[i]);
  }
}

bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15u) == 0; }

void check_act(Activation act, const char* what) {
  if (!enum_valid(act))
    throw std::invalid_argument(std::string(what) + ": unknown activation " +
                                std::to_string(static_cast<int>(act)));
}

}  // namespace

void activation_forward(Activation act, float alpha, int64_t n, const float* x, float* y,
                        void* stream) {
  check_act(act, "activation_forward");
  if (n <= 0) return;
  cudaStream_t s = detail::as_stream(stream);
  if (!detail::force_simple_kernels() && aligned16(x) && aligned16(y)) {
    launch("activation_forward_kernel2", activation_forward_kernel2,
           detail::grid_stride_blocks(n / 4 + 1, kThreads), kThreads, 0, s, act, alpha, n, x, y);
    return;
  }
  launch("activation_forward_kernel1", activation_forward_kernel1,
         detail::grid_stride_blocks(n, kThreads), kThreads, 0, s, act, alpha, n, x, y);
}

void activation_backward(Activation act, float alpha, int64_t n, const float* x, const float* y,
                         const float* dy, float* dx, void* stream) {
  check_act(act, "activation_backward");
  if (n <= 0) return;
  cudaStream_t s = detail::as_stream(stream);
  const bool need_x = act == Activation::relu || act == Activation::leaky_relu;
  const bool need_y = act == Activation::sigmoid || act == Activation::tanh;
  const bool aligned = aligned16(dy) && aligned16(dx) && (!need_x || aligned16(x)) &&
                       (!need_y || aligned16(y));
  if (!detail::force_simple_kernels() && aligned) {
    launch("activation_backward_kernel2", activation_backward_kernel2,
           detail::grid_stride_blocks(n / 4 + 1, kThreads), kThreads, 0, s, act, alpha, n, x, y, dy,
           dx, need_x, need_y);
    return;
  }
  launch("activation_backward_kernel1", activation_backward_kernel1,
         detail::grid_stride_blocks(n, kThreads), kThreads, 0, s, act, alpha, n, x, y, dy, dx,
         need_x, need_y);
}

}  // namespace cuda
}  // namespace cudnn_lite
