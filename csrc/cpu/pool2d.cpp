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
// Layout of the work: a window is processed one block of kLanes channels at a
// time (one AVX-512 register where the build has AVX-512, masked for the last
// block, so c = 1, 3, 17 take the same path; a portable `omp simd` loop
// otherwise), cells in row-major order. Forward kernels and the backward of
// non-overlapping windows (stride >= pool, the common 2x2 / stride 2) run in
// parallel over (image, output row): each task owns a band of input rows and
// writes every dx element of its band exactly once (window cells get their
// gradient or 0, cells no window covers get 0), so dx is never zeroed first.
// Overlapping windows accumulate, so their backward zeroes dx and runs in
// parallel over images (each image's dx is written by its own windows only).
#include <algorithm>
#include <cstring>
#include <limits>
#include <vector>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "cudnn_lite.h"
#include "cpu/parallel.h"  // parallel_for_chunks, rows_per_chunk, kChunkElements: shape-fixed chunks

namespace cudnn_lite {
namespace cpu {

namespace {

constexpr int64_t kLanes = 16;        // channels per block
constexpr int64_t kParallelWork = 32768;

// clipped input range [begin, end) of window number `o` along one axis
struct Span {
  int64_t begin, end;
  bool empty() const { return begin >= end; }
};
inline Span window_span(int64_t o, int64_t stride, int64_t pad_before, int64_t window,
                        int64_t in) {
  const int64_t start = o * stride - pad_before;
  return Span{std::max<int64_t>(start, 0), std::min<int64_t>(start + window, in)};
}

// input rows [begin, end) owned by output row `o` when windows do not overlap:
// from its window's start to the next window's start (first/last rows extended
// to the input's edges), so the bands of all output rows partition [0, in)
inline Span owned_band(int64_t o, int64_t out, int64_t stride, int64_t pad_before, int64_t in) {
  const int64_t lo = o == 0 ? 0 : std::clamp<int64_t>(o * stride - pad_before, 0, in);
  const int64_t hi = o == out - 1 ? in : std::clamp<int64_t>((o + 1) * stride - pad_before, 0, in);
  return Span{lo, hi};
}

// v beats best when larger, or when v is the first NaN seen
inline bool max_wins(float v, float best) { return v > best || (v != v && best == best); }

// One window of one image, seen from a channel block: cell (r, q) of the
// window holds its channels at base + r * row + q * col (row = w c, col = c).
struct Window {
  int64_t rows, cols, row, col;
  int64_t cells() const { return rows * cols; }
  int64_t at(int64_t k) const { return (k / cols) * row + (k % cols) * col; }
};

#if defined(__AVX512F__)
inline __mmask16 lane_mask(int64_t nch) {
  return nch >= kLanes ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << nch) - 1u);
}
// lanes where v beats best: v > best, or v is NaN and best is not
inline __mmask16 wins(__m512 v, __m512 best) {
  return _mm512_cmp_ps_mask(v, best, _CMP_NLE_UQ) & _mm512_cmp_ps_mask(best, best, _CMP_ORD_Q);
}
#endif

// out[ch] = max over the window of x[ch], ch < nch <= kLanes
inline void max_block(const float* x, const Window& win, int64_t nch, float* out) {
#if defined(__AVX512F__)
  const __mmask16 m = lane_mask(nch);
  __m512 best = _mm512_maskz_loadu_ps(m, x);
  for (int64_t r = 0; r < win.rows; ++r)
    for (int64_t q = 0; q < win.cols; ++q) {
      const __m512 v = _mm512_maskz_loadu_ps(m, x + r * win.row + q * win.col);
      best = _mm512_mask_mov_ps(best, wins(v, best), v);
    }
  _mm512_mask_storeu_ps(out, m, best);
#else
  float best[kLanes];
  for (int64_t ch = 0; ch < nch; ++ch) best[ch] = x[ch];
  for (int64_t r = 0; r < win.rows; ++r)
    for (int64_t q = 0; q < win.cols; ++q) {
      const float* xp = x + r * win.row + q * win.col;
#pragma omp simd
      for (int64_t ch = 0; ch < nch; ++ch) best[ch] = max_wins(xp[ch], best[ch]) ? xp[ch] : best[ch];
    }
  for (int64_t ch = 0; ch < nch; ++ch) out[ch] = best[ch];
#endif
}

// Gradient of one window's max for a channel block: the first maximum of each
// channel gets dy[ch]. overwrite: every cell of the window is stored (the
// winner's dy or 0); else the winner's cell accumulates dy (+=).
template <bool overwrite>
inline void max_backward_block(const float* x, const float* dy, const Window& win, int64_t nch,
                               float* dx) {
#if defined(__AVX512F__)
  const __mmask16 m = lane_mask(nch);
  __m512 best = _mm512_maskz_loadu_ps(m, x);
  __m512i arg = _mm512_setzero_si512();  // winning cell number k (row-major in the window)
  int k = 0;
  for (int64_t r = 0; r < win.rows; ++r)
    for (int64_t q = 0; q < win.cols; ++q, ++k) {
      const __m512 v = _mm512_maskz_loadu_ps(m, x + r * win.row + q * win.col);
      const __mmask16 w = wins(v, best);
      best = _mm512_mask_mov_ps(best, w, v);
      arg = _mm512_mask_mov_epi32(arg, w, _mm512_set1_epi32(k));
    }
  // + 0: a -0 gradient is stored as +0, as 0 + dy would give
  const __m512 g = _mm512_add_ps(_mm512_maskz_loadu_ps(m, dy), _mm512_setzero_ps());
  k = 0;
  for (int64_t r = 0; r < win.rows; ++r)
    for (int64_t q = 0; q < win.cols; ++q, ++k) {
      float* d = dx + r * win.row + q * win.col;
      const __mmask16 mine = _mm512_mask_cmpeq_epi32_mask(m, arg, _mm512_set1_epi32(k));
      if (overwrite) {
        _mm512_mask_storeu_ps(d, m, _mm512_maskz_mov_ps(mine, g));
      } else {  // adding +0 to the other lanes leaves them as they are (dx is never -0)
        const __m512 cur = _mm512_maskz_loadu_ps(m, d);
        _mm512_mask_storeu_ps(d, m, _mm512_add_ps(cur, _mm512_maskz_mov_ps(mine, g)));
      }
    }
#else
  float best[kLanes];
  int64_t arg[kLanes];
  for (int64_t ch = 0; ch < nch; ++ch) {
    best[ch] = x[ch];
    arg[ch] = 0;
  }
  for (int64_t k = 0; k < win.cells(); ++k) {
    const float* xp = x + win.at(k);
#pragma omp simd
    for (int64_t ch = 0; ch < nch; ++ch) {
      const bool w = max_wins(xp[ch], best[ch]);
      best[ch] = w ? xp[ch] : best[ch];
      arg[ch] = w ? k : arg[ch];
    }
  }
  if (overwrite) {
    for (int64_t k = 0; k < win.cells(); ++k) {
      float* d = dx + win.at(k);
#pragma omp simd
      for (int64_t ch = 0; ch < nch; ++ch) d[ch] = arg[ch] == k ? dy[ch] + 0.0f : 0.0f;
    }
  } else {
    for (int64_t ch = 0; ch < nch; ++ch) dx[win.at(arg[ch]) + ch] += dy[ch];
  }
#endif
}

// out[ch] = (sum over the window of x[ch], cells in row-major order from 0) * inv
inline void avg_block(const float* x, const Window& win, int64_t nch, float inv, float* out) {
#if defined(__AVX512F__)
  const __mmask16 m = lane_mask(nch);
  __m512 acc = _mm512_setzero_ps();
  for (int64_t r = 0; r < win.rows; ++r)
    for (int64_t q = 0; q < win.cols; ++q)
      acc = _mm512_add_ps(acc, _mm512_maskz_loadu_ps(m, x + r * win.row + q * win.col));
  _mm512_mask_storeu_ps(out, m, _mm512_mul_ps(acc, _mm512_set1_ps(inv)));
#else
  float acc[kLanes];
  for (int64_t ch = 0; ch < nch; ++ch) acc[ch] = 0.0f;
  for (int64_t k = 0; k < win.cells(); ++k) {
    const float* xp = x + win.at(k);
#pragma omp simd
    for (int64_t ch = 0; ch < nch; ++ch) acc[ch] += xp[ch];
  }
  for (int64_t ch = 0; ch < nch; ++ch) out[ch] = acc[ch] * inv;
#endif
}

// every cell of the window gets dy[ch] * inv (overwrite) or accumulates it; "+ 0.0f"
// and the product inside the sum keep the results those of dx = 0; dx += dy * inv
// (-0 becomes +0, the same rounding as the accumulating form)
template <bool overwrite>
inline void avg_backward_block(const float* dy, const Window& win, int64_t nch, float inv,
                               float* dx) {
  for (int64_t k = 0; k < win.cells(); ++k) {
    float* d = dx + win.at(k);
    if (overwrite) {
#pragma omp simd
      for (int64_t ch = 0; ch < nch; ++ch) d[ch] = dy[ch] * inv + 0.0f;
    } else {
#pragma omp simd
      for (int64_t ch = 0; ch < nch; ++ch) d[ch] += dy[ch] * inv;
    }
  }
}

inline bool overlapping(const Pool2dDesc& d) {
  return d.stride_h < d.pool_h || d.stride_w < d.pool_w;
}

inline int64_t pool_work(const Pool2dDesc& d) {
  return d.n * d.out_h * d.out_w * d.c * d.pool_h * d.pool_w;
}

// Runs fn(i, oy) for every image and output row, in parallel for large inputs.
template <class Fn>
void for_each_output_row(const Pool2dDesc& d, Fn fn) {
  const int64_t tasks = d.n * d.out_h;
  [[maybe_unused]] const bool big = pool_work(d) > kParallelWork && tasks > 1;
  parallel_for_chunks(tasks, rows_per_chunk(d.out_w * d.c * d.pool_h * d.pool_w),
                      [&](int64_t t0, int64_t t1) {
                        for (int64_t t = t0; t < t1; ++t) fn(t / d.out_h, t % d.out_h);
                      },
                      big);
}

// Writes the band of dx owned by output row oy of image i (non-overlapping
// windows): rows of the band outside the window rows and columns between or
// after the windows are set to 0; window(ox, dx_cell0, Window) fills each window.
template <class WindowFn>
void write_band(const Pool2dDesc& d, int64_t i, int64_t oy, float* dx, WindowFn window) {
  const int64_t c = d.c, row = d.w * c;
  const Span band = owned_band(oy, d.out_h, d.stride_h, d.pad_top, d.h);
  const Span ry = window_span(oy, d.stride_h, d.pad_top, d.pool_h, d.h);
  float* dxi = dx + i * d.h * row;
  for (int64_t iy = band.begin; iy < band.end; ++iy)
    if (ry.empty() || iy < ry.begin || iy >= ry.end)
      std::memset(dxi + iy * row, 0, sizeof(float) * row);
  if (ry.empty()) return;
  int64_t done = 0;  // columns [0, done) of the window rows are written
  auto zero_cols = [&](int64_t from, int64_t to) {
    if (to <= from) return;
    for (int64_t iy = ry.begin; iy < ry.end; ++iy)
      std::memset(dxi + iy * row + from * c, 0, sizeof(float) * (to - from) * c);
  };
  for (int64_t ox = 0; ox < d.out_w; ++ox) {
    const Span rx = window_span(ox, d.stride_w, d.pad_left, d.pool_w, d.w);
    if (rx.empty()) continue;
    zero_cols(done, rx.begin);
    const Window win{ry.end - ry.begin, rx.end - rx.begin, row, c};
    window(ox, (ry.begin * d.w + rx.begin) * c, win, dxi);
    done = rx.end;
  }
  zero_cols(done, d.w);
}

// Overlapping windows: dx of each image is zeroed, then window(i, oy, ox, dx_cell0, Window,
// dxi) adds into it for every non-empty window, in output order (one image per task, so
// the sums into a cell shared by several windows run in the same order on any thread).
template <class WindowFn>
void accumulate_windows(const Pool2dDesc& d, float* dx, WindowFn window) {
  const int64_t c = d.c, image = d.h * d.w * c;
  [[maybe_unused]] const bool big = pool_work(d) > kParallelWork && d.n > 1;
  parallel_for_chunks(d.n, 1, [&](int64_t i_begin, int64_t i_end) {
    for (int64_t i = i_begin; i < i_end; ++i) {
      float* dxi = dx + i * image;
      std::memset(dxi, 0, sizeof(float) * image);
      for (int64_t oy = 0; oy < d.out_h; ++oy) {
        const Span ry = window_span(oy, d.stride_h, d.pad_top, d.pool_h, d.h);
        for (int64_t ox = 0; ox < d.out_w; ++ox) {
          const Span rx = window_span(ox, d.stride_w, d.pad_left, d.pool_w, d.w);
          if (ry.empty() || rx.empty()) continue;
          const Window win{ry.end - ry.begin, rx.end - rx.begin, d.w * c, c};
          window(i, oy, ox, (ry.begin * d.w + rx.begin) * c, win, dxi);
        }
      }
    }
  }, big);
}

}  // namespace

