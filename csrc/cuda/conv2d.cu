// conv2d.cu: 2-D convolution over NHWC input with an HWIO kernel.
//
// Every pass is a GEMM over an implicit (never materialised) operand, run by
// gemm::gemm_tile_kernel with loaders that compute the im2col addresses on the
// fly (padding cells read as 0):
//   forward:         Y(P, K)  = Xcol(P, R) * W(R, K)        P = n*oh*ow, R = kh*kw*c
//                    + fused bias/activation epilogue
//   backward-data:   DX(Q, C) = DYcol(Q, R') * Wt(R', C)    Q = n*h*w,  R' = kh*kw*k
//                    gather form: DYcol(q, (ky,kx,kk)) = dy at the output pixel whose
//                    window puts (ky,kx) on q (0 when none: stride gaps, borders)
//   backward-filter: DW(R, K) = XcolT(R, P) * DY(P, K), the P reduction split across
//                    blocks (split-K) into a workspace and summed in fixed order:
//                    deterministic, no atomics
// The *_kernel1 versions are direct loops, one thread per output element: the
// simple reference (CUDNN_LITE_CUDA_SIMPLE=1) and the fast path for small
// channel counts (c <= 4 forward / backward-data: first layers), where a
// 128-wide GEMM tile would be mostly idle.
#include <cuda_runtime.h>

#include "common/activation_math.h"
#include "cuda/check.cuh"
#include "cuda/launch.cuh"
#include "cuda/gemm.cuh"
#include "cudnn_lite.h"

namespace cudnn_lite {
namespace cuda {

namespace {

// q = a / b, r = a % b with a fast 32-bit path (a, b >= 0)
__device__ __forceinline__ void divmod64(int64_t a, int64_t b, int64_t& q, int64_t& r) {
  if (((a | b) >> 32) == 0) {
    const uint32_t a32 = static_cast<uint32_t>(a), b32 = static_cast<uint32_t>(b);
    const uint32_t q32 = a32 / b32;
    q = q32;
    r = a32 - q32 * b32;
  } else {
    q = a / b;
    r = a - q * b;
  }
}

// r = (ky * kw + kx) * c + ci  ->  (ky, kx, ci); r, c, kw < 2^31 (checked on the host)
__device__ __forceinline__ void split_tap(int64_t r, int64_t c, int64_t kw, int& ky, int& kx,
                                          int& ci) {
  const uint32_t r32 = static_cast<uint32_t>(r), c32 = static_cast<uint32_t>(c),
                 kw32 = static_cast<uint32_t>(kw);
  const uint32_t t = r32 / c32;
  ci = static_cast<int>(r32 - t * c32);
  ky = static_cast<int>(t / kw32);
  kx = static_cast<int>(t - static_cast<uint32_t>(ky) * kw32);
}

// ------------------------------------------------------------ GEMM loaders

// forward A operand: Xcol (P, R), element (pix, r) = x[b, oy*sh - pt + ky, ox*sw - pl + kx, ci]
// KContig mapping (r = (ky, kx, ci) is contiguous in memory within one tap)
template <bool VEC>
struct Im2colA {
  const float* x;
  int64_t h, w, c, kw, oh, ow, sh, sw, pt, pl, P;
  const float* img;
  int64_t iy0, ix0;
  bool ok;
  int p_off;

