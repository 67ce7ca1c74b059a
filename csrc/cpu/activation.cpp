// activation.cpp: elementwise activations and their gradients.
//
// Conventions (shared with the CUDA kernels and cudnn_lite/reference.py):
//   relu:       y = x > 0 ? x : 0;   dy/dx = 1 if x > 0 else 0 (0 at x == 0, like TF)
//   leaky_relu: y = x > 0 ? x : alpha x; dy/dx = 1 if x > 0 else alpha (alpha at x == 0)
//   sigmoid:    computed from exp(-|x|) so it neither overflows nor loses the
//               small tail: 1 / (1 + e) for x >= 0, e / (1 + e) for x < 0
//   tanh:       std::tanh; gradient 1 - y^2 from the forward output
//   step:       y = x >= 0 ? 1 : 0; gradient 0 everywhere
// A NaN input gives a NaN output for every activation (relu and step included);
// NaNs in dy flow through the backward as multiplication would carry them
// (except step, whose gradient is a hard 0, and relu where x <= 0).
#include <cmath>

#include "cudnn_lite.h"

namespace cudnn_lite {
namespace cpu {

namespace {

inline float act_value(Activation act, float alpha, float x) {
  switch (act) {
    case Activation::linear: return x;
    case Activation::relu: return x > 0.0f ? x : (x != x ? x : 0.0f);
    case Activation::sigmoid: {
      const float e = std::exp(-std::fabs(x));
      const float r = 1.0f / (1.0f + e);
      return x >= 0.0f ? r : e * r;
    }
    case Activation::tanh: return std::tanh(x);
    case Activation::leaky_relu: return x > 0.0f ? x : alpha * x;
    case Activation::step: return x >= 0.0f ? 1.0f : (x != x ? x : 0.0f);
  }
  return x;
}

// per-activation loops: the switch is hoisted out so each inner loop vectorises
template <Activation A>
void forward_loop(float alpha, int64_t n, const float* x, float* y) {
#pragma omp parallel for simd schedule(static) if (n > 32768)
  for (int64_t i = 0; i < n; ++i) y[i] = act_value(A, alpha, x[i]);
}

}  // namespace

// x, y (n)
void activation_forward(Activation act, float alpha, int64_t n, const float* x, float* y) {
  switch (act) {
    case Activation::linear: forward_loop<Activation::linear>(alpha, n, x, y); return;
    case Activation::relu: forward_loop<Activation::relu>(alpha, n, x, y); return;
    case Activation::sigmoid: forward_loop<Activation::sigmoid>(alpha, n, x, y); return;
    case Activation::tanh: forward_loop<Activation::tanh>(alpha, n, x, y); return;
    case Activation::leaky_relu: forward_loop<Activation::leaky_relu>(alpha, n, x, y); return;
    case Activation::step: forward_loop<Activation::step>(alpha, n, x, y); return;
  }
  throw std::invalid_argument("activation_forward: unknown activation " +
                              std::to_string(static_cast<int>(act)));
}

// x (forward input), y (forward output), dy, dx (n); relu/leaky_relu read x,
// sigmoid/tanh read y, linear/step read neither (they may be nullptr there)
void activation_backward(Activation act, float alpha, int64_t n, const float* x, const float* y,
                         const float* dy, float* dx) {
  switch (act) {
    case Activation::linear:
#pragma omp parallel for simd schedule(static) if (n > 32768)
      for (int64_t i = 0; i < n; ++i) dx[i] = dy[i];
      return;
    case Activation::relu:
#pragma omp parallel for simd schedule(static) if (n > 32768)
      for (int64_t i = 0; i < n; ++i) dx[i] = x[i] > 0.0f ? dy[i] : 0.0f;
      return;
    case Activation::sigmoid:
#pragma omp parallel for simd schedule(static) if (n > 32768)
      for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * y[i] * (1.0f - y[i]);
      return;
    case Activation::tanh:
#pragma omp parallel for simd schedule(static) if (n > 32768)
      for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * (1.0f - y[i] * y[i]);
      return;
    case Activation::leaky_relu:
#pragma omp parallel for simd schedule(static) if (n > 32768)
      for (int64_t i = 0; i < n; ++i) dx[i] = x[i] > 0.0f ? dy[i] : alpha * dy[i];
      return;
    case Activation::step:
#pragma omp parallel for simd schedule(static) if (n > 32768)
      for (int64_t i = 0; i < n; ++i) dx[i] = 0.0f;
      return;
  }
  throw std::invalid_argument("activation_backward: unknown activation " +
                              std::to_string(static_cast<int>(act)));
}

}  // namespace cpu
}  // namespace cudnn_lite
