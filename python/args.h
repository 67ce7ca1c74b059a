// args.h: the ops' non-array arguments (enum names, window sizes, strides, paddings, shapes,
// the dropout rate, 64-bit seeds and offsets), checked here and nowhere else: cudnn_lite.ops
// passes the user's values through. Every failure is a ValueError naming the argument.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "cudnn_lite.h"
#include "tensor.h"

namespace cudnn_lite::binding {

// A name of EnumNames<E> (csrc/cudnn_lite.h) or its value; `arg` names the argument.
template <class E>
E enum_arg(py::handle value, const char* arg);
// activation_arg also takes None (linear), as Keras's `activation=None`
Activation activation_arg(py::handle value);

// An int, or a pair of ints (what int() takes, strings excepted), each positive.
std::array<int64_t, 2> positive_pair_arg(py::handle value, const char* arg);
// A shape: a sequence of non-negative ints.
std::vector<int64_t> shape_arg(py::handle value, const char* arg);
// `padding` ('valid', 'same' or 4 non-negative ints (top, bottom, left, right)) resolved for
// an input of height h and width w: 'same' is TensorFlow's (output ceil(size / stride), the
// extra row/column at the bottom/right).
std::array<int64_t, 4> padding_arg(py::handle value, int64_t h, int64_t w,
                                   std::array<int64_t, 2> window, std::array<int64_t, 2> strides);
// A real number in [0, 1) that stays below 1 in float32 (not a bool or a string); the kernels
// take it as a float.
double dropout_rate_arg(py::handle value);
// An int in [0, 2**64) (not a bool).
uint64_t u64_arg(py::handle value, const char* arg);

}  // namespace cudnn_lite::binding
