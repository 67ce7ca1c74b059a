// optimizer.cu: one Keras 3 optimizer step on one parameter array, in place,
// in a single fused elementwise kernel (rules above struct OptimizerStep in
// cudnn_lite.h; same float expressions as csrc/cpu/optimizer.cpp).
// g = grad + 2 l2 param. The slots each rule uses are optimizer_slots() of cudnn_lite.h.
#include <cuda_runtime.h>

#include <string>

#include "cuda/check.cuh"
#include "cuda/launch.cuh"
#include "cudnn_lite.h"

namespace cudnn_lite {
namespace cuda {

namespace {

// param, grad, slot1, slot2 are (n); the switch is uniform across the grid
__global__ void optimizer_update_kernel(OptimizerStep s, int64_t n, float* __restrict__ param,
                                        const float* __restrict__ grad,
                                        float* __restrict__ slot1, float* __restrict__ slot2) {
  const float lr = s.lr, eps = s.epsilon, l2x2 = 2.0f * s.l2;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const float p = param[i];
    const float g = grad[i] + l2x2 * p;
    switch (s.kind) {
      case Optimizer::sgd: {
        if (s.momentum == 0.0f) {
          param[i] = p - lr * g;
        } else {
          const float m = s.momentum * slot1[i] - lr * g;
          slot1[i] = m;
          param[i] = p + (s.nesterov ? s.momentum * m - lr * g : m);
        }
        break;
      }
      case Optimizer::adagrad: {
        const float a = slot1[i] + g * g;
        slot1[i] = a;
        param[i] = p - lr * g / sqrtf(a + eps);
        break;
      }
      case Optimizer::rmsprop: {
        const float v = s.rho * slot1[i] + (1.0f - s.rho) * g * g;
        slot1[i] = v;
        if (s.momentum == 0.0f) {
          param[i] = p - lr * g / sqrtf(v + eps);
        } else {
          const float m = s.momentum * slot2[i] + lr * g / sqrtf(v + eps);
          slot2[i] = m;
          param[i] = p - m;
        }
        break;
      }
      case Optimizer::adadelta: {
        const float ag = s.rho * slot1[i] + (1.0f - s.rho) * g * g;
        slot1[i] = ag;
        const float s2 = slot2[i];
        const float d = sqrtf(s2 + eps) / sqrtf(ag + eps) * g;
        slot2[i] = s.rho * s2 + (1.0f - s.rho) * d * d;
        param[i] = p - lr * d;
        break;
      }
      case Optimizer::adam: {
        const float m0 = slot1[i], v0 = slot2[i];
        const float m = m0 + (g - m0) * (1.0f - s.beta1);
        const float v = v0 + (g * g - v0) * (1.0f - s.beta2);
        slot1[i] = m;
        slot2[i] = v;
        param[i] = p - (m * s.c1) / (sqrtf(v) + eps);
        break;
      }
      case Optimizer::nadam: {
        const float m0 = slot1[i], v0 = slot2[i];
        const float m = m0 + (g - m0) * (1.0f - s.beta1);
        const float v = v0 + (g * g - v0) * (1.0f - s.beta2);
        slot1[i] = m;
        slot2[i] = v;
        const float m_hat = s.c1 * m + s.c2 * g;
        const float v_hat = s.c3 * v;
        param[i] = p - (m_hat * lr) / (sqrtf(v_hat) + eps);
        break;
      }
    }
  }
}

}  // namespace

void optimizer_update(const OptimizerStep& s, int64_t n, float* param, const float* grad,
                      float* slot1, float* slot2, void* stream) {
  check_optimizer_step(s, slot1, slot2);
  if (n < 0) throw std::invalid_argument("optimizer_update: negative size");
  if (n == 0) return;
  launch("optimizer_update_kernel", optimizer_update_kernel, detail::grid_stride_blocks(n, 256),
         256, 0, detail::as_stream(stream), s, n, param, grad, slot1, slot2);
}

}  // namespace cuda
}  // namespace cudnn_lite
