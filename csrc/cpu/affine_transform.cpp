// affine_transform.cpp: per-image affine resampling of NHWC images (bilinear,
// Keras's fill modes), the kernel behind ImageDataGenerator's augmentation.
//
// OpenMP over (image, output row); each output pixel finds its 2 x 2 source cells
// once (csrc/bilinear.h) and blends them for every channel. The sum runs
// acc = fma(weight, value, acc) from acc = -0.0f over the taps of non-zero weight
// in the order (0,0), (0,1), (1,0), (1,1), as the CUDA kernel does, so both give the
// same bits and an identity or flip matrix copies pixels exactly (-0.0, Inf and NaN
// included, however large the neighbours).
#include <cmath>
#include <limits>

#include "bilinear.h"
#include "cudnn_lite.h"

namespace cudnn_lite {
namespace cpu {

// x, y (n, h, w, c); matrices (n, 6)
void affine_transform(int64_t n, int64_t h, int64_t w, int64_t c, const float* x,
                      const float* matrices, FillMode fill, float cval, float* y) {
  if (n < 0 || h < 0 || w < 0 || c < 0)
    throw std::invalid_argument("affine_transform: sizes must be non-negative");
  if (h > kAffineMaxExtent || w > kAffineMaxExtent)
    throw std::invalid_argument("affine_transform: height and width must be at most 2^24");
  if (static_cast<int>(fill) < 0 || static_cast<int>(fill) > static_cast<int>(FillMode::wrap))
    throw std::invalid_argument("affine_transform: unknown fill mode");
  if (n == 0 || h == 0 || w == 0 || c == 0) return;
  const int64_t image = h * w * c;
  const float nan = std::numeric_limits<float>::quiet_NaN();
#pragma omp parallel for collapse(2) schedule(static) if (n * image > 32768)
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t r = 0; r < h; ++r) {
      const float* m = matrices + i * 6;
      const float* xi = x + i * image;
      float* yrow = y + i * image + r * w * c;
      for (int64_t col = 0; col < w; ++col) {
        float* out = yrow + col * c;
        float sr, sc;
        affine_source(m, r, col, &sr, &sc);
        if (std::isnan(sr) || std::isnan(sc)) {
          for (int64_t ch = 0; ch < c; ++ch) out[ch] = nan;
          continue;
        }
        const AffineAxis ar = affine_axis(sr, h, fill), ac = affine_axis(sc, w, fill);
        for (int64_t ch = 0; ch < c; ++ch) out[ch] = -0.0f;
        for (int dr = 0; dr < 2; ++dr) {
          for (int dc = 0; dc < 2; ++dc) {
            const float wt = ar.weight[dr] * ac.weight[dc];
            if (wt == 0.0f) continue;
            if (ar.cell[dr] < 0 || ac.cell[dc] < 0) {  // 'constant' outside the image
              for (int64_t ch = 0; ch < c; ++ch) out[ch] = fmaf(wt, cval, out[ch]);
              continue;
            }
            const float* src = xi + (ar.cell[dr] * w + ac.cell[dc]) * c;
            for (int64_t ch = 0; ch < c; ++ch) out[ch] = fmaf(wt, src[ch], out[ch]);
          }
        }
      }
    }
  }
}

}  // namespace cpu
}  // namespace cudnn_lite
