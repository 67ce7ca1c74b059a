// gemm_kernel.h: the register-blocked sgemm micro-kernel, one per ISA, chosen
// at compile time (AVX-512 > AVX2+FMA > portable scalar).
//
// The micro-kernel computes one (mr, nr) tile of C, mr <= kMR, nr <= kNR:
//   C[i, j] = alpha * sum_p A[i, p] * B[p, j] + beta * C[i, j]
// from packed panels:
//   a is (kc, a_step): a[p * a_step + i]  (a micro-panel of packed A, a_step
//                                          = kMR, or A itself when its columns
//                                          are contiguous, a_step = lda)
//   b is (kc, kNR): b[p * kNR + j]   (a micro-panel of packed B, zero-padded,
//                                     64-byte aligned)
// beta == 0 means C is not read. C rows are ldc apart (row-major).
// Internal header: included by sgemm.cpp, dense.cpp and conv2d.cpp only.
#pragma once

#include <cstdint>

#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__))
#include <immintrin.h>
#endif

namespace cudnn_lite {
namespace cpu {
namespace gemm {

#if defined(__AVX512F__)
constexpr int kMR = 12;  // rows of C per micro-tile (broadcast from A)
constexpr int kNR = 32;  // cols of C per micro-tile (two zmm vectors)
constexpr const char* kIsa = "avx512";
#elif defined(__AVX2__) && defined(__FMA__)
constexpr int kMR = 6;
constexpr int kNR = 16;  // two ymm vectors
constexpr const char* kIsa = "avx2+fma";
#else
constexpr int kMR = 4;
constexpr int kNR = 16;
constexpr const char* kIsa = "scalar";
#endif

// Cache blocking: an A micro-panel (kKC x kMR) stays in L1 while the kernel
// streams the B block (kKC x kNC, in L2); the A block (kMC x kKC) lives in L3.
constexpr int64_t kKC = 384;
constexpr int64_t kNC = 384;  // multiple of kNR
constexpr int64_t kMC = 1536;  // multiple of kMR
static_assert(kNC % kNR == 0 && kMC % kMR == 0, "blocks must hold whole micro-panels");

#if defined(__AVX512F__)

static inline __mmask16 tail_mask16(int n) {  // lowest n of 16 lanes, n clamped to [0, 16]
  return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1u);
}

template <int M>
static inline void micro_kernel(int64_t kc, const float* __restrict a, const float* __restrict b,
                                float* __restrict c, int64_t ldc, float alpha, float beta, int nr,
                                int64_t a_step) {
  __m512 c0[M], c1[M];
#pragma GCC unroll 16
  for (int i = 0; i < M; ++i) {
    c0[i] = _mm512_setzero_ps();
    c1[i] = _mm512_setzero_ps();
  }
  for (int64_t p = 0; p < kc; ++p) {
    const __m512 b0 = _mm512_load_ps(b);
    const __m512 b1 = _mm512_load_ps(b + 16);
    _mm_prefetch(reinterpret_cast<const char*>(b + 8 * kNR), _MM_HINT_T0);
#pragma GCC unroll 16
    for (int i = 0; i < M; ++i) {
      const __m512 ai = _mm512_set1_ps(a[i]);
      c0[i] = _mm512_fmadd_ps(ai, b0, c0[i]);
      c1[i] = _mm512_fmadd_ps(ai, b1, c1[i]);
    }
    a += a_step;
    b += kNR;
  }
  const __m512 va = _mm512_set1_ps(alpha);
  if (nr == kNR) {
    if (beta == 0.0f) {
#pragma GCC unroll 16
      for (int i = 0; i < M; ++i) {
        _mm512_storeu_ps(c + i * ldc, _mm512_mul_ps(va, c0[i]));
        _mm512_storeu_ps(c + i * ldc + 16, _mm512_mul_ps(va, c1[i]));
      }
    } else {
      const __m512 vb = _mm512_set1_ps(beta);
#pragma GCC unroll 16
      for (int i = 0; i < M; ++i) {
        float* ci = c + i * ldc;
        _mm512_storeu_ps(ci, _mm512_fmadd_ps(vb, _mm512_loadu_ps(ci), _mm512_mul_ps(va, c0[i])));
        _mm512_storeu_ps(ci + 16,
                         _mm512_fmadd_ps(vb, _mm512_loadu_ps(ci + 16), _mm512_mul_ps(va, c1[i])));
      }
    }
    return;
  }
  const __mmask16 m0 = tail_mask16(nr), m1 = tail_mask16(nr - 16);
  const __m512 vb = _mm512_set1_ps(beta);
#pragma GCC unroll 16
  for (int i = 0; i < M; ++i) {
    float* ci = c + i * ldc;
    __m512 r0 = _mm512_mul_ps(va, c0[i]), r1 = _mm512_mul_ps(va, c1[i]);
    if (beta != 0.0f) {
      r0 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m0, ci), r0);
      r1 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m1, ci + 16), r1);
    }
    _mm512_mask_storeu_ps(ci, m0, r0);
    _mm512_mask_storeu_ps(ci + 16, m1, r1);
  }
}

