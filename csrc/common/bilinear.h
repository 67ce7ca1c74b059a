// bilinear.h: where one output pixel of cudnn_lite::{cpu,cuda}::affine_transform
// samples its input, written once for the host and the device compilers so that
// the CPU and CUDA results are bit-identical (the contract is in cudnn_lite.h).
//
// An output pixel (r, col) with matrix m (6 floats) reads the source point
//   src_r = fma(m1, col, fma(m0, r, m2)),  src_c = fma(m4, col, fma(m3, r, m5))
// (exact integers for identity, flip and integer-shift matrices), clamped to
// +-kAffineCoordLimit, and blends the 4 cells around it: rows r0 = floor(src_r)
// and r0 + 1 with weights 1 - fr and fr (fr = src_r - r0), columns likewise.
// Each cell index goes through the fill mode; 'constant' cells outside the image
// are marked -1 (they read cval).
#pragma once

#include <cmath>
#include <cstdint>

#include "common/host_device.h"
#include "cudnn_lite.h"

namespace cudnn_lite {

// The cell that integer index i of an axis of `size` cells reads under `fill`;
// -1 for 'constant' outside [0, size). |i| <= 2^30 + 1, size in [1, 2^24].
CL_HOST_DEVICE int64_t affine_fill_index(int64_t i, int64_t size, FillMode fill) {
  if (i >= 0 && i < size) return i;
  switch (fill) {
    case FillMode::nearest:
      return i < 0 ? 0 : size - 1;
    case FillMode::wrap: {
      const int64_t m = i % size;
      return m < 0 ? m + size : m;
    }
    case FillMode::reflect: {  // period 2 size: d c b a | a b c d | d c b a
      const int64_t period = 2 * size;
      int64_t m = i % period;
      if (m < 0) m += period;
      return m < size ? m : period - 1 - m;
    }
    default:  // constant
      return -1;
  }
}

// The two cells and weights of one axis: cell[0] = fill(floor(s)), cell[1] = fill(floor(s) + 1),
// weight[0] = 1 - f, weight[1] = f with f = s - floor(s). s must not be NaN.
struct AffineAxis {
  int64_t cell[2];
  float weight[2];
};

CL_HOST_DEVICE AffineAxis affine_axis(float s, int64_t size, FillMode fill) {
  s = s < -kAffineCoordLimit ? -kAffineCoordLimit : (s > kAffineCoordLimit ? kAffineCoordLimit : s);
  const float lo = floorf(s);
  const float f = s - lo;
  const int64_t i0 = static_cast<int64_t>(lo);
  AffineAxis a;
  a.cell[0] = affine_fill_index(i0, size, fill);
  a.cell[1] = affine_fill_index(i0 + 1, size, fill);
  a.weight[0] = 1.0f - f;
  a.weight[1] = f;
  return a;
}

// The source point of output pixel (r, col) under m = (m0 .. m5): *src_r, *src_c.
CL_HOST_DEVICE void affine_source(const float* m, int64_t r, int64_t col, float* src_r,
                                  float* src_c) {
  const float fr = static_cast<float>(r), fc = static_cast<float>(col);
  *src_r = fmaf(m[1], fc, fmaf(m[0], fr, m[2]));
  *src_c = fmaf(m[4], fc, fmaf(m[3], fr, m[5]));
}

}  // namespace cudnn_lite
