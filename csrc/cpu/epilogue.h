// epilogue.h: the fused "bias + activation" epilogue that producer ops (dense_forward,
// conv2d_forward, sgemm tiles) apply to each output row while it is still hot in cache.
// Header-only so every CPU kernel can reuse it. The activation is activation_value of
// csrc/common/activation_math.h, the function activation_forward applies, so a fused
// activation gives the bits of the producer's linear output followed by activation_forward.
#pragma once

#include <cstdint>

#include "common/activation_math.h"
#include "cudnn_lite.h"

namespace cudnn_lite {
namespace cpu {

// y (cols) = act(y) for a constant act: each lane computes exactly the scalar function
template <Activation A>
inline void activation_row(float* y, int64_t cols, float alpha) {
#pragma omp simd
  for (int64_t j = 0; j < cols; ++j) y[j] = activation_value(A, alpha, y[j]);
}

// y is (cols), bias is (cols) or nullptr: y[j] = act(y[j] + bias[j]).
// The switch sits outside the loops so they vectorise.
static inline void apply_epilogue_row(float* y, int64_t cols, const float* bias, Activation act,
                                      float alpha) {
  if (bias) {
    for (int64_t j = 0; j < cols; ++j) y[j] += bias[j];
  }
  switch (act) {
    case Activation::linear: break;
    case Activation::relu: activation_row<Activation::relu>(y, cols, alpha); break;
    case Activation::leaky_relu: activation_row<Activation::leaky_relu>(y, cols, alpha); break;
    case Activation::step: activation_row<Activation::step>(y, cols, alpha); break;
    case Activation::sigmoid: activation_row<Activation::sigmoid>(y, cols, alpha); break;
    case Activation::tanh: activation_row<Activation::tanh>(y, cols, alpha); break;
  }
}

// True when the epilogue does nothing (no bias, linear activation).
static inline bool epilogue_is_identity(const Epilogue& ep) {
  return ep.bias == nullptr && ep.act == Activation::linear;
}

}  // namespace cpu
}  // namespace cudnn_lite
