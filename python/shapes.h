// shapes.h: every op's shape rules, from shapes alone. The kernel bindings check their arrays
// with these functions, and cudnn_lite._C exports them (conv2d_geometry, pool2d_geometry,
// window_geometry, window_padding, dense_output_shape, image_shape) so that cudnn_lite.ops
// resolves paddings and allocates outputs by the very same rules, with the same errors.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "cudnn_lite.h"
#include "tensor.h"

namespace cudnn_lite::binding {

using Shape = std::vector<int64_t>;

// x (n, h, w, c) and w (kh, kw, c, k): ranks and channels, naming x_name / w_name
void expect_conv_shapes(const Shape& x, const char* x_name, const Shape& w, const char* w_name);
// the descriptor of a convolution of x by w; a window that does not fit names `window`
// (default: "conv2d height" / "conv2d width")
Conv2dDesc conv2d_desc(const Shape& x, const char* x_name, const Shape& w, const char* w_name,
                       std::array<int64_t, 2> strides, std::array<int64_t, 4> pads,
                       const char* window = nullptr);
// the descriptor of pooling x (n, h, w, c) with the window (ph, pw)
Pool2dDesc pool2d_desc(const Shape& x, const char* x_name, std::array<int64_t, 2> window,
                       std::array<int64_t, 2> strides, std::array<int64_t, 4> pads,
                       const char* window_name = nullptr);
// op(a) (m, k) @ op(b) (k, n) -> (m, n); op transposes when trans_*
Shape matmul_output_shape(const Shape& a, const char* a_name, const Shape& b, const char* b_name,
                          bool trans_a, bool trans_b);
// x (rows, in) @ w (in, out) -> (rows, out)
Shape dense_output_shape(const Shape& x, const char* x_name, const Shape& w, const char* w_name);

}  // namespace cudnn_lite::binding
