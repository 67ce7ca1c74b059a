// affine_transform.cpp: per-image affine resampling of NHWC images (bilinear,
// Keras's fill modes), the kernel behind ImageDataGenerator's augmentation.
//
// OpenMP over (image, output row); each output pixel finds its 2 x 2 source cells
// once (csrc/common/bilinear.h) and blends them for every channel (1, 3 and 4 channels are
// compiled with the count fixed, others go in chunks of 8; the sums live in registers). The sum runs
// acc = fma(weight, value, acc) from acc = -0.0f over the taps of non-zero weight
// in the order (0,0), (0,1), (1,0), (1,1), as the CUDA kernel does, so both give the
// same bits and an identity or flip matrix copies pixels exactly (-0.0, Inf and NaN
// included, however large the neighbours).
#include <cmath>
#include <limits>

#include "common/bilinear.h"
#include "cudnn_lite.h"
#include "cpu/parallel.h"  // rows_per_chunk, kChunkElements: shape-fixed dynamic chunks

namespace cudnn_lite {
namespace cpu {

namespace {

// Channels [ch0, ch0 + k) of output row r of image i: yrow (w, c) from xi (h, w, c)
// under the matrix m (6). kC > 0 fixes k at compile time; kC == 0 reads it (k <= 8).
// The sums live in a local array, so no store to y can alias a load from x.
template <int kC>
void resample_row(int64_t h, int64_t w, int64_t c, int64_t ch0, int64_t k, const float* xi,
                  const float* m, int64_t r, FillMode fill, float cval, float* yrow) {
  if (kC > 0) k = kC;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (int64_t col = 0; col < w; ++col) {
    float* out = yrow + col * c + ch0;
    float sr, sc;
    affine_source(m, r, col, &sr, &sc);
    if (std::isnan(sr) || std::isnan(sc)) {
      for (int64_t ch = 0; ch < k; ++ch) out[ch] = nan;
      continue;
    }
    const AffineAxis ar = affine_axis(sr, h, fill), ac = affine_axis(sc, w, fill);
    float sum[kC > 0 ? kC : 8];
    for (int64_t ch = 0; ch < k; ++ch) sum[ch] = -0.0f;
    for (int t = 0; t < 4; ++t) {
      const int dr = t >> 1, dc = t & 1;
      const float wt = ar.weight[dr] * ac.weight[dc];
      if (wt == 0.0f) continue;
      if (ar.cell[dr] < 0 || ac.cell[dc] < 0) {  // 'constant' outside the image
        for (int64_t ch = 0; ch < k; ++ch) sum[ch] = fmaf(wt, cval, sum[ch]);
        continue;
      }
      const float* src = xi + (ar.cell[dr] * w + ac.cell[dc]) * c + ch0;
      for (int64_t ch = 0; ch < k; ++ch) sum[ch] = fmaf(wt, src[ch], sum[ch]);
    }
    for (int64_t ch = 0; ch < k; ++ch) out[ch] = sum[ch];
  }
}

// Output row r of image i, every channel: 1, 3 and 4 channels with the count fixed,
// others in chunks of 8.
void resample_row_all(int64_t h, int64_t w, int64_t c, const float* xi, const float* m, int64_t r,
                      FillMode fill, float cval, float* yrow) {
  switch (c) {
    case 1: resample_row<1>(h, w, c, 0, 1, xi, m, r, fill, cval, yrow); return;
    case 3: resample_row<3>(h, w, c, 0, 3, xi, m, r, fill, cval, yrow); return;
    case 4: resample_row<4>(h, w, c, 0, 4, xi, m, r, fill, cval, yrow); return;
    default:
      for (int64_t ch0 = 0; ch0 < c; ch0 += 8) {
        const int64_t k = c - ch0 < 8 ? c - ch0 : 8;
        if (k == 8)
          resample_row<8>(h, w, c, ch0, 8, xi, m, r, fill, cval, yrow);
        else
          resample_row<0>(h, w, c, ch0, k, xi, m, r, fill, cval, yrow);
      }
  }
}

}  // namespace

// x, y (n, h, w, c); matrices (n, 6)
void affine_transform(int64_t n, int64_t h, int64_t w, int64_t c, const float* x,
                      const float* matrices, FillMode fill, float cval, float* y) {
  check_affine_transform(n, h, w, c, fill);
  if (n == 0 || h == 0 || w == 0 || c == 0) return;
  const int64_t image = h * w * c;
#pragma omp parallel for collapse(2) schedule(dynamic, rows_per_chunk(w * c)) if (n * image > 32768)
  for (int64_t i = 0; i < n; ++i)
    for (int64_t r = 0; r < h; ++r)
      resample_row_all(h, w, c, x + i * image, matrices + i * 6, r, fill, cval,
                       y + i * image + r * w * c);
}

}  // namespace cpu
}  // namespace cudnn_lite
