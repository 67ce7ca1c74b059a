// conv2d_direct.cpp: direct NHWC convolution, forward and backward-filter.
//
// Each image is copied once into a per-thread zero-padded buffer
// xpad (h + pad_top + pad_bottom, w + pad_left + pad_right, c), so the kernels
// never test borders. For output pixel (oy, ox) and kernel row ky, the
// kw * c inputs it multiplies, xpad[oy*sh + ky, ox*sw + kx, ci] for
// (kx, ci) in row-major order, are contiguous: one "source run" of J = kw * c
// floats, matching rows ky*J .. ky*J + J - 1 of w seen as a (kh*kw*c, k) matrix.
// With few input channels (first layers) the runs are too short to amortise
// the loop overhead, so the kh runs of each pixel are first gathered into one
// run of T = kh*kw*c floats (a tiny im2col of one output row or chunk).
//
//   forward:          register tile of P consecutive output pixels x KB output
//                     channels; per source float one broadcast x KV vector FMAs.
//   backward filter:  register tile of M rows of dw (consecutive (kx, ci) of one
//                     ky) x KB output channels, accumulated over a chunk of
//                     output pixels: per pixel KV vector loads of dy and M
//                     broadcasts of x. The tile lives in a per-thread partial
//                     dw between chunks.
// KB = KV * kL, kL the floats per SIMD vector (AVX-512: 16, AVX2: 8, scalar: 1).
#include "cpu/conv2d_direct.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "cpu/conv2d_simd.h"
#include "cpu/epilogue.h"
#include "cpu/gemm_driver.h"  // gemm::thread_buffer
#include "cpu/parallel.h"  // parallel_chunks

