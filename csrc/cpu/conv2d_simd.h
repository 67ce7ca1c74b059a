// conv2d_simd.h: the SIMD wrapper the direct convolution kernels are written in
// (conv2d_direct.cpp, conv2d_small.cpp). The ISA is picked at compile time, like the
// rest of the CPU kernels (-march=native): AVX-512, AVX2 + FMA, or scalar.
//   kL: floats per vector; vload_n / vstore_n touch the first n lanes only;
//   kMaxKV: most vectors of output channels per register tile;
//   kFwdPixels[KV], kBwfRows[KV]: register tile heights for KV vectors;
//   vrelu, vleaky: activation_value (csrc/common/activation_math.h) lane by lane, bit for bit
//   (-0 and NaN included), so the fused epilogue matches activation_forward.
// Internal header: included by the conv2d_*.cpp kernels only.
#pragma once

#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__))
#include <immintrin.h>
#endif

#include "cudnn_lite.h"  // Activation

namespace cudnn_lite {
namespace cpu {
namespace simd {

#if defined(__AVX512F__)
constexpr int kL = 16;
using vec = __m512;
static inline __mmask16 lane_mask(int n) {
  return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1u);
}
static inline vec vzero() { return _mm512_setzero_ps(); }
static inline vec vload(const float* p) { return _mm512_loadu_ps(p); }
static inline vec vload_n(const float* p, int n) { return _mm512_maskz_loadu_ps(lane_mask(n), p); }
static inline void vstore(float* p, vec v) { _mm512_storeu_ps(p, v); }
static inline void vstore_n(float* p, vec v, int n) { _mm512_mask_storeu_ps(p, lane_mask(n), v); }
static inline vec vbcast(const float* p) { return _mm512_set1_ps(*p); }
static inline vec vfma(vec a, vec b, vec c) { return _mm512_fmadd_ps(a, b, c); }
static inline vec vadd(vec a, vec b) { return _mm512_add_ps(a, b); }
static inline vec vrelu(vec v) {  // v > 0 ? v : 0, NaN stays NaN (not v <= 0, unordered)
  return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_NLE_UQ), v);
}
static inline vec vleaky(vec v, float alpha) {
  const __mmask16 pos = _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_GT_OQ);
  return _mm512_mask_blend_ps(pos, _mm512_mul_ps(_mm512_set1_ps(alpha), v), v);
}
constexpr int kMaxKV = 4;
constexpr int kFwdPixels[5] = {0, 16, 12, 0, 6};  // max P for KV = 1, 2, 4 (of 32 zmm)
constexpr int kBwfRows[5] = {0, 24, 12, 0, 6};    // max M for KV = 1, 2, 4
#elif defined(__AVX2__) && defined(__FMA__)
constexpr int kL = 8;
using vec = __m256;
static inline __m256i lane_mask(int n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
static inline vec vzero() { return _mm256_setzero_ps(); }
static inline vec vload(const float* p) { return _mm256_loadu_ps(p); }
static inline vec vload_n(const float* p, int n) { return _mm256_maskload_ps(p, lane_mask(n)); }
static inline void vstore(float* p, vec v) { _mm256_storeu_ps(p, v); }
static inline void vstore_n(float* p, vec v, int n) { _mm256_maskstore_ps(p, lane_mask(n), v); }
static inline vec vbcast(const float* p) { return _mm256_broadcast_ss(p); }
static inline vec vfma(vec a, vec b, vec c) { return _mm256_fmadd_ps(a, b, c); }
static inline vec vadd(vec a, vec b) { return _mm256_add_ps(a, b); }
static inline vec vrelu(vec v) {  // v > 0 ? v : +0, NaN stays NaN (max(0, v) would keep a -0)
  return _mm256_and_ps(v, _mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_NLE_UQ));
}
static inline vec vleaky(vec v, float alpha) {
  const vec pos = _mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_GT_OQ);
  return _mm256_blendv_ps(_mm256_mul_ps(_mm256_set1_ps(alpha), v), v, pos);
}
constexpr int kMaxKV = 2;
constexpr int kFwdPixels[5] = {0, 12, 6, 0, 0};  // of 16 ymm
constexpr int kBwfRows[5] = {0, 12, 6, 0, 0};
#else
constexpr int kL = 1;
using vec = float;
static inline vec vzero() { return 0.0f; }
static inline vec vload(const float* p) { return *p; }
static inline vec vload_n(const float* p, int n) { return n > 0 ? *p : 0.0f; }
static inline void vstore(float* p, vec v) { *p = v; }
static inline void vstore_n(float* p, vec v, int n) {
  if (n > 0) *p = v;
}
static inline vec vbcast(const float* p) { return *p; }
static inline vec vfma(vec a, vec b, vec c) { return a * b + c; }
static inline vec vadd(vec a, vec b) { return a + b; }
static inline vec vrelu(vec v) { return v > 0.0f ? v : (v != v ? v : 0.0f); }
static inline vec vleaky(vec v, float alpha) { return v > 0.0f ? v : alpha * v; }
constexpr int kMaxKV = 2;
constexpr int kFwdPixels[5] = {0, 8, 4, 0, 0};
constexpr int kBwfRows[5] = {0, 8, 4, 0, 0};
#endif

}  // namespace simd
}  // namespace cpu
}  // namespace cudnn_lite