// x (n, h, w, c) -> y (n, out_h, out_w, c)
void maxpool2d_forward(const Pool2dDesc& d, const float* x, float* y) {
  const int64_t c = d.c;
  for_each_output_row(d, [&](int64_t i, int64_t oy) {
    const float* xi = x + i * d.h * d.w * c;
    const Span ry = window_span(oy, d.stride_h, d.pad_top, d.pool_h, d.h);
    for (int64_t ox = 0; ox < d.out_w; ++ox) {
      const Span rx = window_span(ox, d.stride_w, d.pad_left, d.pool_w, d.w);
      float* yo = y + ((i * d.out_h + oy) * d.out_w + ox) * c;
      if (ry.empty() || rx.empty()) {
        std::fill(yo, yo + c, 0.0f);
        continue;
      }
      const Window win{ry.end - ry.begin, rx.end - rx.begin, d.w * c, c};
      const float* x0 = xi + (ry.begin * d.w + rx.begin) * c;
      for (int64_t c0 = 0; c0 < c; c0 += kLanes)
        max_block(x0 + c0, win, std::min(kLanes, c - c0), yo + c0);
    }
  });
}

// x (n, h, w, c), dy (n, out_h, out_w, c) -> dx (n, h, w, c)
void maxpool2d_backward(const Pool2dDesc& d, const float* x, const float* dy, float* dx) {
  const int64_t c = d.c;
  if (!overlapping(d)) {
    for_each_output_row(d, [&](int64_t i, int64_t oy) {
      const float* xi = x + i * d.h * d.w * c;
      write_band(d, i, oy, dx, [&](int64_t ox, int64_t cell0, const Window& win, float* dxi) {
        const float* dyo = dy + ((i * d.out_h + oy) * d.out_w + ox) * c;
        for (int64_t c0 = 0; c0 < c; c0 += kLanes)
          max_backward_block<true>(xi + cell0 + c0, dyo + c0, win, std::min(kLanes, c - c0),
                                   dxi + cell0 + c0);
      });
    });
    return;
  }
  accumulate_windows(d, dx, [&](int64_t i, int64_t oy, int64_t ox, int64_t cell0,
                                const Window& win, float* dxi) {
    const float* xi = x + i * d.h * d.w * c;
    const float* dyo = dy + ((i * d.out_h + oy) * d.out_w + ox) * c;
    for (int64_t c0 = 0; c0 < c; c0 += kLanes)
      max_backward_block<false>(xi + cell0 + c0, dyo + c0, win, std::min(kLanes, c - c0),
                                dxi + cell0 + c0);
  });
}

