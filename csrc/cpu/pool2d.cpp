// pool2d.cpp: max, average and global average pooling over NHWC tensors.
//
// Window semantics (TensorFlow / Keras): output (oy, ox) covers input rows
// [oy*stride_h - pad_top, + pool_h) and columns [ox*stride_w - pad_left, + pool_w);
// cells outside the input (padding) never win a max and are not counted in an
// average's divisor. A window made only of padding (possible only with explicit
// paddings >= the window; never with 'same' padding) gives 0 and no gradient.
//
// Max ties: the FIRST maximum in row-major window order (row, then column)
// wins, and receives the window's whole gradient. NaN counts as larger than any
// number: a window holding a NaN outputs NaN and its gradient goes to the first
// NaN of the window.
//
// Every kernel parallelises over images (each image's dx is written by its own
// windows only, so overlapping windows accumulate without races) and
// vectorises over the channel axis, the fastest one.
#include <algorithm>
#include <cstring>
#include <limits>
#include <vector>

#include "cudnn_lite.h"

namespace cudnn_lite {
namespace cpu {

namespace {

// clipped input range [begin, end) of window number `o` along one axis
struct Span {
  int64_t begin, end;
};
inline Span window_span(int64_t o, int64_t stride, int64_t pad_before, int64_t window,
                        int64_t in) {
  const int64_t start = o * stride - pad_before;
  return Span{std::max<int64_t>(start, 0), std::min<int64_t>(start + window, in)};
}

// v beats best when larger, or when v is the first NaN seen
inline bool max_wins(float v, float best) { return v > best || (v != v && best == best); }

}  // namespace

// x (n, h, w, c) -> y (n, out_h, out_w, c)
void maxpool2d_forward(const Pool2dDesc& d, const float* x, float* y) {
  const int64_t c = d.c;
  [[maybe_unused]] const int64_t work = d.n * d.out_h * d.out_w * c * d.pool_h * d.pool_w;
#pragma omp parallel for schedule(static) if (work > 32768 && d.n > 1)
  for (int64_t i = 0; i < d.n; ++i) {
    const float* xi = x + i * d.h * d.w * c;
    for (int64_t oy = 0; oy < d.out_h; ++oy) {
      const Span ry = window_span(oy, d.stride_h, d.pad_top, d.pool_h, d.h);
      for (int64_t ox = 0; ox < d.out_w; ++ox) {
        const Span rx = window_span(ox, d.stride_w, d.pad_left, d.pool_w, d.w);
        float* yo = y + ((i * d.out_h + oy) * d.out_w + ox) * c;
        if (ry.begin >= ry.end || rx.begin >= rx.end) {
          std::fill(yo, yo + c, 0.0f);
          continue;
        }
        std::fill(yo, yo + c, -std::numeric_limits<float>::infinity());
        for (int64_t iy = ry.begin; iy < ry.end; ++iy)
          for (int64_t ix = rx.begin; ix < rx.end; ++ix) {
            const float* xp = xi + (iy * d.w + ix) * c;
#pragma omp simd
            for (int64_t ch = 0; ch < c; ++ch) yo[ch] = max_wins(xp[ch], yo[ch]) ? xp[ch] : yo[ch];
          }
      }
    }
  }
}

// x (n, h, w, c), dy (n, out_h, out_w, c) -> dx (n, h, w, c)
void maxpool2d_backward(const Pool2dDesc& d, const float* x, const float* dy, float* dx) {
  const int64_t c = d.c;
  [[maybe_unused]] const int64_t work = d.n * d.out_h * d.out_w * c * d.pool_h * d.pool_w;
#pragma omp parallel if (work > 32768 && d.n > 1)
  {
    std::vector<float> best(c);
    std::vector<int64_t> arg(c);  // offset of the winning cell in the image, in elements
#pragma omp for schedule(static)
    for (int64_t i = 0; i < d.n; ++i) {
      const float* xi = x + i * d.h * d.w * c;
      float* dxi = dx + i * d.h * d.w * c;
      std::memset(dxi, 0, sizeof(float) * d.h * d.w * c);
      for (int64_t oy = 0; oy < d.out_h; ++oy) {
        const Span ry = window_span(oy, d.stride_h, d.pad_top, d.pool_h, d.h);
        for (int64_t ox = 0; ox < d.out_w; ++ox) {
          const Span rx = window_span(ox, d.stride_w, d.pad_left, d.pool_w, d.w);
          if (ry.begin >= ry.end || rx.begin >= rx.end) continue;
          // the first cell of the window starts as the winner
          const int64_t first = (ry.begin * d.w + rx.begin) * c;
          for (int64_t ch = 0; ch < c; ++ch) {
            best[ch] = xi[first + ch];
            arg[ch] = first + ch;
          }
          for (int64_t iy = ry.begin; iy < ry.end; ++iy)
            for (int64_t ix = rx.begin; ix < rx.end; ++ix) {
              const int64_t cell = (iy * d.w + ix) * c;
              const float* xp = xi + cell;
              float* bp = best.data();
              int64_t* ap = arg.data();
#pragma omp simd
              for (int64_t ch = 0; ch < c; ++ch) {
                const bool win = max_wins(xp[ch], bp[ch]);
                bp[ch] = win ? xp[ch] : bp[ch];
                ap[ch] = win ? cell + ch : ap[ch];
              }
            }
          const float* dyo = dy + ((i * d.out_h + oy) * d.out_w + ox) * c;
          for (int64_t ch = 0; ch < c; ++ch) dxi[arg[ch]] += dyo[ch];
        }
      }
    }
  }
}

// x (n, h, w, c) -> y (n, out_h, out_w, c); divisor = number of non-padding cells
void avgpool2d_forward(const Pool2dDesc& d, const float* x, float* y) {
  const int64_t c = d.c;
  [[maybe_unused]] const int64_t work = d.n * d.out_h * d.out_w * c * d.pool_h * d.pool_w;
#pragma omp parallel for schedule(static) if (work > 32768 && d.n > 1)
  for (int64_t i = 0; i < d.n; ++i) {
    const float* xi = x + i * d.h * d.w * c;
    for (int64_t oy = 0; oy < d.out_h; ++oy) {
      const Span ry = window_span(oy, d.stride_h, d.pad_top, d.pool_h, d.h);
      for (int64_t ox = 0; ox < d.out_w; ++ox) {
        const Span rx = window_span(ox, d.stride_w, d.pad_left, d.pool_w, d.w);
        float* yo = y + ((i * d.out_h + oy) * d.out_w + ox) * c;
        std::fill(yo, yo + c, 0.0f);
        const int64_t count =
            std::max<int64_t>(ry.end - ry.begin, 0) * std::max<int64_t>(rx.end - rx.begin, 0);
        if (count == 0) continue;
        for (int64_t iy = ry.begin; iy < ry.end; ++iy)
          for (int64_t ix = rx.begin; ix < rx.end; ++ix) {
            const float* xp = xi + (iy * d.w + ix) * c;
#pragma omp simd
            for (int64_t ch = 0; ch < c; ++ch) yo[ch] += xp[ch];
          }
        const float inv = 1.0f / static_cast<float>(count);
#pragma omp simd
        for (int64_t ch = 0; ch < c; ++ch) yo[ch] *= inv;
      }
    }
  }
}

// dy (n, out_h, out_w, c) -> dx (n, h, w, c)
void avgpool2d_backward(const Pool2dDesc& d, const float* dy, float* dx) {
  const int64_t c = d.c;
  [[maybe_unused]] const int64_t work = d.n * d.out_h * d.out_w * c * d.pool_h * d.pool_w;
#pragma omp parallel for schedule(static) if (work > 32768 && d.n > 1)
  for (int64_t i = 0; i < d.n; ++i) {
    float* dxi = dx + i * d.h * d.w * c;
    std::memset(dxi, 0, sizeof(float) * d.h * d.w * c);
    for (int64_t oy = 0; oy < d.out_h; ++oy) {
      const Span ry = window_span(oy, d.stride_h, d.pad_top, d.pool_h, d.h);
      for (int64_t ox = 0; ox < d.out_w; ++ox) {
        const Span rx = window_span(ox, d.stride_w, d.pad_left, d.pool_w, d.w);
        const int64_t count =
            std::max<int64_t>(ry.end - ry.begin, 0) * std::max<int64_t>(rx.end - rx.begin, 0);
        if (count == 0) continue;
        const float inv = 1.0f / static_cast<float>(count);
        const float* dyo = dy + ((i * d.out_h + oy) * d.out_w + ox) * c;
        for (int64_t iy = ry.begin; iy < ry.end; ++iy)
          for (int64_t ix = rx.begin; ix < rx.end; ++ix) {
            float* dxp = dxi + (iy * d.w + ix) * c;
#pragma omp simd
            for (int64_t ch = 0; ch < c; ++ch) dxp[ch] += dyo[ch] * inv;
          }
      }
    }
  }
}

// x (n, hw, c) -> y (n, c): mean over hw, summed in double
void global_avgpool_forward(int64_t n, int64_t hw, int64_t c, const float* x, float* y) {
#pragma omp parallel if (n * hw * c > 32768 && n > 1)
  {
    std::vector<double> acc(c);
#pragma omp for schedule(static)
    for (int64_t i = 0; i < n; ++i) {
      std::fill(acc.begin(), acc.end(), 0.0);
      double* a = acc.data();
      const float* xi = x + i * hw * c;
      for (int64_t p = 0; p < hw; ++p) {
        const float* xp = xi + p * c;
#pragma omp simd
        for (int64_t ch = 0; ch < c; ++ch) a[ch] += xp[ch];
      }
      const double inv = hw > 0 ? 1.0 / static_cast<double>(hw) : 0.0;
      for (int64_t ch = 0; ch < c; ++ch) y[i * c + ch] = static_cast<float>(a[ch] * inv);
    }
  }
}

// dy (n, c) -> dx (n, hw, c): dx[i, p, ch] = dy[i, ch] / hw
void global_avgpool_backward(int64_t n, int64_t hw, int64_t c, const float* dy, float* dx) {
  const float inv = hw > 0 ? 1.0f / static_cast<float>(hw) : 0.0f;
#pragma omp parallel for schedule(static) if (n * hw * c > 32768 && n > 1)
  for (int64_t i = 0; i < n; ++i) {
    const float* dyi = dy + i * c;
    for (int64_t p = 0; p < hw; ++p) {
      float* dxp = dx + (i * hw + p) * c;
#pragma omp simd
      for (int64_t ch = 0; ch < c; ++ch) dxp[ch] = dyi[ch] * inv;
    }
  }
}

}  // namespace cpu
}  // namespace cudnn_lite
