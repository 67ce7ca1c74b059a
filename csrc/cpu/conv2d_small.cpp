// conv2d_small.cpp: direct NHWC convolution for few input channels (c <= 4,
// kernel width 2 or 3: the first layers of the textbook networks).
//
// With so few channels the reduction of one output pixel is only
// T = kh * kw * c taps (9, 12, 27), and the general direct kernels spent more
// time gathering those taps (and chasing a pointer per pixel) than multiplying.
// Here c and kw are template parameters, so every tap of a pixel is a
// compile-time offset from one pointer into the zero-padded image
// xpad (hp, wp, c): tap (ky, kx, ci) of the pixel whose window starts at xp is
// xp[ky * wp * c + kx * c + ci], i.e. row ky * J + j of the (T, k) kernel with
// J = kw * c, j = kx * c + ci. Nothing is gathered or copied besides the padding.
//
//   forward (stride 1): an implicit GEMM y (pixels, k) = patches (pixels, T) @ w (T, k).
//     A register tile is P consecutive "virtual" pixels v = oy * wp + ox of one
//     image, over the padded width (the kw - 1 columns ox >= out_w of each row
//     are computed and not stored), so a tile runs on across output rows and
//     pixel q's window starts at xpad + (v0 + q) * c. Per tap: KV vector loads
//     of w, P broadcasts of x, P * KV FMAs.
//   backward filter (any stride): dw (T, k) = sum over pixels of
//     patch^T (T, 1) x dy (1, k). A register tile holds NKY kernel rows of dw
//     (NKY * J rows) x KV vectors of channels, accumulated over a block of output
//     rows: per pixel KV vector loads of dy and NKY * J broadcasts of x. The
//     output rows are cut into blocks fixed by the shape, each block sums into
//     its own partial dw, and the partials are added in block order: the result
//     does not depend on the thread count.
#include "cpu/conv2d_small.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "cpu/conv2d_direct.h"  // pad_image
#include "cpu/conv2d_simd.h"
#include "cpu/epilogue.h"
#include "cpu/gemm_driver.h"  // gemm::thread_buffer
#include "cpu/parallel.h"  // parallel_chunks