  __device__ __forceinline__ void begin(int64_t mn0) {
    const int64_t pix = mn0 + (threadIdx.x >> 1);
    p_off = (threadIdx.x & 1) * 4;
    ok = pix < P;
    int64_t b = 0, rem = 0, oy = 0, ox = 0;
    if (ok) {
      divmod64(pix, oh * ow, b, rem);
      divmod64(rem, ow, oy, ox);
    }
    img = x + b * h * w * c;
    iy0 = oy * sh - pt;
    ix0 = ox * sw - pl;
  }
  __device__ __forceinline__ float fetch(int64_t r) const {
    int ky, kx, ci;
    split_tap(r, c, kw, ky, kx, ci);
    const int64_t iy = iy0 + ky, ix = ix0 + kx;
    if (iy < 0 || iy >= h || ix < 0 || ix >= w) return 0.0f;
    return __ldg(img + (iy * w + ix) * c + ci);
  }
  __device__ __forceinline__ void load(int64_t k0, int64_t k_end, float (&r)[4]) const {
    const int64_t p = k0 + p_off;
    if (!ok) {
      r[0] = r[1] = r[2] = r[3] = 0.0f;
      return;
    }
    if (VEC && p + 3 < k_end) {  // c % 4 == 0: the 4 taps share (ky, kx)
      int ky, kx, ci;
      split_tap(p, c, kw, ky, kx, ci);
      const int64_t iy = iy0 + ky, ix = ix0 + kx;
      if (iy < 0 || iy >= h || ix < 0 || ix >= w) {
        r[0] = r[1] = r[2] = r[3] = 0.0f;
      } else {
        gemm::unpack(__ldg(reinterpret_cast<const float4*>(img + (iy * w + ix) * c + ci)), r);
      }
      return;
    }
#pragma unroll
    for (int j = 0; j < 4; ++j) r[j] = p + j < k_end ? fetch(p + j) : 0.0f;
  }
  __device__ __forceinline__ static void store(float (*s)[gemm::LDS], const float (&r)[4]) {
    gemm::store_kcontig(s, r);
  }
};

// backward-data A operand: DYcol (Q, R'), element (q, r') with q = (b, iy, ix),
// r' = (ky, kx, kk): dy[b, oy, ox, kk] where oy*sh - pt + ky == iy (same for x),
// 0 when that output pixel does not exist. KContig mapping (kk contiguous).
template <bool VEC>
struct DyColA {
  const float* dy;
  int64_t h, w, k, kw, oh, ow, sh, sw, pt, pl, Q;
  const float* img;
  int64_t ty0, tx0;
  bool ok;
  int p_off;

  __device__ __forceinline__ void begin(int64_t mn0) {
    const int64_t q = mn0 + (threadIdx.x >> 1);
    p_off = (threadIdx.x & 1) * 4;
    ok = q < Q;
    int64_t b = 0, rem = 0, iy = 0, ix = 0;
    if (ok) {
      divmod64(q, h * w, b, rem);
      divmod64(rem, w, iy, ix);
    }
    img = dy + b * oh * ow * k;
    ty0 = iy + pt;
    tx0 = ix + pl;
  }
  // offset of dy[b, oy, ox, 0] for tap (ky, kx), or -1 when no output pixel uses it
  __device__ __forceinline__ int64_t pixel_offset(int ky, int kx) const {
    const int64_t ty = ty0 - ky, tx = tx0 - kx;
    if (ty < 0 || tx < 0) return -1;
    int64_t oy, ry, ox, rx;
    divmod64(ty, sh, oy, ry);
    divmod64(tx, sw, ox, rx);
    if (ry != 0 || rx != 0 || oy >= oh || ox >= ow) return -1;
    return (oy * ow + ox) * k;
  }
  __device__ __forceinline__ void load(int64_t k0, int64_t k_end, float (&r)[4]) const {
    const int64_t p = k0 + p_off;
    if (!ok) {
      r[0] = r[1] = r[2] = r[3] = 0.0f;
      return;
    }
    if (VEC && p + 3 < k_end) {  // k % 4 == 0: the 4 taps share (ky, kx)
      int ky, kx, kk;
      split_tap(p, k, kw, ky, kx, kk);
      const int64_t off = pixel_offset(ky, kx);
      if (off < 0) {
        r[0] = r[1] = r[2] = r[3] = 0.0f;
      } else {
        gemm::unpack(__ldg(reinterpret_cast<const float4*>(img + off + kk)), r);
      }
      return;
    }
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      r[j] = 0.0f;
      if (p + j < k_end) {
        int ky, kx, kk;
        split_tap(p + j, k, kw, ky, kx, kk);
        const int64_t off = pixel_offset(ky, kx);
        if (off >= 0) r[j] = __ldg(img + off + kk);
      }
    }
  }
  __device__ __forceinline__ static void store(float (*s)[gemm::LDS], const float (&r)[4]) {
    gemm::store_kcontig(s, r);
  }
};

// backward-data B operand: Wt (R', C), element (r' = (ky, kx, kk), ci) = w[ky, kx, ci, kk].
// Tile index i runs over ci (the GEMM's N), p over r'. KContig mapping (kk contiguous).
template <bool VEC>
struct WtB {
  const float* wt;
  int64_t c, k;
  int64_t ci;
  bool ok;
  int p_off;

