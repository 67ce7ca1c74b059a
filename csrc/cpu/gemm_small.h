// gemm_small.h: the narrow-C GEMM path, for products with at most kSmallN
// (16) columns of C, where the blocked driver would waste most of a kNR-wide
// tile and pay a full pass packing A that is read only once (the Dense(10)
// output layer: forward x @ w, and the kernel gradient x^T @ dy).
//
//   for each tile of kSmallMR rows of C (rows split over the callers' threads):
//     acc[r] = sum over p in order of op(A)[i0 + r, p] * op(B)[p, :]
//
// A is read in place (one broadcast per multiply-add), B is read in place when
// its rows are contiguous, else copied once into a (k, 16) zero-padded panel.
// Every element of C is one dot product summed in p order in one register,
// so the result does not depend on the row split (the thread count).
// Internal header: included by sgemm.cpp only.
#pragma once

#include <algorithm>
#include <cstdint>

#include "cpu/epilogue.h"
#include "cpu/gemm_driver.h"
#include "cpu/gemm_kernel.h"
#include "cudnn_lite.h"

namespace cudnn_lite {
namespace cpu {
namespace gemm {

constexpr int64_t kSmallN = 16;  // widest C this path takes

#if defined(__AVX512F__)
constexpr int kSmallMR = 16;  // rows per tile: 16 zmm accumulators
#elif defined(__AVX2__) && defined(__FMA__)
constexpr int kSmallMR = 6;  // 12 ymm accumulators (two per row)
#else
constexpr int kSmallMR = 4;
#endif
// Rows per tile when op(A) rows are contiguous (A not transposed): every row
// is its own stream, and more than 8 row pointers spill from the registers.
constexpr int kSmallMRRowA = kSmallMR < 8 ? kSmallMR : 8;

// One (M, n) tile of C, n <= 16:
//   a: op(A)[r, p] = a[r * a_rs + p * a_cs] (one of a_rs, a_cs is 1)
//   b: op(B)[p, j] = b[p * ldb + j], j < n (lanes past n are never read)
//   c: (M, n), rows ldc apart; C = ep(alpha * acc + beta * C), beta 0: C not read
// ROW_A: a_cs == 1 (rows of op(A) contiguous), else a_rs == 1.
#if defined(__AVX512F__)

template <int M, bool ROW_A>
static inline void small_n_tile(int64_t k, const float* __restrict a, int64_t lda,
                                const float* __restrict b, int64_t ldb, int n, float* c,
                                int64_t ldc, float alpha, float beta, const Epilogue* ep) {
  const __mmask16 mask = tail_mask16(n);
  __m512 acc[M];
#pragma GCC unroll 16
  for (int r = 0; r < M; ++r) acc[r] = _mm512_setzero_ps();
  for (int64_t p = 0; p < k; ++p) {
    const __m512 bv = _mm512_maskz_loadu_ps(mask, b + p * ldb);
    const float* ap = ROW_A ? a + p : a + p * lda;
#pragma GCC unroll 16
    for (int r = 0; r < M; ++r) {
      const float av = ROW_A ? ap[r * lda] : ap[r];
      acc[r] = _mm512_fmadd_ps(_mm512_set1_ps(av), bv, acc[r]);
    }
  }
  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
  const bool has_bias = ep && ep->bias;
  const __m512 vbias = has_bias ? _mm512_maskz_loadu_ps(mask, ep->bias) : _mm512_setzero_ps();
  const bool act = ep && ep->act != Activation::linear;
#pragma GCC unroll 16
  for (int r = 0; r < M; ++r) {
    float* cr = c + r * ldc;
    __m512 v = _mm512_mul_ps(va, acc[r]);
    if (beta != 0.0f) v = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(mask, cr), v);
    if (has_bias) v = _mm512_add_ps(v, vbias);  // same order as apply_epilogue_row
    _mm512_mask_storeu_ps(cr, mask, v);
    if (act) apply_epilogue_row(cr, n, nullptr, ep->act, ep->alpha);
  }
}

#elif defined(__AVX2__) && defined(__FMA__)

template <int M, bool ROW_A>
static inline void small_n_tile(int64_t k, const float* __restrict a, int64_t lda,
                                const float* __restrict b, int64_t ldb, int n, float* c,
                                int64_t ldc, float alpha, float beta, const Epilogue* ep) {
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i m0 = _mm256_cmpgt_epi32(_mm256_set1_epi32(n), lane);
  const __m256i m1 = _mm256_cmpgt_epi32(_mm256_set1_epi32(n - 8), lane);
  __m256 acc0[M], acc1[M];
#pragma GCC unroll 8
  for (int r = 0; r < M; ++r) {
    acc0[r] = _mm256_setzero_ps();
    acc1[r] = _mm256_setzero_ps();
  }
  for (int64_t p = 0; p < k; ++p) {
    const __m256 b0 = _mm256_maskload_ps(b + p * ldb, m0);
    const __m256 b1 = _mm256_maskload_ps(b + p * ldb + 8, m1);
    const float* ap = ROW_A ? a + p : a + p * lda;
#pragma GCC unroll 8
    for (int r = 0; r < M; ++r) {
      const __m256 av = _mm256_set1_ps(ROW_A ? ap[r * lda] : ap[r]);
      acc0[r] = _mm256_fmadd_ps(av, b0, acc0[r]);
      acc1[r] = _mm256_fmadd_ps(av, b1, acc1[r]);
    }
  }
  const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
  const bool has_bias = ep && ep->bias;
  const bool act = ep && ep->act != Activation::linear;
  for (int r = 0; r < M; ++r) {
    float* cr = c + r * ldc;
    __m256 v0 = _mm256_mul_ps(va, acc0[r]), v1 = _mm256_mul_ps(va, acc1[r]);
    if (beta != 0.0f) {
      v0 = _mm256_fmadd_ps(vb, _mm256_maskload_ps(cr, m0), v0);
      v1 = _mm256_fmadd_ps(vb, _mm256_maskload_ps(cr + 8, m1), v1);
    }
    if (has_bias) {
      v0 = _mm256_add_ps(v0, _mm256_maskload_ps(ep->bias, m0));
      v1 = _mm256_add_ps(v1, _mm256_maskload_ps(ep->bias + 8, m1));
    }
    _mm256_maskstore_ps(cr, m0, v0);
    _mm256_maskstore_ps(cr + 8, m1, v1);
    if (act) apply_epilogue_row(cr, n, nullptr, ep->act, ep->alpha);
  }
}

#else  // portable scalar fallback

template <int M, bool ROW_A>
static inline void small_n_tile(int64_t k, const float* __restrict a, int64_t lda,
                                const float* __restrict b, int64_t ldb, int n, float* c,
                                int64_t ldc, float alpha, float beta, const Epilogue* ep) {
  float acc[M][kSmallN] = {};
  for (int64_t p = 0; p < k; ++p) {
    const float* bp = b + p * ldb;
    for (int r = 0; r < M; ++r) {
      const float av = ROW_A ? a[r * lda + p] : a[p * lda + r];
      for (int j = 0; j < n; ++j) acc[r][j] += av * bp[j];
    }
  }
  for (int r = 0; r < M; ++r) {
    float* cr = c + r * ldc;
    for (int j = 0; j < n; ++j) {
      float v = alpha * acc[r][j];
      if (beta != 0.0f) v = beta * cr[j] + v;
      cr[j] = v;
    }
    if (ep) apply_epilogue_row(cr, n, ep->bias, ep->act, ep->alpha);
  }
}

#endif

template <bool ROW_A, int M = kSmallMR>
static inline void small_n_tile_rows(int mr, int64_t k, const float* a, int64_t lda,
                                     const float* b, int64_t ldb, int n, float* c, int64_t ldc,
                                     float alpha, float beta, const Epilogue* ep) {
  if constexpr (M >= 1) {
    if (mr == M)
      small_n_tile<M, ROW_A>(k, a, lda, b, ldb, n, c, ldc, alpha, beta, ep);
    else
      small_n_tile_rows<ROW_A, M - 1>(mr, k, a, lda, b, ldb, n, c, ldc, alpha, beta, ep);
  }
}

// Rows [i0, i1) of C (m, n), n <= kSmallN, k >= 1, alpha != 0; the arguments
// as sgemm's. ep (or nullptr, never an identity one) is indexed by column.
// b_panel: op(B) with contiguous rows, b_panel[p * ldbp + j].
inline void small_n_rows(bool trans_a, int64_t i0, int64_t i1, int64_t n, int64_t k, float alpha,
                         const float* a, int64_t lda, const float* b_panel, int64_t ldbp,
                         float beta, float* c, int64_t ldc, const Epilogue* ep) {
  if (trans_a) {
    for (int64_t i = i0; i < i1; i += kSmallMR) {
      const int mr = static_cast<int>(std::min<int64_t>(kSmallMR, i1 - i));
      small_n_tile_rows<false>(mr, k, a + i, lda, b_panel, ldbp, static_cast<int>(n), c + i * ldc,
                               ldc, alpha, beta, ep);
    }
  } else {
    for (int64_t i = i0; i < i1; i += kSmallMRRowA) {
      const int mr = static_cast<int>(std::min<int64_t>(kSmallMRRowA, i1 - i));
      small_n_tile_rows<true, kSmallMRRowA>(mr, k, a + i * lda, lda, b_panel, ldbp,
                                            static_cast<int>(n), c + i * ldc, ldc, alpha, beta, ep);
    }
  }
}

// op(B) (k, n) as rows of ldbp floats: b itself when its rows are contiguous,
// else a copy in this thread's packed-B buffer, (k, kSmallN).
inline const float* small_n_panel(bool trans_b, int64_t n, int64_t k, const float* b, int64_t ldb,
                                  int64_t* ldbp) {
  if (!trans_b) {
    *ldbp = ldb;
    return b;
  }
  float* dst = thread_buffer(kSlotPackB, static_cast<size_t>(k * kSmallN));
  for (int64_t j = 0; j < n; ++j) {  // op(B)[p, j] = b[j * ldb + p]; lanes past n unread
    const float* bj = b + j * ldb;
    for (int64_t p = 0; p < k; ++p) dst[p * kSmallN + j] = bj[p];
  }
  *ldbp = kSmallN;
  return dst;
}

}  // namespace gemm
}  // namespace cpu
}  // namespace cudnn_lite
