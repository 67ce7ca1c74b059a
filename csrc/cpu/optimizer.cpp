// optimizer.cpp: one Keras 3 optimizer step on one parameter array, in place.
//
// param, grad, slot1, slot2 are (n). The rules are the ones written above
// struct OptimizerStep in cudnn_lite.h; the L2 term is folded into the
// gradient first, g = grad + 2 l2 param. The slots each rule uses are
// optimizer_slots() of cudnn_lite.h; a missing one is std::invalid_argument.
// Each rule is its own loop: vectorised, and split across threads for large n.
#include <cmath>
#include <string>

#include "cudnn_lite.h"
#include "cpu/parallel.h"  // rows_per_chunk, kChunkElements: shape-fixed dynamic chunks

namespace cudnn_lite {
namespace cpu {

// param, grad, slot1, slot2 (n)
void optimizer_update(const OptimizerStep& s, int64_t n, float* param, const float* grad,
                      float* slot1, float* slot2) {
  check_optimizer_step(s, slot1, slot2);
  const float lr = s.lr, eps = s.epsilon, l2x2 = 2.0f * s.l2;
  switch (s.kind) {
    case Optimizer::sgd: {
      if (s.momentum == 0.0f) {
#pragma omp parallel for simd schedule(dynamic, kChunkElements) if (n > 32768)
        for (int64_t i = 0; i < n; ++i) {
          const float g = grad[i] + l2x2 * param[i];
          param[i] -= lr * g;
        }
        return;
      }
      const float mu = s.momentum;
      if (s.nesterov) {
#pragma omp parallel for simd schedule(dynamic, kChunkElements) if (n > 32768)
        for (int64_t i = 0; i < n; ++i) {
          const float g = grad[i] + l2x2 * param[i];
          const float m = mu * slot1[i] - lr * g;
          slot1[i] = m;
          param[i] += mu * m - lr * g;
        }
      } else {
#pragma omp parallel for simd schedule(dynamic, kChunkElements) if (n > 32768)
        for (int64_t i = 0; i < n; ++i) {
          const float g = grad[i] + l2x2 * param[i];
          const float m = mu * slot1[i] - lr * g;
          slot1[i] = m;
          param[i] += m;
        }
      }
      return;
    }
    case Optimizer::adagrad: {
#pragma omp parallel for simd schedule(dynamic, kChunkElements) if (n > 32768)
      for (int64_t i = 0; i < n; ++i) {
        const float g = grad[i] + l2x2 * param[i];
        const float a = slot1[i] + g * g;
        slot1[i] = a;
        param[i] -= lr * g / std::sqrt(a + eps);
      }
      return;
    }
    case Optimizer::rmsprop: {
      const float rho = s.rho, mu = s.momentum;
      if (mu == 0.0f) {
#pragma omp parallel for simd schedule(dynamic, kChunkElements) if (n > 32768)
        for (int64_t i = 0; i < n; ++i) {
          const float g = grad[i] + l2x2 * param[i];
          const float v = rho * slot1[i] + (1.0f - rho) * g * g;
          slot1[i] = v;
          param[i] -= lr * g / std::sqrt(v + eps);
        }
      } else {
#pragma omp parallel for simd schedule(dynamic, kChunkElements) if (n > 32768)
        for (int64_t i = 0; i < n; ++i) {
          const float g = grad[i] + l2x2 * param[i];
          const float v = rho * slot1[i] + (1.0f - rho) * g * g;
          slot1[i] = v;
          const float m = mu * slot2[i] + lr * g / std::sqrt(v + eps);
          slot2[i] = m;
          param[i] -= m;
        }
      }
      return;
    }
    case Optimizer::adadelta: {
      const float rho = s.rho;
#pragma omp parallel for simd schedule(dynamic, kChunkElements) if (n > 32768)
      for (int64_t i = 0; i < n; ++i) {
        const float g = grad[i] + l2x2 * param[i];
        const float ag = rho * slot1[i] + (1.0f - rho) * g * g;
        slot1[i] = ag;
        const float d = std::sqrt(slot2[i] + eps) / std::sqrt(ag + eps) * g;
        slot2[i] = rho * slot2[i] + (1.0f - rho) * d * d;
        param[i] -= lr * d;
      }
      return;
    }
    case Optimizer::adam: {
      const float b1 = 1.0f - s.beta1, b2 = 1.0f - s.beta2, c1 = s.c1;
#pragma omp parallel for simd schedule(dynamic, kChunkElements) if (n > 32768)
      for (int64_t i = 0; i < n; ++i) {
        const float g = grad[i] + l2x2 * param[i];
        const float m = slot1[i] + (g - slot1[i]) * b1;
        const float v = slot2[i] + (g * g - slot2[i]) * b2;
        slot1[i] = m;
        slot2[i] = v;
        param[i] -= (m * c1) / (std::sqrt(v) + eps);
      }
      return;
    }
    case Optimizer::nadam: {
      const float b1 = 1.0f - s.beta1, b2 = 1.0f - s.beta2;
      const float c1 = s.c1, c2 = s.c2, c3 = s.c3;
#pragma omp parallel for simd schedule(dynamic, kChunkElements) if (n > 32768)
      for (int64_t i = 0; i < n; ++i) {
        const float g = grad[i] + l2x2 * param[i];
        const float m = slot1[i] + (g - slot1[i]) * b1;
        const float v = slot2[i] + (g * g - slot2[i]) * b2;
        slot1[i] = m;
        slot2[i] = v;
        const float m_hat = c1 * m + c2 * g;
        const float v_hat = c3 * v;
        param[i] -= (m_hat * lr) / (std::sqrt(v_hat) + eps);
      }
      return;
    }
  }
  throw std::invalid_argument("optimizer_update: unknown optimizer " +
                              std::to_string(static_cast<int>(s.kind)));
}

}  // namespace cpu
}  // namespace cudnn_lite