  __device__ __forceinline__ void begin(int64_t mn0) {
    ci = mn0 + (threadIdx.x >> 1);
    ok = ci < c;
    p_off = (threadIdx.x & 1) * 4;
  }
  __device__ __forceinline__ float fetch(int64_t rp) const {
    int64_t s, kk;
    divmod64(rp, k, s, kk);
    return __ldg(wt + (s * c + ci) * k + kk);
  }
  __device__ __forceinline__ void load(int64_t k0, int64_t k_end, float (&r)[4]) const {
    const int64_t p = k0 + p_off;
    if (!ok) {
      r[0] = r[1] = r[2] = r[3] = 0.0f;
      return;
    }
    if (VEC && p + 3 < k_end) {  // k % 4 == 0: same tap, kk..kk+3 contiguous
      int64_t s, kk;
      divmod64(p, k, s, kk);
      gemm::unpack(__ldg(reinterpret_cast<const float4*>(wt + (s * c + ci) * k + kk)), r);
      return;
    }
#pragma unroll
    for (int j = 0; j < 4; ++j) r[j] = p + j < k_end ? fetch(p + j) : 0.0f;
  }
  __device__ __forceinline__ static void store(float (*s)[gemm::LDS], const float (&r)[4]) {
    gemm::store_kcontig(s, r);
  }
};

// backward-filter A operand: XcolT (R, P), element (r, pix) = Xcol(pix, r).
// MNContig mapping: this thread's 4 taps r0..r0+3 are fixed, decomposed once.
template <bool VEC>
struct XcolTA {
  const float* x;
  int64_t h, w, c, kw, oh, ow, sh, sw, pt, pl, R;
  int ky[4], kx[4], ci[4];  // ky < 0 marks a tap beyond R
  int p_off;

  __device__ __forceinline__ void begin(int64_t mn0) {
    const int64_t r0 = mn0 + (threadIdx.x & 31) * 4;
    p_off = threadIdx.x >> 5;
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      if (r0 + j < R) {
        split_tap(r0 + j, c, kw, ky[j], kx[j], ci[j]);
      } else {
        ky[j] = -1; kx[j] = 0; ci[j] = 0;
      }
    }
  }
  __device__ __forceinline__ void load(int64_t k0, int64_t k_end, float (&r)[4]) const {
    const int64_t pix = k0 + p_off;
    r[0] = r[1] = r[2] = r[3] = 0.0f;
    if (pix >= k_end) return;
    int64_t b, rem, oy, ox;
    divmod64(pix, oh * ow, b, rem);
    divmod64(rem, ow, oy, ox);
    const float* img = x + b * h * w * c;
    const int64_t iy0 = oy * sh - pt, ix0 = ox * sw - pl;
    if (VEC && ky[3] >= 0) {  // c % 4 == 0: the 4 taps share (ky, kx), ci..ci+3
      const int64_t iy = iy0 + ky[0], ix = ix0 + kx[0];
      if (iy >= 0 && iy < h && ix >= 0 && ix < w)
        gemm::unpack(__ldg(reinterpret_cast<const float4*>(img + (iy * w + ix) * c + ci[0])), r);
      return;
    }
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const int64_t iy = iy0 + ky[j], ix = ix0 + kx[j];
      if (ky[j] >= 0 && iy >= 0 && iy < h && ix >= 0 && ix < w)
        r[j] = __ldg(img + (iy * w + ix) * c + ci[j]);
    }
  }
  __device__ __forceinline__ static void store(float (*s)[gemm::LDS], const float (&r)[4]) {
    gemm::store_mncontig(s, r);
  }
};

