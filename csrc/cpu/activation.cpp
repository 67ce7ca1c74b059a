// activation.cpp: elementwise activations and their gradients.
//
// Conventions (shared with the CUDA kernels and cudnn_lite/reference.py):
//   relu:       y = x > 0 ? x : 0;   dy/dx = 1 if x > 0 else 0 (0 at x == 0, like TF)
//   leaky_relu: y = x > 0 ? x : alpha x; dy/dx = 1 if x > 0 else alpha (alpha at x == 0)
//   sigmoid:    computed from e = exp(-|x|) so it neither overflows nor loses the
//               small tail: 1 / (1 + e) for x >= 0, e / (1 + e) for x < 0
//   tanh:       odd; |x| < 0.625: x + x^3 P(x^2) (Cephes tanhf), else (1 - e) / (1 + e),
//               e = exp(-2|x|); gradient 1 - y^2 from the forward output
//               exp here is exp_neg below (Cephes expf, vectorisable, ~1 ulp; both
//               functions are within a few ulp of the float64 results)
//   step:       y = x >= 0 ? 1 : 0; gradient 0 everywhere
// A NaN input gives a NaN output for every activation (relu and step included);
// NaNs in dy flow through the backward as multiplication would carry them
// (except step, whose gradient is a hard 0, and relu where x <= 0).
#include <cmath>
#include <cstdint>

#include "cudnn_lite.h"

namespace cudnn_lite {
namespace cpu {

namespace {

// e^t for t <= 0 (t >= -104 and not NaN; callers clamp): Cephes expf written as
// straight-line code so `omp simd` loops vectorise it. 2^n is applied in two
// halves so results down in the subnormal range stay right.
inline float exp_neg(float t) {
  // n = round(t / ln 2) by the 1.5 * 2^23 trick (std::floor does not vectorise here)
  const float fn = (t * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  const float r = (t - fn * 0.693359375f) - fn * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const int32_t n = static_cast<int32_t>(fn);
  const int32_t n1 = n / 2, n2 = n - n1;
  const float s1 = __builtin_bit_cast(float, (n1 + 127) << 23);  // 2^n1
  const float s2 = __builtin_bit_cast(float, (n2 + 127) << 23);  // 2^n2
  return p * s1 * s2;
}

// t clamped to [-104, 0]; NaN -> 0 (callers return NaN for a NaN input themselves)
inline float clamp_neg(float t) { return t > -104.0f ? t : (t != t ? 0.0f : -104.0f); }

inline float sigmoid_value(float x) {
  const float e = exp_neg(clamp_neg(-std::fabs(x)));
  const float r = 1.0f / (1.0f + e);
  const float y = x >= 0.0f ? r : e * r;
  return x != x ? x : y;
}

inline float tanh_value(float x) {
  const float ax = std::fabs(x);
  const float z = x * x;
  float p = -5.70498872745e-3f;
  p = p * z + 2.06390887954e-2f;
  p = p * z - 5.37397155531e-2f;
  p = p * z + 1.33314422036e-1f;
  p = p * z - 3.33332819422e-1f;
  const float small = p * z * ax + ax;
  const float e = exp_neg(clamp_neg(-2.0f * ax));
  const float large = (1.0f - e) / (1.0f + e);
  const float y = std::copysign(ax < 0.625f ? small : large, x);  // tanh(-0) = -0
  return x != x ? x : y;
}

inline float act_value(Activation act, float alpha, float x) {
  switch (act) {
    case Activation::linear: return x;
    case Activation::relu: return x > 0.0f ? x : (x != x ? x : 0.0f);
    case Activation::sigmoid: return sigmoid_value(x);
    case Activation::tanh: return tanh_value(x);
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
