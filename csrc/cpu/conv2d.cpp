// conv2d.cpp: 2-D convolution over NHWC input with an HWIO kernel, as GEMM.
//
// With NHWC input the kernel w (kh, kw, c, k) is a (kh*kw*c, k) matrix and the
// im2col matrix of x is (n*out_h*out_w, kh*kw*c), one row per output pixel:
//   forward          y (pixels, k)        = im2col(x) @ w          + epilogue
//   backward data    dx                   = col2im(dy @ w^T)       (or a flipped conv)
//   backward filter  dw^T (k, kh*kw*c)    = dy^T @ im2col(x)   (or im2col(x)^T @ dy)
// The im2col matrix is never stored: the GEMM driver's A (forward) or B
// (backward filter) packer gathers its rows from x straight into the packed
// micro-panels.
// Non-pointwise convolutions now run as direct NHWC kernels instead
// (conv2d_direct.cpp, see use_direct; with at most 4 input channels and kernel
// width 2 or 3, conv2d_small.cpp); the implicit-GEMM packers below stay as
// the general fallback and serve backward data with stride > 1 or few channels.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "cpu/conv2d_direct.h"
#include "cpu/conv2d_small.h"
#include "cpu/epilogue.h"
#include "cpu/gemm_driver.h"
#include "cpu/parallel.h"
#include "cudnn_lite.h"

