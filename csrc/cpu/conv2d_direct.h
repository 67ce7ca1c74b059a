// conv2d_direct.h: direct (not im2col/GEMM) NHWC convolution kernels, used by
// conv2d.cpp where they beat the implicit-GEMM path (see the dispatch there).
// Internal header: included by conv2d.cpp and conv2d_direct.cpp only.
#pragma once

#include "cudnn_lite.h"

namespace cudnn_lite {
namespace cpu {
namespace direct {

// xb (h, w, c) -> xpad (h + pad_top + pad_bottom, w + pad_left + pad_right, c),
// zero outside the image (the per-thread padded copy the direct kernels read).
void pad_image(const Conv2dDesc& d, const float* xb, float* xpad);

// x (n, h, w, c), w (kh, kw, c, k), y (n, out_h, out_w, k): y = epilogue(conv(x, w)).
// Any shape, stride and padding.
void conv2d_forward_direct(const Conv2dDesc& d, const float* x, const float* w,
                           const Epilogue& ep, float* y);

// x (n, h, w, c), dy (n, out_h, out_w, k) -> dw (kh, kw, c, k). Any shape,
// stride and padding. The output rows are cut into blocks fixed by the shape,
// any thread takes the next block, and the per-block partials are added in
// block order: bit-identical at any thread count.
void conv2d_backward_filter_direct(const Conv2dDesc& d, const float* x, const float* dy,
                                   float* dw);

}  // namespace direct
}  // namespace cpu
}  // namespace cudnn_lite
