// activation_math.h: the elementwise activations and their gradients, written once for the
// host and the device compilers. Every caller computes an activation with these functions:
// cpu/activation.cpp (lane-wise in `omp simd` loops), the CPU fused epilogues (cpu/epilogue.h),
// cuda/activation.cu and the CUDA fused epilogues (dense, conv2d, the sgemm tiles of gemm.cuh).
//
//   linear:     y = x;                             dy/dx = 1
//   relu:       y = x > 0 ? x : 0;                 dy/dx = 1 if x > 0 else 0 (0 at x == 0, like TF)
//   leaky_relu: y = x > 0 ? x : alpha x;           dy/dx = 1 if x > 0 else alpha (alpha at x == 0)
//   sigmoid:    from e = exp(-|x|), which neither overflows nor loses the small tail:
//               1 / (1 + e) for x >= 0, e / (1 + e) for x < 0;   gradient y (1 - y) from the output
//   tanh:       odd; |x| < 0.625: |x| + |x| x^2 P(x^2) (Cephes tanhf), else (1 - e) / (1 + e) with
//               e = exp(-2|x|); tanh(-0) = -0;          gradient 1 - y^2 from the output
//   step:       y = x >= 0 ? 1 : 0;                gradient 0 everywhere
// exp here is exp_neg below (Cephes expf). Both are within a few ulp of the float64 results.
// A NaN input gives a NaN output for every activation (relu and step included); NaNs in dy
// flow through the backward as multiplication carries them (except step, whose gradient is a
// hard 0, and relu where x <= 0).
//
// Why the results are the same bits everywhere: every multiply-add that a compiler could
// otherwise contract (or not) is an explicit fmaf, which rounds once on every target (an FMA
// instruction on the host with FMA, the libm function without it, the device's fma). What
// remains is +, -, *, / and comparisons in IEEE-754 binary32 with round-to-nearest, integer
// conversions and bit casts, identical on the host, in SIMD lanes and on the device; the only
// product that still meets an addition is exp_neg's result e = (p 2^n1) 2^n2 in 1 +- e, and
// multiplying by a power of two is exact (or e < 2^-126 and 1 +- e rounds to 1), so contracting
// it cannot change a bit. Nothing here may be built with fast-math (-ffast-math,
// --use_fast_math, -ftz=true, approximate division): those change the results.
#pragma once

#include <math.h>  // fmaf, fabsf, copysignf: global, as CUDA's device maths is

#include <cstdint>
#include <cstring>

#include "common/host_device.h"
#include "cudnn_lite.h"

namespace cudnn_lite {

// the float whose bits are i
CL_HOST_DEVICE float float_from_bits(int32_t i) {
#if defined(__CUDA_ARCH__)
  return __int_as_float(i);
#else
  float f;
  std::memcpy(&f, &i, sizeof f);
  return f;
#endif
}

// e^t for t in [-104, 0] (callers clamp; not NaN): Cephes expf as straight-line code, so `omp
// simd` loops vectorise it. n = round(t / ln 2) by the 1.5 * 2^23 trick (floor does not
// vectorise); 2^n is applied in two halves so results down in the subnormal range stay right.
CL_HOST_DEVICE float exp_neg(float t) {
  const float fn = fmaf(t, 1.44269504088896341f, 12582912.0f) - 12582912.0f;
  float r = fmaf(-fn, 0.693359375f, t);  // t - n ln 2, ln 2 in two parts (the first exact in n)
  r = fmaf(-fn, -2.12194440e-4f, r);
  float p = 1.9875691500e-4f;
  p = fmaf(p, r, 1.3981999507e-3f);
  p = fmaf(p, r, 8.3334519073e-3f);
  p = fmaf(p, r, 4.1665795894e-2f);
  p = fmaf(p, r, 1.6666665459e-1f);
  p = fmaf(p, r, 5.0000001201e-1f);
  p = fmaf(p * r, r, r) + 1.0f;
  const int32_t n = static_cast<int32_t>(fn);
  const int32_t n1 = n / 2, n2 = n - n1;
  return p * float_from_bits((n1 + 127) << 23) * float_from_bits((n2 + 127) << 23);
}

// t clamped to [-104, 0]; NaN -> 0 (callers return NaN for a NaN input themselves)
CL_HOST_DEVICE float clamp_neg(float t) { return t > -104.0f ? t : (t != t ? 0.0f : -104.0f); }

CL_HOST_DEVICE float sigmoid_value(float x) {
  const float e = exp_neg(clamp_neg(-fabsf(x)));
  const float r = 1.0f / (1.0f + e);
  const float y = x >= 0.0f ? r : e * r;
  return x != x ? x : y;
}

CL_HOST_DEVICE float tanh_value(float x) {
  const float ax = fabsf(x);
  const float z = x * x;
  float p = -5.70498872745e-3f;
  p = fmaf(p, z, 2.06390887954e-2f);
  p = fmaf(p, z, -5.37397155531e-2f);
  p = fmaf(p, z, 1.33314422036e-1f);
  p = fmaf(p, z, -3.33332819422e-1f);
  const float small = fmaf(p * z, ax, ax);
  const float e = exp_neg(clamp_neg(-2.0f * ax));
  const float large = (1.0f - e) / (1.0f + e);
  const float y = copysignf(ax < 0.625f ? small : large, x);  // tanh(-0) = -0
  return x != x ? x : y;
}

// y = act(x); alpha is the leaky_relu slope. With a constant `act` (a template argument, or a
// switch hoisted out of the loop) the switch folds away and the loop vectorises.
CL_HOST_DEVICE float activation_value(Activation act, float alpha, float x) {
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

// dx from x (the forward input: relu, leaky_relu), y (the forward output: sigmoid, tanh) and dy
CL_HOST_DEVICE float activation_grad(Activation act, float alpha, float x, float y, float dy) {
  switch (act) {
    case Activation::linear: return dy;
    case Activation::relu: return x > 0.0f ? dy : 0.0f;
    case Activation::sigmoid: return dy * y * (1.0f - y);
    case Activation::tanh: return dy * fmaf(-y, y, 1.0f);
    case Activation::leaky_relu: return x > 0.0f ? dy : alpha * dy;
    case Activation::step: return 0.0f;
  }
  return dy;
}

}  // namespace cudnn_lite