// x (n, h, w, c) -> y (n, out_h, out_w, c); divisor = number of non-padding cells
void avgpool2d_forward(const Pool2dDesc& d, const float* x, float* y) {
  const int64_t c = d.c;
  for_each_output_row(d, [&](int64_t i, int64_t oy) {
    const float* xi = x + i * d.h * d.w * c;
    const Span ry = window_span(oy, d.stride_h, d.pad_top, d.pool_h, d.h);
    for (int64_t ox = 0; ox < d.out_w; ++ox) {
      const Span rx = window_span(ox, d.stride_w, d.pad_left, d.pool_w, d.w);
      float* yo = y + ((i * d.out_h + oy) * d.out_w + ox) * c;
      if (ry.empty() || rx.empty()) {
        std::fill(yo, yo + c, 0.0f);
        continue;
      }
      const Window win{ry.end - ry.begin, rx.end - rx.begin, d.w * c, c};
      const float inv = 1.0f / static_cast<float>(win.cells());
      const float* x0 = xi + (ry.begin * d.w + rx.begin) * c;
      for (int64_t c0 = 0; c0 < c; c0 += kLanes)
        avg_block(x0 + c0, win, std::min(kLanes, c - c0), inv, yo + c0);
    }
  });
}

// dy (n, out_h, out_w, c) -> dx (n, h, w, c)
void avgpool2d_backward(const Pool2dDesc& d, const float* dy, float* dx) {
  const int64_t c = d.c;
  if (!overlapping(d)) {
    for_each_output_row(d, [&](int64_t i, int64_t oy) {
      write_band(d, i, oy, dx, [&](int64_t ox, int64_t cell0, const Window& win, float* dxi) {
        const float* dyo = dy + ((i * d.out_h + oy) * d.out_w + ox) * c;
        const float inv = 1.0f / static_cast<float>(win.cells());
        for (int64_t c0 = 0; c0 < c; c0 += kLanes)
          avg_backward_block<true>(dyo + c0, win, std::min(kLanes, c - c0), inv, dxi + cell0 + c0);
      });
    });
    return;
  }
  accumulate_windows(d, dx, [&](int64_t i, int64_t oy, int64_t ox, int64_t cell0,
                                const Window& win, float* dxi) {
    const float* dyo = dy + ((i * d.out_h + oy) * d.out_w + ox) * c;
    const float inv = 1.0f / static_cast<float>(win.cells());
    for (int64_t c0 = 0; c0 < c; c0 += kLanes)
      avg_backward_block<false>(dyo + c0, win, std::min(kLanes, c - c0), inv, dxi + cell0 + c0);
  });
}
// x (n, hw, c) -> y (n, c): mean over hw, summed in double
void global_avgpool_forward(int64_t n, int64_t hw, int64_t c, const float* x, float* y) {
  parallel_for_chunks(n, rows_per_chunk(hw * c), [&](int64_t i0, int64_t i1) {
    std::vector<double> acc(c);
    for (int64_t i = i0; i < i1; ++i) {
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
  }, n * hw * c > 32768 && n > 1);
}

// dy (n, c) -> dx (n, hw, c): dx[i, p, ch] = dy[i, ch] / hw
void global_avgpool_backward(int64_t n, int64_t hw, int64_t c, const float* dy, float* dx) {
  const float inv = hw > 0 ? 1.0f / static_cast<float>(hw) : 0.0f;
  parallel_for_chunks(n, rows_per_chunk(hw * c), [&](int64_t i_begin, int64_t i_end) {
    for (int64_t i = i_begin; i < i_end; ++i) {
      const float* dyi = dy + i * c;
      for (int64_t p = 0; p < hw; ++p) {
        float* dxp = dx + (i * hw + p) * c;
#pragma omp simd
        for (int64_t ch = 0; ch < c; ++ch) dxp[ch] = dyi[ch] * inv;
      }
    }
  }, n * hw * c > 32768 && n > 1);
}

}  // namespace cpu
}  // namespace cudnn_lite
