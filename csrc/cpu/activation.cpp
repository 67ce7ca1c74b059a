// activation.cpp: elementwise activations and their gradients.
//
// The per-element maths is activation_value / activation_grad of csrc/common/activation_math.h
// (its comment has the definitions), the same functions as the fused epilogues and the CUDA
// kernels: the switch is hoisted out of each loop (a template argument) so the loop vectorises
// and every SIMD lane computes exactly the scalar function.
#include <cstdint>
#include <stdexcept>
#include <string>

#include "common/activation_math.h"
#include "cudnn_lite.h"

namespace cudnn_lite {
namespace cpu {

namespace {

// x, y (n)
template <Activation A>
void forward_loop(float alpha, int64_t n, const float* x, float* y) {
#pragma omp parallel for simd schedule(static) if (n > 32768)
  for (int64_t i = 0; i < n; ++i) y[i] = activation_value(A, alpha, x[i]);
}

// x, y, dy, dx (n); a pointer the rule does not read may be nullptr (its loads are never made)
template <Activation A>
void backward_loop(float alpha, int64_t n, const float* x, const float* y, const float* dy,
                   float* dx) {
  constexpr bool reads_x = A == Activation::relu || A == Activation::leaky_relu;
  constexpr bool reads_y = A == Activation::sigmoid || A == Activation::tanh;
#pragma omp parallel for simd schedule(static) if (n > 32768)
  for (int64_t i = 0; i < n; ++i)
    dx[i] = activation_grad(A, alpha, reads_x ? x[i] : 0.0f, reads_y ? y[i] : 0.0f, dy[i]);
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
    case Activation::linear: backward_loop<Activation::linear>(alpha, n, x, y, dy, dx); return;
    case Activation::relu: backward_loop<Activation::relu>(alpha, n, x, y, dy, dx); return;
    case Activation::sigmoid: backward_loop<Activation::sigmoid>(alpha, n, x, y, dy, dx); return;
    case Activation::tanh: backward_loop<Activation::tanh>(alpha, n, x, y, dy, dx); return;
    case Activation::leaky_relu:
      backward_loop<Activation::leaky_relu>(alpha, n, x, y, dy, dx);
      return;
    case Activation::step: backward_loop<Activation::step>(alpha, n, x, y, dy, dx); return;
  }
  throw std::invalid_argument("activation_backward: unknown activation " +
                              std::to_string(static_cast<int>(act)));
}

}  // namespace cpu
}  // namespace cudnn_lite