namespace cudnn_lite {
namespace cpu {
namespace direct {
namespace {

using namespace simd;  // vec, kL, vload, vfma, ... (conv2d_simd.h)

constexpr int64_t kChunkBytes = 24576;  // kernel bytes per forward reduction chunk (L1)
// backward filter: output pixels per block of the reduction, and bounds on the blocks
constexpr int64_t kBwfBlockPixels = 2048;
constexpr int64_t kBwfMaxBlocks = 16;
constexpr int64_t kBwfMaxPartialFloats = 1 << 22;  // 16 MiB

// Inputs this few channels per kernel row are gathered into one run per pixel.
inline bool use_gathered_runs(const Conv2dDesc& d) { return d.kw * d.c < 16; }

// Gathers the T = kh*kw*c inputs of npx output pixels of one output row into
// col (npx, T). src is xpad at (oy * sh, ox0 * sw).
void gather_runs(const Conv2dDesc& d, const float* src, int64_t npx, float* col) {
  const int64_t run = d.kw * d.c, row = (d.w + d.pad_left + d.pad_right) * d.c;
  const int64_t ps = d.stride_w * d.c, T = d.kh * run;
  for (int64_t q = 0; q < npx; ++q)
    for (int64_t ky = 0; ky < d.kh; ++ky) {
      const float* s = src + q * ps + ky * row;
      float* o = col + q * T + ky * run;
      for (int64_t j = 0; j < run; ++j) o[j] = s[j];
    }
}

// Where a kernel finds its inputs: pixel q's run for kernel row ky starts at
// x + q * ps + ky * ys and is J floats long; nky kernel rows. The kernel's rows
// for kernel row ky start wys rows after those of ky = 0.
struct Source {
  int64_t ps, nky, ys, J, wys;
};

// ------------------------------------------------------------- forward

struct FwdEpilogue {
  const float* bias;  // padded to whole blocks, offset to this block, or nullptr
  Activation act;
  float alpha;
};

// For P pixels (y rows ldy apart; nk valid channels of this block):
//   acc = (first ? 0 : y) + sum over ky, j of x[q*ps + ky*ys + j] * w[(ky*wys + j) * KB + lane]
//   y = last ? epilogue(acc) : acc
// w is this block's slice of the packed kernel, rows of KB floats.
template <int KV, int P>
void fwd_tile(const float* const* xq, int64_t xoff, const Source& s, const float* __restrict w,
              float* __restrict y, int64_t ldy, int nk, bool first, bool last,
              const FwdEpilogue& ep) {
  constexpr int KB = KV * kL;
  vec acc[P][KV];
  if (first) {
#pragma GCC unroll 32
    for (int q = 0; q < P; ++q)
#pragma GCC unroll 4
      for (int v = 0; v < KV; ++v) acc[q][v] = vzero();
  } else {
#pragma GCC unroll 32
    for (int q = 0; q < P; ++q)
#pragma GCC unroll 4
      for (int v = 0; v < KV; ++v)
        acc[q][v] = nk == KB ? vload(y + q * ldy + v * kL) : vload_n(y + q * ldy + v * kL, nk - v * kL);
  }
  const int64_t J = s.J;
  for (int64_t ky = 0; ky < s.nky; ++ky) {
    const float* xk[P];
#pragma GCC unroll 32
    for (int q = 0; q < P; ++q) xk[q] = xq[q] + xoff + ky * s.ys;
    const float* wk = w + ky * s.wys * KB;
    for (int64_t j = 0; j < J; ++j) {
      vec wv[KV];
#pragma GCC unroll 4
      for (int v = 0; v < KV; ++v) wv[v] = vload(wk + j * KB + v * kL);
#pragma GCC unroll 32
      for (int q = 0; q < P; ++q) {
        const vec b = vbcast(xk[q] + j);
#pragma GCC unroll 4
        for (int v = 0; v < KV; ++v) acc[q][v] = vfma(b, wv[v], acc[q][v]);
      }
    }
  }
  vec bias[KV];
#pragma GCC unroll 4
  for (int v = 0; v < KV; ++v) bias[v] = last && ep.bias ? vload(ep.bias + v * kL) : vzero();
  const Activation act = last ? ep.act : Activation::linear;
  const bool add_bias = last && ep.bias;
  const bool vector_act =
      act == Activation::linear || act == Activation::relu || act == Activation::leaky_relu;
#pragma GCC unroll 32
  for (int q = 0; q < P; ++q) {
    float* yq = y + q * ldy;
#pragma GCC unroll 4
    for (int v = 0; v < KV; ++v) {
      vec r = add_bias ? vadd(acc[q][v], bias[v]) : acc[q][v];
      if (act == Activation::relu) r = vrelu(r);
      else if (act == Activation::leaky_relu) r = vleaky(r, ep.alpha);
      if (nk == KB) vstore(yq + v * kL, r);
      else if (nk > v * kL) vstore_n(yq + v * kL, r, nk - v * kL);
    }
    if (!vector_act) apply_epilogue_row(yq, nk, nullptr, act, ep.alpha);
  }
}

// fwd_tile for np pixels, 1 <= np <= P.
template <int KV, int P = kFwdPixels[KV]>
void fwd_tile_n(int np, const float* const* xq, int64_t xoff, const Source& s, const float* w, float* y, int64_t ldy,
                int nk, bool first, bool last, const FwdEpilogue& ep) {
  if constexpr (P >= 1) {
    if (np == P)
      fwd_tile<KV, P>(xq, xoff, s, w, y, ldy, nk, first, last, ep);
    else
      fwd_tile_n<KV, P - 1>(np, xq, xoff, s, w, y, ldy, nk, first, last, ep);
  }
}

// A slice of the reduction (kernel rows ky0 .. ky0+nky-1, run floats j0 .. j0+J-1)
// whose kernel block (nky * J rows of KB floats) stays in L1 while it is
// applied to every pixel tile of a group of output rows.
struct Chunk {
  int64_t ky0, nky, j0, J;
};

std::vector<Chunk> make_chunks(int64_t nky, int64_t J, int64_t max_rows) {
  std::vector<Chunk> chunks;
  if (J <= max_rows) {
    const int64_t g = std::max<int64_t>(1, max_rows / J);  // kernel rows per chunk
    for (int64_t ky = 0; ky < nky; ky += g) chunks.push_back({ky, std::min(g, nky - ky), 0, J});
  } else {
    const int64_t pieces = (J + max_rows - 1) / max_rows, len = (J + pieces - 1) / pieces;
    for (int64_t ky = 0; ky < nky; ++ky)
      for (int64_t j0 = 0; j0 < J; j0 += len) chunks.push_back({ky, 1, j0, std::min(len, J - j0)});
  }
  return chunks;
}

template <int KV>
void forward_impl(const Conv2dDesc& d, const float* x, const float* w, const Epilogue& ep,
                  float* y) {
  constexpr int64_t KB = KV * kL;
  const int64_t c = d.c, k = d.k, T = d.kh * d.kw * c;
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
  const bool gathered = use_gathered_runs(d);
  const int64_t hp = d.h + d.pad_top + d.pad_bottom, wp = d.w + d.pad_left + d.pad_right;
  const int64_t xrow = wp * c, rows = d.n * d.out_h;
  const int64_t J = gathered ? T : d.kw * c, nky = gathered ? 1 : d.kh;
  const std::vector<Chunk> chunks = make_chunks(nky, J, kChunkBytes / (KB * 4));
  // output rows per group: about 256 pixels (x, y of a group stay in L2)
  const int64_t group = std::max<int64_t>(1, 256 / d.out_w);
  // chunks fixed by the shape: one image each (padded once), or with few images
  // one row group each (each pads its image)
  const int64_t chunk_rows = d.n >= 8 ? d.out_h : group;
  const int64_t per_image = (d.out_h + chunk_rows - 1) / chunk_rows;
  parallel_chunks(d.n * per_image, [&](int64_t chunk) {
    const int64_t r0 = (chunk / per_image) * d.out_h + (chunk % per_image) * chunk_rows;
    const int64_t r1 = std::min((chunk / per_image + 1) * d.out_h, r0 + chunk_rows);
    float* xpad = gemm::thread_buffer(gemm::kSlotConv, static_cast<size_t>(hp * xrow));
    float* col = gathered ? gemm::thread_buffer(gemm::kSlotPackA,
                                                static_cast<size_t>(group * d.out_w * T))
                          : nullptr;
    std::vector<const float*> px(static_cast<size_t>(group * d.out_w));  // per pixel: its source
    int64_t padded_image = -1;
    for (int64_t r = r0; r < r1;) {
      const int64_t b = r / d.out_h, oy = r % d.out_h;
      const int64_t nrows = std::min({group, r1 - r, d.out_h - oy});  // same image
      if (b != padded_image) {
        pad_image(d, x + b * d.h * d.w * c, xpad);
        padded_image = b;
      }
      const float* src = xpad + oy * d.stride_h * xrow;
      float* yg = y + r * d.out_w * k;
      Source s{d.stride_w * c, 0, xrow, 0, J};
      if (gathered) {  // one run of T per pixel
        for (int64_t i = 0; i < nrows; ++i)
          gather_runs(d, src + i * d.stride_h * xrow, d.out_w, col + i * d.out_w * T);
        s.ys = 0;
      }
      const int64_t npx = nrows * d.out_w;
      for (int64_t i = 0; i < nrows; ++i)
        for (int64_t ox = 0; ox < d.out_w; ++ox)
          px[static_cast<size_t>(i * d.out_w + ox)] =
              gathered ? col + (i * d.out_w + ox) * T : src + i * d.stride_h * xrow + ox * s.ps;
      // pixel tiles (consecutive pixels, across rows): near-equal sizes
      const int64_t ntiles = (npx + kFwdPixels[KV] - 1) / kFwdPixels[KV];
      const int64_t P = (npx + ntiles - 1) / ntiles;
      for (int64_t kb = 0; kb < nkb; ++kb) {
        const int nk = static_cast<int>(std::min(KB, k - kb * KB));
        const FwdEpilogue fe{ep.bias ? bias.data() + kb * KB : nullptr, ep.act, ep.alpha};
        for (size_t ci = 0; ci < chunks.size(); ++ci) {
          const Chunk& ch = chunks[ci];
          const bool first = ci == 0, last = ci + 1 == chunks.size();
          Source sc = s;
          sc.nky = ch.nky;
          sc.J = ch.J;
          const float* wc = wpk.data() + (kb * T + ch.ky0 * J + ch.j0) * KB;
          const int64_t xoff = ch.ky0 * s.ys + ch.j0;
          for (int64_t q0 = 0; q0 < npx; q0 += P) {
            const int np = static_cast<int>(std::min(P, npx - q0));
            fwd_tile_n<KV>(np, px.data() + q0, xoff, sc, wc, yg + q0 * k + kb * KB, k, nk, first,
                           last, fe);
          }
        }
      }
      r += nrows;
    }
  });
}

// ------------------------------------------------------------ backward filter

// acc (M rows, KB apart; this block's KB channels) +=
//   sum over nrows rows of npx pixels: x[row*xrs + p*ps + m] * dy[row*dyrs + p*ldy + lane]
// with nk valid channels in dy (the rest read as zero).
template <int KV, int M, bool kFull>
void bwf_tile(const float* __restrict x, int64_t ps, int64_t xrs, const float* __restrict dy,
              int64_t ldy, int64_t dyrs, int64_t npx, int64_t nrows, int nk,
              float* __restrict accp) {
  constexpr int KB = KV * kL;
  vec acc[M][KV];
#pragma GCC unroll 32
  for (int m = 0; m < M; ++m)
#pragma GCC unroll 4
    for (int v = 0; v < KV; ++v) acc[m][v] = vload(accp + m * KB + v * kL);
  for (int64_t row = 0; row < nrows; ++row) {
    const float* xp = x + row * xrs;
    const float* gp = dy + row * dyrs;
    for (int64_t p = 0; p < npx; ++p, xp += ps, gp += ldy) {
      vec g[KV];
#pragma GCC unroll 4
      for (int v = 0; v < KV; ++v) g[v] = kFull ? vload(gp + v * kL) : vload_n(gp + v * kL, nk - v * kL);
#pragma GCC unroll 32
      for (int m = 0; m < M; ++m) {
        const vec b = vbcast(xp + m);
#pragma GCC unroll 4
        for (int v = 0; v < KV; ++v) acc[m][v] = vfma(b, g[v], acc[m][v]);
      }
    }
  }
#pragma GCC unroll 32
  for (int m = 0; m < M; ++m)
#pragma GCC unroll 4
    for (int v = 0; v < KV; ++v) vstore(accp + m * KB + v * kL, acc[m][v]);
}

// bwf_tile for mr rows, 1 <= mr <= M.
template <int KV, bool kFull, int M = kBwfRows[KV]>
void bwf_tile_n(int mr, const float* x, int64_t ps, int64_t xrs, const float* dy, int64_t ldy,
                int64_t dyrs, int64_t npx, int64_t nrows, int nk, float* accp) {
  if constexpr (M >= 1) {
    if (mr == M)
      bwf_tile<KV, M, kFull>(x, ps, xrs, dy, ldy, dyrs, npx, nrows, nk, accp);
    else
      bwf_tile_n<KV, kFull, M - 1>(mr, x, ps, xrs, dy, ldy, dyrs, npx, nrows, nk, accp);
  }
}

template <int KV>
void backward_filter_impl(const Conv2dDesc& d, const float* x, const float* dy, float* dw) {
  constexpr int64_t KB = KV * kL;
  const int64_t c = d.c, k = d.k, T = d.kh * d.kw * c;
  const int64_t nkb = (k + KB - 1) / KB, size = nkb * T * KB;
  const bool gathered = use_gathered_runs(d);
  const int64_t hp = d.h + d.pad_top + d.pad_bottom, wp = d.w + d.pad_left + d.pad_right;
  const int64_t xrow = wp * c, rows = d.n * d.out_h;
  // output rows per chunk: x and dy of a chunk about fit L1 (>= 1 row)
  const int64_t chunk_px = std::max<int64_t>(32, 6144 / (c + k));
  const int64_t chunk_rows = std::max<int64_t>(1, chunk_px / d.out_w);
  // source run tiles of M rows: J = run length, split into near-equal tiles
  const int64_t J = gathered ? T : d.kw * c, nky = gathered ? 1 : d.kh;
  const int64_t ntiles = (J + kBwfRows[KV] - 1) / kBwfRows[KV];
  const int64_t M = (J + ntiles - 1) / ntiles;
  // blocks of output rows fixed by the shape alone (about kBwfBlockPixels pixels,
  // at most kBwfMaxBlocks and kBwfMaxPartialFloats of partials), one partial dw each,
  // taken by any thread; the partials are added in block order: the same bits at
  // any thread count
  int64_t block_rows = std::max<int64_t>(1, kBwfBlockPixels / d.out_w);
  const int64_t max_blocks = std::max<int64_t>(1, std::min(kBwfMaxBlocks, kBwfMaxPartialFloats / size));
  block_rows = std::max(block_rows, (rows + max_blocks - 1) / max_blocks);
  const int64_t blocks = (rows + block_rows - 1) / block_rows;
  // per block: partial dw (nkb, T, KB)
  std::vector<float> partial(static_cast<size_t>(blocks * size), 0.0f);
  parallel_chunks(blocks, [&](int64_t blk) {
    float* xpad = gemm::thread_buffer(gemm::kSlotConv, static_cast<size_t>(hp * xrow));
    float* col = gathered
                     ? gemm::thread_buffer(gemm::kSlotPackA, static_cast<size_t>(chunk_rows * d.out_w * T))
                     : nullptr;
    const int64_t r0 = blk * block_rows, r1 = std::min(rows, r0 + block_rows);
    float* acc = partial.data() + blk * size;
    int64_t padded_image = -1;
    for (int64_t r = r0; r < r1;) {
      const int64_t b = r / d.out_h, oy = r % d.out_h;
      const int64_t nrows = std::min({chunk_rows, r1 - r, d.out_h - oy});  // same image
      if (b != padded_image) {
        pad_image(d, x + b * d.h * d.w * c, xpad);
        padded_image = b;
      }
      const float* src = xpad + oy * d.stride_h * xrow;
      const float* g = dy + r * d.out_w * k;
      int64_t ps = d.stride_w * c, xrs = d.stride_h * xrow, ys = xrow;
      int64_t npx = d.out_w, nr = nrows;
      if (gathered) {  // one run of T per pixel, the chunk's pixels consecutive
        for (int64_t i = 0; i < nrows; ++i)
          gather_runs(d, src + i * xrs, d.out_w, col + i * d.out_w * T);
        src = col;
        ps = T;
        xrs = 0;
        ys = 0;
        npx = nrows * d.out_w;
        nr = 1;
      }
      for (int64_t kb = 0; kb < nkb; ++kb) {
        const int nk = static_cast<int>(std::min(KB, k - kb * KB));
        float* accb = acc + kb * T * KB;
        for (int64_t ky = 0; ky < nky; ++ky)
          for (int64_t j0 = 0; j0 < J; j0 += M) {
            const int mr = static_cast<int>(std::min(M, J - j0));
            const float* xs = src + ky * ys + j0;
            float* ap = accb + (ky * J + j0) * KB;
            if (nk == KB)
              bwf_tile_n<KV, true>(mr, xs, ps, xrs, g + kb * KB, k, d.out_w * k, npx, nr, nk, ap);
            else
              bwf_tile_n<KV, false>(mr, xs, ps, xrs, g + kb * KB, k, d.out_w * k, npx, nr, nk, ap);
          }
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

}  // namespace

// xb (h, w, c) -> xpad (hp, wp, c), zero outside the image.
void pad_image(const Conv2dDesc& d, const float* xb, float* xpad) {
  const int64_t c = d.c, wp = d.w + d.pad_left + d.pad_right;
  const int64_t hp = d.h + d.pad_top + d.pad_bottom, row = wp * c;
  std::memset(xpad, 0, sizeof(float) * static_cast<size_t>(d.pad_top * row));
  for (int64_t iy = 0; iy < d.h; ++iy) {
    float* dst = xpad + (d.pad_top + iy) * row;
    std::memset(dst, 0, sizeof(float) * static_cast<size_t>(d.pad_left * c));
    std::memcpy(dst + d.pad_left * c, xb + iy * d.w * c, sizeof(float) * static_cast<size_t>(d.w * c));
    std::memset(dst + (d.pad_left + d.w) * c, 0, sizeof(float) * static_cast<size_t>(d.pad_right * c));
  }
  std::memset(xpad + (d.pad_top + d.h) * row, 0,
              sizeof(float) * static_cast<size_t>((hp - d.pad_top - d.h) * row));
}

void conv2d_forward_direct(const Conv2dDesc& d, const float* x, const float* w,
                           const Epilogue& ep, float* y) {
  if (d.n * d.out_h * d.out_w == 0) return;
  if (kMaxKV >= 4 && d.k > 2 * kL)
    forward_impl<kMaxKV>(d, x, w, ep, y);
  else if (d.k > kL)
    forward_impl<2>(d, x, w, ep, y);
  else
    forward_impl<1>(d, x, w, ep, y);
}

void conv2d_backward_filter_direct(const Conv2dDesc& d, const float* x, const float* dy,
                                   float* dw) {
  if (d.n * d.out_h * d.out_w == 0) {
    std::memset(dw, 0, sizeof(float) * static_cast<size_t>(d.kh * d.kw * d.c * d.k));
    return;
  }
  if (kMaxKV >= 4 && d.k > 2 * kL)
    backward_filter_impl<kMaxKV>(d, x, dy, dw);
  else if (d.k > kL)
    backward_filter_impl<2>(d, x, dy, dw);
  else
    backward_filter_impl<1>(d, x, dy, dw);
}

}  // namespace direct
}  // namespace cpu
}  // namespace cudnn_lite
