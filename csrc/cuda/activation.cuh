// activation.cuh: the per-element activation and its gradient on the device,
// shared by activation.cu and the fused epilogues of sgemm/dense/conv2d.
// Semantics follow csrc/cpu/activation.cpp exactly:
//   relu:       y = x > 0 ? x : 0 (NaN stays NaN); dy/dx = x > 0
//   leaky_relu: y = x > 0 ? x : alpha x;          dy/dx = x > 0 ? 1 : alpha
//   sigmoid:    from e = exp(-|x|): 1/(1+e) for x >= 0, e/(1+e) for x < 0; grad y(1-y)
//   tanh:       tanhf; grad 1 - y^2
//   step:       y = x >= 0 ? 1 : 0 (NaN stays NaN); grad 0
#pragma once

#include <cuda_runtime.h>

#include "cudnn_lite.h"

namespace cudnn_lite {
namespace cuda {

__device__ __forceinline__ float activation_value(Activation act, float alpha, float x) {
  switch (act) {
    case Activation::linear: return x;
    case Activation::relu: return x > 0.0f ? x : (x != x ? x : 0.0f);
    case Activation::sigmoid: {
      const float e = expf(-fabsf(x));
      const float r = 1.0f / (1.0f + e);
      return x >= 0.0f ? r : e * r;
    }
    case Activation::tanh: return tanhf(x);
    case Activation::leaky_relu: return x > 0.0f ? x : alpha * x;
    case Activation::step: return x >= 0.0f ? 1.0f : (x != x ? x : 0.0f);
  }
  return x;
}

// x: forward input, y: forward output, dy: upstream gradient
__device__ __forceinline__ float activation_grad(Activation act, float alpha, float x, float y,
                                                 float dy) {
  switch (act) {
    case Activation::linear: return dy;
    case Activation::relu: return x > 0.0f ? dy : 0.0f;
    case Activation::sigmoid: return dy * y * (1.0f - y);
    case Activation::tanh: return dy * (1.0f - y * y);
    case Activation::leaky_relu: return x > 0.0f ? dy : alpha * dy;
    case Activation::step: return 0.0f;
  }
  return dy;
}

}  // namespace cuda
}  // namespace cudnn_lite