namespace cudnn_lite {
namespace cpu {
namespace direct {
namespace {

using namespace simd;  // vec, kL, vload, vfma, ... (conv2d_simd.h)

constexpr int64_t kMaxSmallChannels = 4;
// accumulator vectors a backward-filter tile may hold (of 32 zmm / 16 ymm / 16 xmm)
#if defined(__AVX512F__)
constexpr int kBwfAcc = 24;
#else
constexpr int kBwfAcc = 12;
#endif
// output pixels per backward-filter block (its dy stays in L2 across the passes)
constexpr int64_t kBwfBlockPixels = 1024;
constexpr int64_t kBwfMaxBlocks = 512;          // bound the partials' count
constexpr int64_t kBwfMaxPartialFloats = 1 << 22;  // and their memory (16 MiB)

inline bool small_shape(const Conv2dDesc& d) {
  return d.c >= 1 && d.c <= kMaxSmallChannels && (d.kw == 2 || d.kw == 3) && d.kh >= 1;
}

// ------------------------------------------------------------- forward

struct SmallEpilogue {
  const float* bias;  // padded to whole blocks, offset to this block, or nullptr
  Activation act;
  float alpha;
};

// y for the virtual pixels v0 .. v0 + P - 1 of one image (xs = xpad + v0 * c,
// rows xrow floats apart) and KB output channels (nk of them valid; w is this
// block's (T, KB) slice of the packed kernel). Pixel q is stored when q < np and
// its column is inside the output; y points at the first stored pixel's row,
// ldy floats apart; ox0 is v0's column.
template <int C, int KW, int KV, int P>
void fwd_tile(const float* __restrict xs, int64_t xrow, int64_t kh, const float* __restrict w,
              float* __restrict y, int64_t ldy, int64_t ox0, int64_t out_w, int64_t wp, int np,
              int nk, const SmallEpilogue& ep) {
  constexpr int J = KW * C, KB = KV * kL;
  vec acc[P][KV];
#pragma GCC unroll 32
  for (int q = 0; q < P; ++q)
#pragma GCC unroll 4
    for (int v = 0; v < KV; ++v) acc[q][v] = vzero();
  for (int64_t ky = 0; ky < kh; ++ky) {
    const float* xk = xs + ky * xrow;
    const float* wk = w + ky * J * KB;
#pragma GCC unroll 12
    for (int j = 0; j < J; ++j) {
      vec wv[KV];
#pragma GCC unroll 4
      for (int v = 0; v < KV; ++v) wv[v] = vload(wk + j * KB + v * kL);
#pragma GCC unroll 32
      for (int q = 0; q < P; ++q) {
        const vec b = vbcast(xk + q * C + j);
#pragma GCC unroll 4
        for (int v = 0; v < KV; ++v) acc[q][v] = vfma(b, wv[v], acc[q][v]);
      }
    }
  }
  vec bias[KV];
#pragma GCC unroll 4
  for (int v = 0; v < KV; ++v) bias[v] = ep.bias ? vload(ep.bias + v * kL) : vzero();
  const bool vector_act = ep.act == Activation::linear || ep.act == Activation::relu ||
                          ep.act == Activation::leaky_relu;
  int64_t ox = ox0;
#pragma GCC unroll 32
  for (int q = 0; q < P; ++q) {
    if (q < np && ox < out_w) {
#pragma GCC unroll 4
      for (int v = 0; v < KV; ++v) {
        vec r = ep.bias ? vadd(acc[q][v], bias[v]) : acc[q][v];
        if (ep.act == Activation::relu) r = vrelu(r);
        else if (ep.act == Activation::leaky_relu) r = vleaky(r, ep.alpha);
        if (nk == KB) vstore(y + v * kL, r);
        else if (nk > v * kL) vstore_n(y + v * kL, r, nk - v * kL);
      }
      if (!vector_act) apply_epilogue_row(y, nk, nullptr, ep.act, ep.alpha);
      y += ldy;
    }
    if (++ox == wp) ox = 0;
  }
}

template <int C, int KW, int KV>
void forward_impl(const Conv2dDesc& d, const float* x, const float* w, const Epilogue& ep,
                  float* y) {
  constexpr int64_t KB = KV * kL, P = kFwdPixels[KV];
  const int64_t k = d.k, T = d.kh * KW * C;
  const int64_t nkb = (k + KB - 1) / KB, kpad = nkb * KB;
  // packed kernel (nkb, T, KB), zero past k; padded bias (kpad)
  std::vector<float> wpk(static_cast<size_t>(nkb * T * KB), 0.0f), bias;
  for (int64_t kb = 0; kb < nkb; ++kb) {
    const int64_t nk = std::min(KB, k - kb * KB);
    for (int64_t r = 0; r < T; ++r)
      std::memcpy(&wpk[static_cast<size_t>((kb * T + r) * KB)], w + r * k + kb * KB,
                  sizeof(float) * static_cast<size_t>(nk));
  }
  if (ep.bias) {
    bias.assign(static_cast<size_t>(kpad), 0.0f);
    std::memcpy(bias.data(), ep.bias, sizeof(float) * static_cast<size_t>(k));
  }
  const int64_t hp = d.h + d.pad_top + d.pad_bottom, wp = d.w + d.pad_left + d.pad_right;
  const int64_t xrow = wp * C, padded = hp * xrow;
  // a tile's last pixels may read up to P pixels past the padded image (never stored)
  const int64_t slack = (P + KW) * C + kL;
  const int64_t vend = (d.out_h - 1) * wp + d.out_w;  // virtual pixels per image
  const int64_t tiles = (vend + P - 1) / P, total = d.n * tiles;
  // chunks fixed by the shape: one image each (padded once), or with few images
  // a fixed share of an image's tiles (each chunk pads its image again)
  const int64_t per = d.n >= 8 ? tiles : std::max<int64_t>(1, tiles / 8);
  const int64_t per_image = (tiles + per - 1) / per;
  (void)total;
  parallel_chunks(d.n * per_image, [&](int64_t chunk) {
    const int64_t b = chunk / per_image, t0 = (chunk % per_image) * per;
    const int64_t t1 = std::min(tiles, t0 + per);
    float* xpad = gemm::thread_buffer(gemm::kSlotConv, static_cast<size_t>(padded + slack));
    std::memset(xpad + padded, 0, sizeof(float) * static_cast<size_t>(slack));
    pad_image(d, x + b * d.h * d.w * C, xpad);
    for (int64_t tile = t0; tile < t1; ++tile) {
      const int64_t v0 = tile * P;
      const int np = static_cast<int>(std::min(P, vend - v0));
      const int64_t oy = v0 / wp, ox0 = v0 % wp;
      // first stored pixel: (oy, ox0), or the next row's first when ox0 is past the output
      float* yt = y + (b * d.out_h * d.out_w + oy * d.out_w + std::min(ox0, d.out_w)) * k;
      for (int64_t kb = 0; kb < nkb; ++kb) {
        const int nk = static_cast<int>(std::min(KB, k - kb * KB));
        const SmallEpilogue fe{ep.bias ? bias.data() + kb * KB : nullptr, ep.act, ep.alpha};
        fwd_tile<C, KW, KV, P>(xpad + v0 * C, xrow, d.kh, wpk.data() + kb * T * KB, yt + kb * KB,
                               k, ox0, d.out_w, wp, np, nk, fe);
      }
    }
  });
}

template <int C, int KW>
void forward_kv(const Conv2dDesc& d, const float* x, const float* w, const Epilogue& ep,
                float* y) {
  if (kMaxKV >= 4 && d.k > 2 * kL)
    forward_impl<C, KW, kMaxKV>(d, x, w, ep, y);
  else if (d.k > kL)
    forward_impl<C, KW, 2>(d, x, w, ep, y);
  else
    forward_impl<C, KW, 1>(d, x, w, ep, y);
}

template <int C>
void forward_kw(const Conv2dDesc& d, const float* x, const float* w, const Epilogue& ep,
                float* y) {
  if (d.kw == 2)
    forward_kv<C, 2>(d, x, w, ep, y);
  else
    forward_kv<C, 3>(d, x, w, ep, y);
}

// ------------------------------------------------------------ backward filter

// out (NKY * J rows of KB floats; this block's channels) +=
//   sum over nrows output rows of npx pixels: patch rows of x times dy,
// where x is xpad at the first row's window (kernel row ky0), output rows
// xrs floats apart, pixels ps apart, kernel rows xrow apart; dy rows dyrs
// apart, pixels ldy apart, nk valid channels (the rest read as zero).
template <int C, int KW, int NKY, int KV>
void bwf_tile(const float* __restrict x, int64_t xrow, int64_t xrs, int64_t ps,
              const float* __restrict dy, int64_t ldy, int64_t dyrs, int64_t npx, int64_t nrows,
              int nk, float* __restrict out) {
  constexpr int J = KW * C, M = NKY * J, KB = KV * kL;
  vec acc[M][KV];
#pragma GCC unroll 32
  for (int m = 0; m < M; ++m)
#pragma GCC unroll 4
    for (int v = 0; v < KV; ++v) acc[m][v] = vload(out + m * KB + v * kL);
  for (int64_t row = 0; row < nrows; ++row) {
    const float* xp = x + row * xrs;
    const float* gp = dy + row * dyrs;
    for (int64_t p = 0; p < npx; ++p, xp += ps, gp += ldy) {
      vec g[KV];
#pragma GCC unroll 4
      for (int v = 0; v < KV; ++v) g[v] = vload_n(gp + v * kL, nk - v * kL);
#pragma GCC unroll 32
      for (int m = 0; m < M; ++m) {
        const vec b = vbcast(xp + (m / J) * xrow + m % J);
#pragma GCC unroll 4
        for (int v = 0; v < KV; ++v) acc[m][v] = vfma(b, g[v], acc[m][v]);
      }
    }
  }
#pragma GCC unroll 32
  for (int m = 0; m < M; ++m)
#pragma GCC unroll 4
    for (int v = 0; v < KV; ++v) vstore(out + m * KB + v * kL, acc[m][v]);
}

template <int C, int KW, int NKY, int KV>
void backward_filter_impl(const Conv2dDesc& d, const float* x, const float* dy, float* dw) {
  constexpr int64_t KB = KV * kL, J = KW * C;
  const int64_t k = d.k, T = d.kh * J;
  const int64_t nkb = (k + KB - 1) / KB, size = nkb * T * KB;
  const int64_t hp = d.h + d.pad_top + d.pad_bottom, wp = d.w + d.pad_left + d.pad_right;
  const int64_t xrow = wp * C, rows = d.n * d.out_h;
  // blocks of output rows, fixed by the shape alone
  int64_t block_rows = std::max<int64_t>(1, kBwfBlockPixels / d.out_w);
  const int64_t max_blocks = std::max<int64_t>(1, std::min(kBwfMaxBlocks, kBwfMaxPartialFloats / size));
  block_rows = std::max(block_rows, (rows + max_blocks - 1) / max_blocks);
  const int64_t blocks = (rows + block_rows - 1) / block_rows;
  std::vector<float> partial(static_cast<size_t>(blocks * size), 0.0f);  // per block: (nkb, T, KB)
  parallel_chunks(blocks, [&](int64_t blk) {  // any thread, any block: partials per block
    float* xpad = gemm::thread_buffer(gemm::kSlotConv, static_cast<size_t>(hp * xrow));
    int64_t padded_image = -1;
    float* acc = partial.data() + blk * size;
    const int64_t r1 = std::min(rows, (blk + 1) * block_rows);
    for (int64_t r = blk * block_rows; r < r1;) {
      const int64_t b = r / d.out_h, oy = r % d.out_h;
      const int64_t nrows = std::min(r1 - r, d.out_h - oy);  // same image
      if (b != padded_image) {
        pad_image(d, x + b * d.h * d.w * C, xpad);
        padded_image = b;
      }
      const float* src = xpad + oy * d.stride_h * xrow;
      const float* g = dy + r * d.out_w * k;
      for (int64_t kb = 0; kb < nkb; ++kb) {
        const int nk = static_cast<int>(std::min(KB, k - kb * KB));
        for (int64_t ky = 0; ky < d.kh; ky += NKY)
          bwf_tile<C, KW, NKY, KV>(src + ky * xrow, xrow, d.stride_h * xrow, d.stride_w * C,
                                   g + kb * KB, k, d.out_w * k, d.out_w, nrows, nk,
                                   acc + (kb * T + ky * J) * KB);
      }
      r += nrows;
    }
  });
  const int64_t per = rows_per_chunk(k * blocks);
  parallel_chunks((T + per - 1) / per, [&](int64_t chunk) {  // dw[tr, kk] = sum over blocks in order
    for (int64_t tr = chunk * per; tr < std::min(T, (chunk + 1) * per); ++tr) {
      for (int64_t kk = 0; kk < k; ++kk) {
        const int64_t e = ((kk / KB) * T + tr) * KB + kk % KB;
        float s = partial[static_cast<size_t>(e)];
        for (int64_t p = 1; p < blocks; ++p) s += partial[static_cast<size_t>(p * size + e)];
        dw[tr * k + kk] = s;
      }
    }
  }, blocks > 1);
}

// The widest channel block, then the most kernel rows per tile, that fit the
// accumulator budget (kh rows at once when kh is 2 or 3, else one).
template <int C, int KW, int KV>
void backward_filter_nky(const Conv2dDesc& d, const float* x, const float* dy, float* dw) {
  constexpr int J = KW * C;
  if constexpr (3 * J * KV <= kBwfAcc) {
    if (d.kh == 3) return backward_filter_impl<C, KW, 3, KV>(d, x, dy, dw);
  }
  if constexpr (2 * J * KV <= kBwfAcc) {
    if (d.kh == 2) return backward_filter_impl<C, KW, 2, KV>(d, x, dy, dw);
  }
  backward_filter_impl<C, KW, 1, KV>(d, x, dy, dw);
}

template <int C, int KW>
void backward_filter_kv(const Conv2dDesc& d, const float* x, const float* dy, float* dw) {
  constexpr int J = KW * C;
  if constexpr (2 * J <= kBwfAcc && kMaxKV >= 2) {
    if (d.k > kL) return backward_filter_nky<C, KW, 2>(d, x, dy, dw);
  }
  backward_filter_nky<C, KW, 1>(d, x, dy, dw);
}

template <int C>
void backward_filter_kw(const Conv2dDesc& d, const float* x, const float* dy, float* dw) {
  if (d.kw == 2)
    backward_filter_kv<C, 2>(d, x, dy, dw);
  else
    backward_filter_kv<C, 3>(d, x, dy, dw);
}

}  // namespace

bool small_forward_applies(const Conv2dDesc& d) {
  return small_shape(d) && d.stride_h == 1 && d.stride_w == 1;
}

void conv2d_forward_small(const Conv2dDesc& d, const float* x, const float* w,
                          const Epilogue& ep, float* y) {
  if (d.n * d.out_h * d.out_w == 0) return;
  switch (d.c) {
    case 1: return forward_kw<1>(d, x, w, ep, y);
    case 2: return forward_kw<2>(d, x, w, ep, y);
    case 3: return forward_kw<3>(d, x, w, ep, y);
    default: return forward_kw<4>(d, x, w, ep, y);
  }
}

bool small_backward_filter_applies(const Conv2dDesc& d) {
  return small_shape(d) && d.kw * d.c <= kBwfAcc;  // one kernel row's taps fit a tile
}

void conv2d_backward_filter_small(const Conv2dDesc& d, const float* x, const float* dy,
                                  float* dw) {
  if (d.n * d.out_h * d.out_w == 0) {
    std::memset(dw, 0, sizeof(float) * static_cast<size_t>(d.kh * d.kw * d.c * d.k));
    return;
  }
  switch (d.c) {
    case 1: return backward_filter_kw<1>(d, x, dy, dw);
    case 2: return backward_filter_kw<2>(d, x, dy, dw);
    case 3: return backward_filter_kw<3>(d, x, dy, dw);
    default: return backward_filter_kw<4>(d, x, dy, dw);
  }
}

}  // namespace direct
}  // namespace cpu
}  // namespace cudnn_lite