#elif defined(__AVX2__) && defined(__FMA__)

template <int M>
static inline void micro_kernel(int64_t kc, const float* __restrict a, const float* __restrict b,
                                float* __restrict c, int64_t ldc, float alpha, float beta, int nr,
                                int64_t a_step) {
  __m256 c0[M], c1[M];
#pragma GCC unroll 8
  for (int i = 0; i < M; ++i) {
    c0[i] = _mm256_setzero_ps();
    c1[i] = _mm256_setzero_ps();
  }
  for (int64_t p = 0; p < kc; ++p) {
    const __m256 b0 = _mm256_load_ps(b);
    const __m256 b1 = _mm256_load_ps(b + 8);
#pragma GCC unroll 8
    for (int i = 0; i < M; ++i) {
      const __m256 ai = _mm256_broadcast_ss(a + i);
      c0[i] = _mm256_fmadd_ps(ai, b0, c0[i]);
      c1[i] = _mm256_fmadd_ps(ai, b1, c1[i]);
    }
    a += a_step;
    b += kNR;
  }
  const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
  if (nr == kNR) {
#pragma GCC unroll 8
    for (int i = 0; i < M; ++i) {
      float* ci = c + i * ldc;
      __m256 r0 = _mm256_mul_ps(va, c0[i]), r1 = _mm256_mul_ps(va, c1[i]);
      if (beta != 0.0f) {
        r0 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(ci), r0);
        r1 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(ci + 8), r1);
      }
      _mm256_storeu_ps(ci, r0);
      _mm256_storeu_ps(ci + 8, r1);
    }
    return;
  }
  alignas(32) float tile[2][8];
  for (int i = 0; i < M; ++i) {
    float* ci = c + i * ldc;
    _mm256_store_ps(tile[0], _mm256_mul_ps(va, c0[i]));
    _mm256_store_ps(tile[1], _mm256_mul_ps(va, c1[i]));
    const float* t = &tile[0][0];
    if (beta == 0.0f) {
      for (int j = 0; j < nr; ++j) ci[j] = t[j];
    } else {
      for (int j = 0; j < nr; ++j) ci[j] = t[j] + beta * ci[j];
    }
  }
}

#else  // portable scalar fallback

template <int M>
static inline void micro_kernel(int64_t kc, const float* __restrict a, const float* __restrict b,
                                float* __restrict c, int64_t ldc, float alpha, float beta, int nr,
                                int64_t a_step) {
  float acc[M][kNR];
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < kNR; ++j) acc[i][j] = 0.0f;
  for (int64_t p = 0; p < kc; ++p) {
    for (int i = 0; i < M; ++i) {
      const float ai = a[i];
      for (int j = 0; j < kNR; ++j) acc[i][j] += ai * b[j];
    }
    a += a_step;
    b += kNR;
  }
  for (int i = 0; i < M; ++i) {
    float* ci = c + i * ldc;
    if (beta == 0.0f) {
      for (int j = 0; j < nr; ++j) ci[j] = alpha * acc[i][j];
    } else {
      for (int j = 0; j < nr; ++j) ci[j] = alpha * acc[i][j] + beta * ci[j];
    }
  }
}

#endif

// Runs the micro-kernel instantiated for exactly mr rows (1 <= mr <= kMR);
// the full-height case is tested first.
template <int M = kMR>
static inline void micro_kernel_rows(int mr, int64_t kc, const float* a, const float* b, float* c,
                                     int64_t ldc, float alpha, float beta, int nr,
                                     int64_t a_step = kMR) {
  if constexpr (M >= 1) {
    if (mr == M)
      micro_kernel<M>(kc, a, b, c, ldc, alpha, beta, nr, a_step);
    else
      micro_kernel_rows<M - 1>(mr, kc, a, b, c, ldc, alpha, beta, nr, a_step);
  }
}

}  // namespace gemm
}  // namespace cpu
}  // namespace cudnn_lite
