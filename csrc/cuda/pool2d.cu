// pool2d.cu: max, average and global average pooling over NHWC tensors.
//
// Same semantics as csrc/cpu/pool2d.cpp: output (oy, ox) covers input rows
// [oy*stride_h - pad_top, + pool_h) clipped to [0, h) (columns likewise);
// padding never wins a max and is not counted by an average; an all-padding
// window gives 0 and no gradient. Max ties: the first maximum in row-major
// window order wins; NaN beats any number (the first NaN wins).
//
// The backward passes are gathers, one thread per dx element summing over the
// windows that cover it in ascending (oy, ox) order: no atomics, deterministic,
// and the same float additions in the same order as the CPU scatter loops.
#include <cuda_runtime.h>

#include "cuda/check.cuh"
#include "cuda/launch.cuh"
#include "cudnn_lite.h"

namespace cudnn_lite {
namespace cuda {

namespace {

struct Span {
  int64_t begin, end;
};

__device__ __forceinline__ Span window_span(int64_t o, int64_t stride, int64_t pad,
                                            int64_t window, int64_t in) {
  const int64_t start = o * stride - pad;
  Span s;
  s.begin = start > 0 ? start : 0;
  s.end = start + window < in ? start + window : in;
  return s;
}

// the output windows [lo, hi] along one axis whose (unclipped) span contains i
__device__ __forceinline__ void covering(int64_t i, int64_t stride, int64_t pad, int64_t window,
                                         int64_t out, int64_t& lo, int64_t& hi) {
  const int64_t t = i + pad - window + 1;  // need o * stride >= t
  lo = t <= 0 ? 0 : (t + stride - 1) / stride;
  hi = (i + pad) / stride;  // need o * stride <= i + pad
  if (hi > out - 1) hi = out - 1;
}

__device__ __forceinline__ bool max_wins(float v, float best) {
  return v > best || (v != v && best == best);
}

// decompose a flat NHWC index
__device__ __forceinline__ void split_nhwc(int64_t idx, int64_t h, int64_t w, int64_t c,
                                           int64_t& b, int64_t& y, int64_t& x, int64_t& ch) {
  int64_t pix = idx / c;
  ch = idx - pix * c;
  x = pix % w;
  pix /= w;
  y = pix % h;
  b = pix / h;
}

// x is (n, h, w, c), y is (n, out_h, out_w, c); one thread per y element
__global__ void maxpool2d_forward_kernel(Pool2dDesc d, const float* __restrict__ x,
                                         float* __restrict__ y) {
  const int64_t total = d.n * d.out_h * d.out_w * d.c;
  for (int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; idx < total;
       idx += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    int64_t b, oy, ox, ch;
    split_nhwc(idx, d.out_h, d.out_w, d.c, b, oy, ox, ch);
    const Span ry = window_span(oy, d.stride_h, d.pad_top, d.pool_h, d.h);
    const Span rx = window_span(ox, d.stride_w, d.pad_left, d.pool_w, d.w);
    if (ry.begin >= ry.end || rx.begin >= rx.end) {
      y[idx] = 0.0f;
      continue;
    }
    const float* xi = x + b * d.h * d.w * d.c + ch;
    float best = -INFINITY;
    for (int64_t iy = ry.begin; iy < ry.end; ++iy)
      for (int64_t ix = rx.begin; ix < rx.end; ++ix) {
        const float v = __ldg(xi + (iy * d.w + ix) * d.c);
        if (max_wins(v, best)) best = v;
      }
    y[idx] = best;
  }
}

// x, dx are (n, h, w, c), dy is (n, out_h, out_w, c); one thread per dx element:
// for each window covering it, recompute the window's winner and take its dy
__global__ void maxpool2d_backward_kernel(Pool2dDesc d, const float* __restrict__ x,
                                          const float* __restrict__ dy, float* __restrict__ dx) {
  const int64_t total = d.n * d.h * d.w * d.c;
  for (int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; idx < total;
       idx += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    int64_t b, iy, ix, ch;
    split_nhwc(idx, d.h, d.w, d.c, b, iy, ix, ch);
    int64_t oy_lo, oy_hi, ox_lo, ox_hi;
    covering(iy, d.stride_h, d.pad_top, d.pool_h, d.out_h, oy_lo, oy_hi);
    covering(ix, d.stride_w, d.pad_left, d.pool_w, d.out_w, ox_lo, ox_hi);
    const float* xi = x + b * d.h * d.w * d.c + ch;
    const float* dyi = dy + b * d.out_h * d.out_w * d.c + ch;
    float acc = 0.0f;
    for (int64_t oy = oy_lo; oy <= oy_hi; ++oy) {
      const Span ry = window_span(oy, d.stride_h, d.pad_top, d.pool_h, d.h);
      for (int64_t ox = ox_lo; ox <= ox_hi; ++ox) {
        const Span rx = window_span(ox, d.stride_w, d.pad_left, d.pool_w, d.w);
        // winner of window (oy, ox): starts at its first cell (never empty: it holds (iy, ix))
        float best = __ldg(xi + (ry.begin * d.w + rx.begin) * d.c);
        int64_t by = ry.begin, bx = rx.begin;
        for (int64_t yy = ry.begin; yy < ry.end; ++yy)
          for (int64_t xx = rx.begin; xx < rx.end; ++xx) {
            const float v = __ldg(xi + (yy * d.w + xx) * d.c);
            if (max_wins(v, best)) {
              best = v;
              by = yy;
              bx = xx;
            }
          }
        if (by == iy && bx == ix) acc += __ldg(dyi + (oy * d.out_w + ox) * d.c);
      }
    }
    dx[idx] = acc;
  }
}

// x is (n, h, w, c), y is (n, out_h, out_w, c); divisor = non-padding cells
__global__ void avgpool2d_forward_kernel(Pool2dDesc d, const float* __restrict__ x,
                                         float* __restrict__ y) {
  const int64_t total = d.n * d.out_h * d.out_w * d.c;
  for (int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; idx < total;
       idx += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    int64_t b, oy, ox, ch;
    split_nhwc(idx, d.out_h, d.out_w, d.c, b, oy, ox, ch);
    const Span ry = window_span(oy, d.stride_h, d.pad_top, d.pool_h, d.h);
    const Span rx = window_span(ox, d.stride_w, d.pad_left, d.pool_w, d.w);
    if (ry.begin >= ry.end || rx.begin >= rx.end) {
      y[idx] = 0.0f;
      continue;
    }
    const float* xi = x + b * d.h * d.w * d.c + ch;
    float s = 0.0f;
    for (int64_t iy = ry.begin; iy < ry.end; ++iy)
      for (int64_t ix = rx.begin; ix < rx.end; ++ix) s += __ldg(xi + (iy * d.w + ix) * d.c);
    const float inv = 1.0f / static_cast<float>((ry.end - ry.begin) * (rx.end - rx.begin));
    y[idx] = s * inv;
  }
}

// dy is (n, out_h, out_w, c), dx is (n, h, w, c); gather dy / count over covering windows
__global__ void avgpool2d_backward_kernel(Pool2dDesc d, const float* __restrict__ dy,
                                          float* __restrict__ dx) {
  const int64_t total = d.n * d.h * d.w * d.c;
  for (int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; idx < total;
       idx += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    int64_t b, iy, ix, ch;
    split_nhwc(idx, d.h, d.w, d.c, b, iy, ix, ch);
    int64_t oy_lo, oy_hi, ox_lo, ox_hi;
    covering(iy, d.stride_h, d.pad_top, d.pool_h, d.out_h, oy_lo, oy_hi);
    covering(ix, d.stride_w, d.pad_left, d.pool_w, d.out_w, ox_lo, ox_hi);
    const float* dyi = dy + b * d.out_h * d.out_w * d.c + ch;
    float acc = 0.0f;
    for (int64_t oy = oy_lo; oy <= oy_hi; ++oy) {
      const Span ry = window_span(oy, d.stride_h, d.pad_top, d.pool_h, d.h);
      for (int64_t ox = ox_lo; ox <= ox_hi; ++ox) {
        const Span rx = window_span(ox, d.stride_w, d.pad_left, d.pool_w, d.w);
        const float inv = 1.0f / static_cast<float>((ry.end - ry.begin) * (rx.end - rx.begin));
        acc += __ldg(dyi + (oy * d.out_w + ox) * d.c) * inv;
      }
    }
    dx[idx] = acc;
  }
}

// x is (n, hw, c), y is (n, c); one thread per y element, summed in double
__global__ void global_avgpool_forward_kernel(int64_t n, int64_t hw, int64_t c,
                                              const float* __restrict__ x,
                                              float* __restrict__ y) {
  const int64_t total = n * c;
  const double inv = hw > 0 ? 1.0 / static_cast<double>(hw) : 0.0;
  for (int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; idx < total;
       idx += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t b = idx / c, ch = idx - b * c;
    const float* xp = x + b * hw * c + ch;
    double s = 0.0;
    for (int64_t p = 0; p < hw; ++p) s += __ldg(xp + p * c);
    y[idx] = static_cast<float>(s * inv);
  }
}

// dy is (n, c), dx is (n, hw, c): dx[b, p, ch] = dy[b, ch] / hw
__global__ void global_avgpool_backward_kernel(int64_t n, int64_t hw, int64_t c,
                                               const float* __restrict__ dy,
                                               float* __restrict__ dx) {
  const int64_t total = n * hw * c;
  const float inv = hw > 0 ? 1.0f / static_cast<float>(hw) : 0.0f;
  for (int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; idx < total;
       idx += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t ch = idx % c, b = idx / (hw * c);
    dx[idx] = __ldg(dy + b * c + ch) * inv;
  }
}

void check_desc(const Pool2dDesc& d, const char* what) {
  if (d.n < 0 || d.h <= 0 || d.w <= 0 || d.c <= 0 || d.pool_h <= 0 || d.pool_w <= 0 ||
      d.stride_h <= 0 || d.stride_w <= 0 || d.pad_top < 0 || d.pad_bottom < 0 ||
      d.pad_left < 0 || d.pad_right < 0 || d.out_h <= 0 || d.out_w <= 0)
    throw std::invalid_argument(std::string(what) + ": invalid Pool2dDesc");
}

constexpr int kThreads = 256;

}  // namespace

void maxpool2d_forward(const Pool2dDesc& d, const float* x, float* y, void* stream) {
  check_desc(d, "maxpool2d_forward");
  const int64_t total = d.n * d.out_h * d.out_w * d.c;
  if (total == 0) return;
  launch("maxpool2d_forward_kernel", maxpool2d_forward_kernel,
         detail::grid_stride_blocks(total, kThreads), kThreads, 0, detail::as_stream(stream), d, x,
         y);
}

void maxpool2d_backward(const Pool2dDesc& d, const float* x, const float* dy, float* dx,
                        void* stream) {
  check_desc(d, "maxpool2d_backward");
  const int64_t total = d.n * d.h * d.w * d.c;
  if (total == 0) return;
  launch("maxpool2d_backward_kernel", maxpool2d_backward_kernel,
         detail::grid_stride_blocks(total, kThreads), kThreads, 0, detail::as_stream(stream), d, x,
         dy, dx);
}

void avgpool2d_forward(const Pool2dDesc& d, const float* x, float* y, void* stream) {
  check_desc(d, "avgpool2d_forward");
  const int64_t total = d.n * d.out_h * d.out_w * d.c;
  if (total == 0) return;
  launch("avgpool2d_forward_kernel", avgpool2d_forward_kernel,
         detail::grid_stride_blocks(total, kThreads), kThreads, 0, detail::as_stream(stream), d, x,
         y);
}

void avgpool2d_backward(const Pool2dDesc& d, const float* dy, float* dx, void* stream) {
  check_desc(d, "avgpool2d_backward");
  const int64_t total = d.n * d.h * d.w * d.c;
  if (total == 0) return;
  launch("avgpool2d_backward_kernel", avgpool2d_backward_kernel,
         detail::grid_stride_blocks(total, kThreads), kThreads, 0, detail::as_stream(stream), d, dy,
         dx);
}

void global_avgpool_forward(int64_t n, int64_t hw, int64_t c, const float* x, float* y,
                            void* stream) {
  if (n < 0 || hw < 0 || c < 0) throw std::invalid_argument("global_avgpool_forward: negative size");
  if (n * c == 0) return;
  launch("global_avgpool_forward_kernel", global_avgpool_forward_kernel,
         detail::grid_stride_blocks(n * c, kThreads), kThreads, 0, detail::as_stream(stream), n, hw,
         c, x, y);
}

void global_avgpool_backward(int64_t n, int64_t hw, int64_t c, const float* dy, float* dx,
                             void* stream) {
  if (n < 0 || hw < 0 || c < 0) throw std::invalid_argument("global_avgpool_backward: negative size");
  if (n * hw * c == 0) return;
  launch("global_avgpool_backward_kernel", global_avgpool_backward_kernel,
         detail::grid_stride_blocks(n * hw * c, kThreads), kThreads, 0, detail::as_stream(stream),
         n, hw, c, dy, dx);
}

}  // namespace cuda
}  // namespace cudnn_lite
