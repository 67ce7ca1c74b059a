// affine_transform.cu: per-image affine resampling of NHWC images (bilinear,
// Keras's fill modes), bit-identical to the CPU kernel: both find the 2 x 2
// source cells of an output pixel with csrc/common/bilinear.h and sum
// acc = fmaf(weight, value, acc) from acc = -0.0f over the taps of non-zero
// weight in the order (0,0), (0,1), (1,0), (1,1).
//   affine_transform_kernel: one thread per output pixel (grid-stride, 64-bit
//   indices), looping over the pixel's c channels.
#include <cuda_runtime.h>

#include "common/bilinear.h"
#include "cuda/check.cuh"
#include "cuda/launch.cuh"
#include "cudnn_lite.h"

namespace cudnn_lite {
namespace cuda {

namespace {

// x, y (n, h, w, c); matrices (n, 6); pixels = n * h * w
__global__ void affine_transform_kernel(int64_t pixels, int64_t h, int64_t w, int64_t c,
                                        const float* __restrict__ x,
                                        const float* __restrict__ matrices, FillMode fill,
                                        float cval, float* __restrict__ y) {
  const int64_t hw = h * w;
  for (int64_t p = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; p < pixels;
       p += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t i = p / hw, rem = p - i * hw;
    const int64_t r = rem / w, col = rem - r * w;
    const float* m = matrices + i * 6;
    const float mi[6] = {m[0], m[1], m[2], m[3], m[4], m[5]};
    float* out = y + p * c;
    float sr, sc;
    affine_source(mi, r, col, &sr, &sc);
    if (isnan(sr) || isnan(sc)) {
      for (int64_t ch = 0; ch < c; ++ch) out[ch] = __int_as_float(0x7fc00000);  // quiet NaN
      continue;
    }
    const AffineAxis ar = affine_axis(sr, h, fill), ac = affine_axis(sc, w, fill);
    const float* xi = x + i * hw * c;
    // the 4 taps: weight 0 is skipped, a negative offset reads cval
    float wt[4];
    int64_t off[4];
#pragma unroll
    for (int t = 0; t < 4; ++t) {
      const int dr = t >> 1, dc = t & 1;
      wt[t] = ar.weight[dr] * ac.weight[dc];
      off[t] = (ar.cell[dr] < 0 || ac.cell[dc] < 0) ? -1 : (ar.cell[dr] * w + ac.cell[dc]) * c;
    }
    for (int64_t ch = 0; ch < c; ++ch) {
      float acc = -0.0f;
#pragma unroll
      for (int t = 0; t < 4; ++t) {
        if (wt[t] == 0.0f) continue;
        const float v = off[t] < 0 ? cval : xi[off[t] + ch];
        acc = fmaf(wt[t], v, acc);
      }
      out[ch] = acc;
    }
  }
}

}  // namespace

void affine_transform(int64_t n, int64_t h, int64_t w, int64_t c, const float* x,
                      const float* matrices, FillMode fill, float cval, float* y, void* stream) {
  check_affine_transform(n, h, w, c, fill);
  if (n == 0 || h == 0 || w == 0 || c == 0) return;
  const int64_t pixels = n * h * w;
  launch("affine_transform_kernel", affine_transform_kernel,
         detail::grid_stride_blocks(pixels, 256), 256, 0, detail::as_stream(stream), pixels, h, w,
         c, x, matrices, fill, cval, y);
}

}  // namespace cuda
}  // namespace cudnn_lite