namespace cudnn_lite {
namespace cpu {
namespace {

using gemm::kMR;

constexpr int64_t kDirectMaxChannels = 4;
// backward filter (im2col): pixels per reduction block, and bounds on the blocks
constexpr int64_t kBwfBlockPixels = 2048;
constexpr int64_t kBwfMaxBlocks = 16;
constexpr int64_t kBwfMaxPartialFloats = 1 << 22;  // 16 MiB  // backward data: flipped conv only above this many input channels

inline bool is_pointwise(const Conv2dDesc& d) {  // 1x1, stride 1, no padding: im2col(x) == x
  return d.kh == 1 && d.kw == 1 && d.stride_h == 1 && d.stride_w == 1 && d.pad_top == 0 &&
         d.pad_bottom == 0 && d.pad_left == 0 && d.pad_right == 0;
}

// Output pixels per GEMM task: a multiple of kMR, about kPixelTasks tasks (fixed
// by the shape, not the thread count: any thread takes the next task).
constexpr int64_t kPixelTasks = 16;
inline int64_t pixel_block(int64_t pixels) {
  const int64_t want = (pixels + kPixelTasks - 1) / kPixelTasks;
  const int64_t block = (want + kMR - 1) / kMR * kMR;
  return std::max<int64_t>(kMR * 8, std::min<int64_t>(block, gemm::kMC / 4));
}

// op(A) = im2col(x), rows = output pixels starting at pix0 (over the whole
// batch), cols = taps (ky, kx, ci) in HWIO order. Zero outside the image.
struct Im2colPackA {
  const Conv2dDesc* d;
  const float* x;  // (n, h, w, c)
  int64_t pix0;
  bool direct(int64_t, int64_t, const float**, int64_t*) const { return false; }
  // Per micro-panel: gather its kMR im2col rows into a row-major scratch tile
  // with contiguous channel-run copies, then transpose the tile into the
  // panel with the plain-matrix packer.
  void operator()(int64_t i0, int64_t mc, int64_t p0, int64_t kc, float* dst) const {
    const int64_t c = d->c, ohw = d->out_h * d->out_w;
    alignas(64) float rows[kMR * gemm::kKC];  // (mr, kc)
    for (int64_t ir = 0; ir < mc; ir += kMR, dst += kc * kMR) {
      const int64_t mr = std::min<int64_t>(kMR, mc - ir);
      for (int64_t r = 0; r < mr; ++r) {
        const int64_t pix = pix0 + i0 + ir + r;
        const int64_t b = pix / ohw, oy = (pix % ohw) / d->out_w, ox = pix % d->out_w;
        const int64_t iy0 = oy * d->stride_h - d->pad_top, ix0 = ox * d->stride_w - d->pad_left;
        const float* xb = x + b * d->h * d->w * c;
        float* row = rows + r * kc;
        int64_t tap = p0 / c, ci = p0 % c;  // tap = ky * kw + kx
        for (int64_t p = 0; p < kc; ++tap, ci = 0) {
          const int64_t iy = iy0 + tap / d->kw, ix = ix0 + tap % d->kw;
          const int64_t run = std::min(c - ci, kc - p);
          if (iy >= 0 && iy < d->h && ix >= 0 && ix < d->w) {
            std::memcpy(row + p, xb + (iy * d->w + ix) * c + ci,
                        sizeof(float) * static_cast<size_t>(run));
          } else {
            std::memset(row + p, 0, sizeof(float) * static_cast<size_t>(run));
          }
          p += run;
        }
      }
      gemm::StridedPackA{rows, kc, 1}(0, mr, 0, kc, dst);
    }
  }
};

// op(A) = im2col(x)^T: rows = taps (ky, kx, ci), cols = output pixels starting
// at pix0.
struct Im2colTransposedPackA {
  const Conv2dDesc* d;
  const float* x;  // (n, h, w, c)
  int64_t pix0;
  bool direct(int64_t, int64_t, const float**, int64_t*) const { return false; }
  void operator()(int64_t i0, int64_t mc, int64_t p0, int64_t kc, float* dst) const {
    const int64_t c = d->c, ohw = d->out_h * d->out_w;
    // per pixel of this k block: image offset and top-left input corner
    int64_t base[gemm::kKC], iy0[gemm::kKC], ix0[gemm::kKC];
    for (int64_t p = 0; p < kc; ++p) {
      const int64_t pix = pix0 + p0 + p;
      const int64_t b = pix / ohw, oy = (pix % ohw) / d->out_w, ox = pix % d->out_w;
      base[p] = b * d->h * d->w * c;
      iy0[p] = oy * d->stride_h - d->pad_top;
      ix0[p] = ox * d->stride_w - d->pad_left;
    }
    for (int64_t ir = 0; ir < mc; ir += kMR, dst += kc * kMR) {
      const int64_t mr = std::min<int64_t>(kMR, mc - ir);
      int64_t ky[kMR], kx[kMR], ci[kMR];
      for (int64_t r = 0; r < mr; ++r) {
        const int64_t t = i0 + ir + r, tap = t / c;
        ky[r] = tap / d->kw;
        kx[r] = tap % d->kw;
        ci[r] = t % c;
      }
      // all mr taps in one (ky, kx) with consecutive channels: one bounds test
      const bool one_tap = ky[0] == ky[mr - 1] && kx[0] == kx[mr - 1];
      for (int64_t p = 0; p < kc; ++p) {
        float* dd = dst + p * kMR;
        if (one_tap) {
          const int64_t iy = iy0[p] + ky[0], ix = ix0[p] + kx[0];
          if (iy >= 0 && iy < d->h && ix >= 0 && ix < d->w) {
            const float* s = x + base[p] + (iy * d->w + ix) * c + ci[0];
            for (int64_t r = 0; r < mr; ++r) dd[r] = s[r];
          } else {
            for (int64_t r = 0; r < mr; ++r) dd[r] = 0.0f;
          }
        } else {
          for (int64_t r = 0; r < mr; ++r) {
            const int64_t iy = iy0[p] + ky[r], ix = ix0[p] + kx[r];
            dd[r] = (iy >= 0 && iy < d->h && ix >= 0 && ix < d->w)
                        ? x[base[p] + (iy * d->w + ix) * c + ci[r]]
                        : 0.0f;
          }
        }
        for (int64_t r = mr; r < kMR; ++r) dd[r] = 0.0f;
      }
    }
  }
};

// op(B) = im2col(x) as the B operand: rows = output pixels starting at pix0,
// cols = taps (ky, kx, ci). Each packed row is a few contiguous channel runs.
struct Im2colPackB {
  const Conv2dDesc* d;
  const float* x;  // (n, h, w, c)
  int64_t pix0;
  void operator()(int64_t p0, int64_t kc, int64_t j0, int64_t nc, float* dst) const {
    const int64_t c = d->c, ohw = d->out_h * d->out_w;
    const float* img[gemm::kKC];  // per pixel of this k block: its image
    int64_t iy0[gemm::kKC], ix0[gemm::kKC];
    for (int64_t p = 0; p < kc; ++p) {
      const int64_t pix = pix0 + p0 + p;
      const int64_t b = pix / ohw, oy = (pix % ohw) / d->out_w, ox = pix % d->out_w;
      img[p] = x + b * d->h * d->w * c;
      iy0[p] = oy * d->stride_h - d->pad_top;
      ix0[p] = ox * d->stride_w - d->pad_left;
    }
    for (int64_t jr = 0; jr < nc; jr += gemm::kNR, dst += kc * gemm::kNR) {
      const int64_t nr = std::min<int64_t>(gemm::kNR, nc - jr);
      for (int64_t p = 0; p < kc; ++p) {
        float* dd = dst + p * gemm::kNR;
        int64_t tap = (j0 + jr) / c, ci = (j0 + jr) % c;
        for (int64_t j = 0; j < nr; ++tap, ci = 0) {
          const int64_t iy = iy0[p] + tap / d->kw, ix = ix0[p] + tap % d->kw;
          const int64_t run = std::min(c - ci, nr - j);
          if (iy >= 0 && iy < d->h && ix >= 0 && ix < d->w) {
            std::memcpy(dd + j, img[p] + (iy * d->w + ix) * c + ci,
                        sizeof(float) * static_cast<size_t>(run));
          } else {
            std::memset(dd + j, 0, sizeof(float) * static_cast<size_t>(run));
          }
          j += run;
        }
        for (int64_t j = nr; j < gemm::kNR; ++j) dd[j] = 0.0f;
      }
    }
  }
};

// Which convolutions run as direct NHWC kernels (conv2d_direct.cpp) rather than
// as implicit GEMM: every non-pointwise one (measured faster on all the
// textbook shapes, see the commit messages); 1x1 stride-1 unpadded
// convolutions are plain GEMMs. The direct kernels copy one zero-padded image
// per thread, so absurd paddings (or images over 64 MiB padded) take the
// implicit-GEMM path, which never materialises the padding.
inline bool padded_image_fits(const Conv2dDesc& d) {
  const int64_t hp = d.h + d.pad_top + d.pad_bottom, wp = d.w + d.pad_left + d.pad_right;
  const int64_t limit = int64_t(1) << 24;  // floats per thread buffer
  return wp <= limit && hp <= limit / wp && hp * wp <= limit / d.c;  // no overflow: terms < 2^42
}
inline bool use_direct(const Conv2dDesc& d) { return !is_pointwise(d) && padded_image_fits(d); }

}  // namespace

// x (n, h, w, c), w (kh, kw, c, k), y (n, out_h, out_w, k): y = act(conv(x, w) + bias)
void conv2d_forward(const Conv2dDesc& d, const float* x, const float* w, const Epilogue& ep,
                    float* y) {
  const int64_t pixels = d.n * d.out_h * d.out_w, taps = d.kh * d.kw * d.c;
  if (pixels == 0) return;
  if (is_pointwise(d)) {
    gemm::sgemm_parallel(false, false, pixels, d.k, d.c, 1.0f, x, d.c, w, d.k, 0.0f, y, d.k, &ep);
    return;
  }
  if (use_direct(d)) {
    if (direct::small_forward_applies(d))
      direct::conv2d_forward_small(d, x, w, ep, y);
    else
      direct::conv2d_forward_direct(d, x, w, ep, y);
    return;
  }
  const int threads = get_num_threads();
  const int64_t block = pixel_block(pixels);
  const int64_t blocks = (pixels + block - 1) / block;
  parallel_for_chunks(blocks, 1, [&](int64_t blk_begin, int64_t blk_end) {
    for (int64_t blk = blk_begin; blk < blk_end; ++blk) {
      const int64_t p0 = blk * block, np = std::min(block, pixels - p0);
      gemm::gemm_blocked(np, d.k, taps, 1.0f, Im2colPackA{&d, x, p0}, gemm::StridedPackB{w, d.k, 1},
                         0.0f, y + p0 * d.k, d.k, &ep);
    }
  }, blocks > 1 && threads > 1);
}

// dy (n, out_h, out_w, k), w (kh, kw, c, k) -> dx (n, h, w, c)
void conv2d_backward_data(const Conv2dDesc& d, const float* dy, const float* w, float* dx) {
  const int64_t pixels = d.n * d.out_h * d.out_w, taps = d.kh * d.kw * d.c;
  const int64_t c = d.c, k = d.k;
  if (d.n == 0) return;
  if (is_pointwise(d)) {  // dx (pixels, c) = dy (pixels, k) @ w^T, w is (c, k)
    gemm::sgemm_parallel(false, true, pixels, c, k, 1.0f, dy, k, w, k, 0.0f, dx, c, nullptr);
    return;
  }
  // (with few input channels the flipped conv would have only c output
  // channels, too narrow for the GEMM tile: the col2im path wastes less)
  if (d.c > kDirectMaxChannels && d.stride_h == 1 && d.stride_w == 1 && d.pad_top < d.kh && d.pad_bottom < d.kh &&
      d.pad_left < d.kw && d.pad_right < d.kw) {
    // Stride 1: dx is the convolution of dy with the kernel flipped in space and
    // transposed in channels, w_t[ky', kx', kk, ci] = w[kh-1-ky', kw-1-kx', ci, kk],
    // padded by kernel - 1 - pad on each side.
    std::vector<float> wt(static_cast<size_t>(taps * k));  // (kh, kw, k, c)
    for (int64_t ky = 0; ky < d.kh; ++ky)
      for (int64_t kx = 0; kx < d.kw; ++kx) {
        const float* src = w + (ky * d.kw + kx) * c * k;
        float* dst = wt.data() + ((d.kh - 1 - ky) * d.kw + (d.kw - 1 - kx)) * k * c;
        for (int64_t ci = 0; ci < c; ++ci)
          for (int64_t kk = 0; kk < k; ++kk) dst[kk * c + ci] = src[ci * k + kk];
      }
    Conv2dDesc t;
    t.n = d.n; t.h = d.out_h; t.w = d.out_w; t.c = k;
    t.kh = d.kh; t.kw = d.kw; t.k = c;
    t.stride_h = 1; t.stride_w = 1;
    t.pad_top = d.kh - 1 - d.pad_top; t.pad_bottom = d.kh - 1 - d.pad_bottom;
    t.pad_left = d.kw - 1 - d.pad_left; t.pad_right = d.kw - 1 - d.pad_right;
    t.out_h = d.h; t.out_w = d.w;
    conv2d_forward(t, dy, wt.data(), Epilogue{}, dx);
    return;
  }
  // General stride: per image, col (pixels of a block, taps) = dy_block @ w^T,
  // then col2im scatter-adds each row into dx. Images are independent, so
  // threads take whole images when there are enough; otherwise the GEMM itself
  // is split over the threads and the scatter runs on one.
  const int64_t ohw = d.out_h * d.out_w, hwc = d.h * d.w * c;
  const int threads = get_num_threads();
  const bool per_image = d.n >= threads;
  const int64_t block = per_image ? std::min<int64_t>(ohw, 256) : ohw;
  std::vector<float> shared_col;
  if (!per_image) shared_col.resize(static_cast<size_t>(block * taps));
  parallel_for_chunks(d.n, 1, [&](int64_t b_begin, int64_t b_end) {
    for (int64_t b = b_begin; b < b_end; ++b) {
      float* dxb = dx + b * hwc;
      std::memset(dxb, 0, sizeof(float) * static_cast<size_t>(hwc));
      float* col = per_image ? gemm::thread_buffer(gemm::kSlotConv, static_cast<size_t>(block * taps))
                             : shared_col.data();
      for (int64_t q0 = 0; q0 < ohw; q0 += block) {
        const int64_t nq = std::min(block, ohw - q0);
        const float* dyb = dy + (b * ohw + q0) * k;
        if (per_image) {
          gemm::sgemm_serial(false, true, nq, taps, k, 1.0f, dyb, k, w, k, 0.0f, col, taps, nullptr);
        } else {
          gemm::sgemm_parallel(false, true, nq, taps, k, 1.0f, dyb, k, w, k, 0.0f, col, taps,
                               nullptr);
        }
        for (int64_t q = 0; q < nq; ++q) {
          const int64_t oy = (q0 + q) / d.out_w, ox = (q0 + q) % d.out_w;
          const float* crow = col + q * taps;
          for (int64_t ky = 0; ky < d.kh; ++ky) {
            const int64_t iy = oy * d.stride_h - d.pad_top + ky;
            if (iy < 0 || iy >= d.h) continue;
            for (int64_t kx = 0; kx < d.kw; ++kx) {
              const int64_t ix = ox * d.stride_w - d.pad_left + kx;
              if (ix < 0 || ix >= d.w) continue;
              float* dp = dxb + (iy * d.w + ix) * c;
              const float* cp = crow + (ky * d.kw + kx) * c;
              for (int64_t ci = 0; ci < c; ++ci) dp[ci] += cp[ci];
            }
          }
        }
      }
    }
  }, per_image && threads > 1);
}

// x (n, h, w, c), dy (n, out_h, out_w, k) -> dw (kh, kw, c, k)
// Computed transposed, dw^T (k, taps) = dy^T @ im2col(x), so that the large
// im2col operand is packed as B (contiguous channel runs) and dy is read in
// place as A; with fewer taps than two B tiles (first layers) B would be
// mostly padding, so then dw = im2col(x)^T @ dy directly. The pixel (reduction)
// axis is cut into blocks fixed by the shape, one partial each, added in block
// order while transposing into dw: bit-identical at any thread count.
void conv2d_backward_filter(const Conv2dDesc& d, const float* x, const float* dy, float* dw) {
  const int64_t pixels = d.n * d.out_h * d.out_w, taps = d.kh * d.kw * d.c, k = d.k;
  const int64_t size = taps * k;
  if (is_pointwise(d)) {  // dw (c, k) = x^T (c, pixels) @ dy (pixels, k)
    gemm::sgemm_parallel(true, false, d.c, k, pixels, 1.0f, x, d.c, dy, k, 0.0f, dw, k, nullptr);
    return;
  }
  if (use_direct(d)) {
    if (direct::small_backward_filter_applies(d))
      direct::conv2d_backward_filter_small(d, x, dy, dw);
    else
      direct::conv2d_backward_filter_direct(d, x, dy, dw);
    return;
  }
  const bool transposed = taps >= 2 * gemm::kNR;
  // blocks of the pixel (reduction) axis fixed by the shape alone, one partial each,
  // taken by any thread; the partials are added in block order while transposing
  // into dw: the same bits at any thread count
  const int64_t parts = std::max<int64_t>(
      1, std::min({pixels / kBwfBlockPixels, kBwfMaxBlocks, kBwfMaxPartialFloats / std::max<int64_t>(size, 1)}));
  std::vector<float> partial(static_cast<size_t>(parts * size));  // parts x dw or dw^T
  parallel_chunks(parts, [&](int64_t t) {
    const int64_t q0 = pixels * t / parts, q1 = pixels * (t + 1) / parts;
    float* out = partial.data() + t * size;
    if (transposed) {
      // op(A)[kk, q] = dy[q0 + q, kk]: columns contiguous, read in place
      const gemm::StridedPackA pack_dy{dy + q0 * k, 1, k, k % 512 != 0};
      gemm::gemm_blocked(k, taps, q1 - q0, 1.0f, pack_dy, Im2colPackB{&d, x, q0}, 0.0f, out,
                         taps, nullptr);
    } else {
      gemm::gemm_blocked(taps, k, q1 - q0, 1.0f, Im2colTransposedPackA{&d, x, q0},
                         gemm::StridedPackB{dy + q0 * k, k, 1}, 0.0f, out, k, nullptr);
    }
  });
  const int64_t per = rows_per_chunk(k * parts);
  parallel_chunks((taps + per - 1) / per, [&](int64_t chunk) {
    for (int64_t tap = chunk * per; tap < std::min(taps, (chunk + 1) * per); ++tap) {
      for (int64_t kk = 0; kk < k; ++kk) {
        const int64_t e = transposed ? kk * taps + tap : tap * k + kk;
        float s = partial[e];
        for (int64_t p = 1; p < parts; ++p) s += partial[p * size + e];
        dw[tap * k + kk] = s;
      }
    }
  }, parts > 1);
}

}  // namespace cpu
}  // namespace cudnn_lite
