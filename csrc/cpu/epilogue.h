// epilogue.h: the per-element activation and the fused "bias + activation"
// epilogue that producer ops (dense_forward, conv2d_forward) apply to each
// output row while it is still hot in cache. Header-only so every CPU kernel
// can reuse it.
#pragma once

#include <cmath>
#include <cstdint>

#include "cudnn_lite.h"

namespace cudnn_lite {
namespace cpu {

// Numerically stable sigmoid: exp(-|x|) never overflows (same expression as
// activation.cpp, so fused and separate activations agree bit for bit).
static inline float stable_sigmoid(float x) {
  const float e = std::exp(-std::fabs(x));
  const float r = 1.0f / (1.0f + e);
  return x >= 0.0f ? r : e * r;
}

// y = act(x); alpha is the leaky_relu slope. A NaN input gives a NaN output
// for every activation (relu and step included), the same rule as
// activation.cpp and the CUDA kernels.
static inline float apply_activation(Activation act, float alpha, float x) {
  switch (act) {
    case Activation::linear: return x;
    case Activation::relu: return x > 0.0f ? x : (x != x ? x : 0.0f);
    case Activation::sigmoid: return stable_sigmoid(x);
    case Activation::tanh: return std::tanh(x);
    case Activation::leaky_relu: return x > 0.0f ? x : alpha * x;
    case Activation::step: return x >= 0.0f ? 1.0f : (x != x ? x : 0.0f);
  }
  return x;
}

// y is (cols), bias is (cols) or nullptr: y[j] = act(y[j] + bias[j]).
// The switch sits outside the loop so the cheap activations vectorise.
static inline void apply_epilogue_row(float* y, int64_t cols, const float* bias, Activation act,
                                      float alpha) {
  if (bias) {
    for (int64_t j = 0; j < cols; ++j) y[j] += bias[j];
  }
  switch (act) {
    case Activation::linear:
      break;
    case Activation::relu:
      for (int64_t j = 0; j < cols; ++j) y[j] = y[j] > 0.0f ? y[j] : (y[j] != y[j] ? y[j] : 0.0f);
      break;
    case Activation::leaky_relu:
      for (int64_t j = 0; j < cols; ++j) y[j] = y[j] > 0.0f ? y[j] : alpha * y[j];
      break;
    case Activation::step:
      for (int64_t j = 0; j < cols; ++j) y[j] = y[j] >= 0.0f ? 1.0f : (y[j] != y[j] ? y[j] : 0.0f);
      break;
    case Activation::sigmoid:
      for (int64_t j = 0; j < cols; ++j) y[j] = apply_activation(Activation::sigmoid, alpha, y[j]);
      break;
    case Activation::tanh:
      for (int64_t j = 0; j < cols; ++j) y[j] = std::tanh(y[j]);
      break;
  }
}

// True when the epilogue does nothing (no bias, linear activation).
static inline bool epilogue_is_identity(const Epilogue& ep) {
  return ep.bias == nullptr && ep.act == Activation::linear;
}

}  // namespace cpu
}  // namespace cudnn_lite
