// conv2d_small.h: direct NHWC convolution kernels for few input channels (first
// layers: c <= 4, kernel width 2 or 3), used by conv2d.cpp ahead of the general
// direct kernels (conv2d_direct.h) where they apply.
// Internal header: included by conv2d.cpp and conv2d_small.cpp only.
#pragma once

#include "cudnn_lite.h"

namespace cudnn_lite {
namespace cpu {
namespace direct {

// Whether conv2d_forward_small handles d: c <= 4, kw in {2, 3}, stride 1.
bool small_forward_applies(const Conv2dDesc& d);

// x (n, h, w, c), w (kh, kw, c, k), y (n, out_h, out_w, k): y = epilogue(conv(x, w)).
void conv2d_forward_small(const Conv2dDesc& d, const float* x, const float* w,
                          const Epilogue& ep, float* y);

// Whether conv2d_backward_filter_small handles d: c <= 4, kw in {2, 3}, any stride.
bool small_backward_filter_applies(const Conv2dDesc& d);

// x (n, h, w, c), dy (n, out_h, out_w, k) -> dw (kh, kw, c, k). The output rows
// are cut into fixed blocks (by shape only), one partial dw per block, added in
// block order: bit-identical for any thread count.
void conv2d_backward_filter_small(const Conv2dDesc& d, const float* x, const float* dy,
                                  float* dw);

}  // namespace direct
}  // namespace cpu
}  // namespace cudnn_lite