// ------------------------------------------------------------ direct kernels

// x is (n, h, w, c), wt is (kh, kw, c, k), y is (n, oh, ow, k); one thread per y element
__global__ void conv2d_forward_kernel1(Conv2dDesc d, const float* __restrict__ x,
                                       const float* __restrict__ wt,
                                       const float* __restrict__ bias, Activation act,
                                       float act_alpha, float* __restrict__ y) {
  const int64_t total = d.n * d.out_h * d.out_w * d.k;
  for (int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; idx < total;
       idx += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    int64_t pix, kk, b, rem, oy, ox;
    divmod64(idx, d.k, pix, kk);
    divmod64(pix, d.out_h * d.out_w, b, rem);
    divmod64(rem, d.out_w, oy, ox);
    const float* img = x + b * d.h * d.w * d.c;
    float acc = 0.0f;
    for (int64_t ky = 0; ky < d.kh; ++ky) {
      const int64_t iy = oy * d.stride_h - d.pad_top + ky;
      if (iy < 0 || iy >= d.h) continue;
      for (int64_t kx = 0; kx < d.kw; ++kx) {
        const int64_t ix = ox * d.stride_w - d.pad_left + kx;
        if (ix < 0 || ix >= d.w) continue;
        const float* xp = img + (iy * d.w + ix) * d.c;
        const float* wp = wt + (ky * d.kw + kx) * d.c * d.k + kk;
        for (int64_t ci = 0; ci < d.c; ++ci) acc = fmaf(__ldg(xp + ci), __ldg(wp + ci * d.k), acc);
      }
    }
    if (bias != nullptr) acc += __ldg(bias + kk);
    y[idx] = activation_value(act, act_alpha, acc);
  }
}

// dy is (n, oh, ow, k), wt is (kh, kw, c, k), dx is (n, h, w, c); one thread per dx
// element, gathering over the (ky, kx, kk) that touch it: no atomics
__global__ void conv2d_backward_data_kernel1(Conv2dDesc d, const float* __restrict__ dy,
                                             const float* __restrict__ wt,
                                             float* __restrict__ dx) {
  const int64_t total = d.n * d.h * d.w * d.c;
  for (int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; idx < total;
       idx += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    int64_t q, ci, b, rem, iy, ix;
    divmod64(idx, d.c, q, ci);
    divmod64(q, d.h * d.w, b, rem);
    divmod64(rem, d.w, iy, ix);
    const float* img = dy + b * d.out_h * d.out_w * d.k;
    float acc = 0.0f;
    for (int64_t ky = 0; ky < d.kh; ++ky) {
      const int64_t ty = iy + d.pad_top - ky;
      if (ty < 0 || ty % d.stride_h != 0) continue;
      const int64_t oy = ty / d.stride_h;
      if (oy >= d.out_h) continue;
      for (int64_t kx = 0; kx < d.kw; ++kx) {
        const int64_t tx = ix + d.pad_left - kx;
        if (tx < 0 || tx % d.stride_w != 0) continue;
        const int64_t ox = tx / d.stride_w;
        if (ox >= d.out_w) continue;
        const float* dyp = img + (oy * d.out_w + ox) * d.k;
        const float* wp = wt + ((ky * d.kw + kx) * d.c + ci) * d.k;
        for (int64_t kk = 0; kk < d.k; ++kk) acc = fmaf(__ldg(dyp + kk), __ldg(wp + kk), acc);
      }
    }
    dx[idx] = acc;
  }
}

// x is (n, h, w, c), dy is (n, oh, ow, k), dw is (kh, kw, c, k); one thread per dw
// element looping over every output pixel: the slow, simple reference
__global__ void conv2d_backward_filter_kernel1(Conv2dDesc d, const float* __restrict__ x,
                                               const float* __restrict__ dy,
                                               float* __restrict__ dw) {
  const int64_t total = d.kh * d.kw * d.c * d.k;
  for (int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; idx < total;
       idx += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    int64_t r, kk, t, ci, ky, kx;
    divmod64(idx, d.k, r, kk);
    divmod64(r, d.c, t, ci);
    divmod64(t, d.kw, ky, kx);
    float acc = 0.0f;
    for (int64_t b = 0; b < d.n; ++b)
      for (int64_t oy = 0; oy < d.out_h; ++oy) {
        const int64_t iy = oy * d.stride_h - d.pad_top + ky;
        if (iy < 0 || iy >= d.h) continue;
        for (int64_t ox = 0; ox < d.out_w; ++ox) {
          const int64_t ix = ox * d.stride_w - d.pad_left + kx;
          if (ix < 0 || ix >= d.w) continue;
          acc = fmaf(__ldg(x + ((b * d.h + iy) * d.w + ix) * d.c + ci),
                     __ldg(dy + ((b * d.out_h + oy) * d.out_w + ox) * d.k + kk), acc);
        }
      }
    dw[idx] = acc;
  }
}

void check_desc(const Conv2dDesc& d, const char* what) {
  if (d.n < 0 || d.h <= 0 || d.w <= 0 || d.c <= 0 || d.kh <= 0 || d.kw <= 0 || d.k <= 0 ||
      d.stride_h <= 0 || d.stride_w <= 0 || d.pad_top < 0 || d.pad_bottom < 0 ||
      d.pad_left < 0 || d.pad_right < 0 || d.out_h <= 0 || d.out_w <= 0)
    throw std::invalid_argument(std::string(what) + ": invalid Conv2dDesc");
  const int64_t lim = 0x7fffffffLL;
  if (d.kh * d.kw * d.c >= lim || d.kh * d.kw * d.k >= lim)
    throw std::invalid_argument(std::string(what) + ": kernel too large (kh*kw*c >= 2^31)");
}

template <class T>
void set_geometry(T& l, const Conv2dDesc& d) {
  l.kw = d.kw; l.oh = d.out_h; l.ow = d.out_w;
  l.sh = d.stride_h; l.sw = d.stride_w; l.pt = d.pad_top; l.pl = d.pad_left;
  l.h = d.h; l.w = d.w;
}

// conv2d_forward_kernel2: implicit GEMM Xcol(P, R) * W(R, K) + epilogue
template <bool VEC>
void conv2d_forward_kernel2(const Conv2dDesc& d, const float* x, const float* wt,
                            const gemm::Output& out, cudaStream_t s) {
  Im2colA<VEC> a{};
  set_geometry(a, d);
  a.x = x; a.c = d.c; a.P = d.n * d.out_h * d.out_w;
  gemm::DenseMNContig<VEC> b{};
  b.ptr = wt; b.ld = d.k; b.mn_size = d.k;
  gemm::run_gemm(a, b, out, a.P, d.k, d.kh * d.kw * d.c, s, "conv2d_forward_kernel2");
}

// conv2d_backward_data_kernel2: implicit GEMM DYcol(Q, R') * Wt(R', C)
template <bool VEC>
void conv2d_backward_data_kernel2(const Conv2dDesc& d, const float* dy, const float* wt,
                                  const gemm::Output& out, cudaStream_t s) {
  DyColA<VEC> a{};
  set_geometry(a, d);
  a.dy = dy; a.k = d.k; a.Q = d.n * d.h * d.w;
  WtB<VEC> b{};
  b.wt = wt; b.c = d.c; b.k = d.k;
  gemm::run_gemm(a, b, out, a.Q, d.c, d.kh * d.kw * d.k, s, "conv2d_backward_data_kernel2");
}

// conv2d_backward_filter_kernel2: implicit GEMM XcolT(R, P) * DY(P, K), split over P
template <bool VEC>
void conv2d_backward_filter_kernel2(const Conv2dDesc& d, const float* x, const float* dy,
                                    const gemm::Output& out, cudaStream_t s) {
  XcolTA<VEC> a{};
  set_geometry(a, d);
  a.x = x; a.c = d.c; a.R = d.kh * d.kw * d.c;
  gemm::DenseMNContig<VEC> b{};
  b.ptr = dy; b.ld = d.k; b.mn_size = d.k;
  gemm::run_gemm(a, b, out, a.R, d.k, d.n * d.out_h * d.out_w, s,
                 "conv2d_backward_filter_kernel2");
}

gemm::Output plain_output(float* c, int64_t ldc) {
  return gemm::Output{c, ldc, 0, 1.0f, 0.0f, nullptr, Activation::linear, 0.0f,
                      gemm::aligned16(c) && ldc % 4 == 0};
}

}  // namespace

void conv2d_forward(const Conv2dDesc& d, const float* x, const float* w, const Epilogue& ep,
                    float* y, void* stream) {
  check_desc(d, "conv2d_forward");
  if (d.n == 0) return;
  cudaStream_t s = detail::as_stream(stream);
  if (detail::force_simple_kernels() || d.c <= 4) {
    const int64_t total = d.n * d.out_h * d.out_w * d.k;
    launch("conv2d_forward_kernel1", conv2d_forward_kernel1, detail::grid_stride_blocks(total, 256),
           256, 0, s, d, x, w, ep.bias, ep.act, ep.alpha, y);
    return;
  }
  gemm::Output out = plain_output(y, d.k);
  out.bias = ep.bias;
  out.act = ep.act;
  out.act_alpha = ep.alpha;
  const bool vec = d.c % 4 == 0 && d.k % 4 == 0 && gemm::aligned16(x) && gemm::aligned16(w);
  if (vec) conv2d_forward_kernel2<true>(d, x, w, out, s);
  else conv2d_forward_kernel2<false>(d, x, w, out, s);
}

void conv2d_backward_data(const Conv2dDesc& d, const float* dy, const float* w, float* dx,
                          void* stream) {
  check_desc(d, "conv2d_backward_data");
  if (d.n == 0) return;
  cudaStream_t s = detail::as_stream(stream);
  if (detail::force_simple_kernels() || d.c <= 4) {
    const int64_t total = d.n * d.h * d.w * d.c;
    launch("conv2d_backward_data_kernel1", conv2d_backward_data_kernel1,
           detail::grid_stride_blocks(total, 256), 256, 0, s, d, dy, w, dx);
    return;
  }
  const bool vec = d.k % 4 == 0 && gemm::aligned16(dy) && gemm::aligned16(w);
  const gemm::Output out = plain_output(dx, d.c);
  if (vec) conv2d_backward_data_kernel2<true>(d, dy, w, out, s);
  else conv2d_backward_data_kernel2<false>(d, dy, w, out, s);
}

void conv2d_backward_filter(const Conv2dDesc& d, const float* x, const float* dy, float* dw,
                            void* stream) {
  check_desc(d, "conv2d_backward_filter");
  cudaStream_t s = detail::as_stream(stream);
  const int64_t total = d.kh * d.kw * d.c * d.k;
  if (d.n == 0) {  // empty batch: the gradient is zero
    CUDA_CHECK(cudaMemsetAsync(dw, 0, static_cast<size_t>(total) * sizeof(float), s),
               "conv2d_backward_filter");
    return;
  }
  if (detail::force_simple_kernels()) {
    launch("conv2d_backward_filter_kernel1", conv2d_backward_filter_kernel1,
           detail::grid_stride_blocks(total, 256), 256, 0, s, d, x, dy, dw);
    return;
  }
  const bool vec = d.c % 4 == 0 && d.k % 4 == 0 && gemm::aligned16(x) && gemm::aligned16(dy);
  const gemm::Output out = plain_output(dw, d.k);
  if (vec) conv2d_backward_filter_kernel2<true>(d, x, dy, out, s);
  else conv2d_backward_filter_kernel2<false>(d, x, dy, out, s);
}

}  // namespace cuda
}  // namespace cudnn_lite
