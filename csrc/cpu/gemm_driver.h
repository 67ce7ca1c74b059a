// gemm_driver.h: the BLIS-style blocked GEMM loop nest, templated on how the
// A and B panels are packed, so that convolutions can pack im2col rows straight
// from the NHWC input ("implicit GEMM") and plain matrices any transpose.
//
//   for i0 in m by kMC:                 A block (mc, kc) packed once, in L3/L2
//     for p0 in k by kKC:
//       pack A[i0:i0+mc, p0:p0+kc]
//       for j0 in n by kNC:             B block (kc, nc) packed, in L2
//         pack B[p0:p0+kc, j0:j0+nc]
//         for ir in mc by kMR:          A micro-panel (kc, kMR) stays in L1
//           for jr in nc by kNR:        micro-kernel on a (kMR, kNR) tile of C
//
// gemm_blocked runs on the calling thread only (it never opens an OpenMP team),
// so kernels may call it from inside their own parallel regions.
// Internal header: included by sgemm.cpp, dense.cpp and conv2d.cpp only.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>

#if defined(__AVX__)
#include <immintrin.h>
#elif defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "cpu/epilogue.h"
#include "cpu/gemm_kernel.h"
#include "cudnn_lite.h"

namespace cudnn_lite {
namespace cpu {
namespace gemm {

// ---------------------------------------------------------------- workspace

// A per-thread, 64-byte aligned scratch buffer that only grows; slot picks one
// of a few independent buffers (packed A, packed B, conv columns, ...).
// Freed when the thread exits.
enum WorkspaceSlot { kSlotPackA = 0, kSlotPackB = 1, kSlotConv = 2, kNumSlots = 3 };

struct ThreadWorkspace {
  float* ptr[kNumSlots] = {};
  size_t cap[kNumSlots] = {};
  ~ThreadWorkspace() {
    for (int s = 0; s < kNumSlots; ++s) std::free(ptr[s]);
  }
};

inline float* thread_buffer(int slot, size_t floats) {
  static thread_local ThreadWorkspace ws;
  if (ws.cap[slot] < floats) {
    std::free(ws.ptr[slot]);
    ws.ptr[slot] = nullptr;
    ws.cap[slot] = 0;
    size_t bytes = (floats * sizeof(float) + 63) / 64 * 64;
    void* p = nullptr;
    if (posix_memalign(&p, 64, bytes) != 0 || p == nullptr) throw std::bad_alloc();
    ws.ptr[slot] = static_cast<float*>(p);
    ws.cap[slot] = floats;
  }
  return ws.ptr[slot];
}

// ------------------------------------------------------------------ packers

#if defined(__AVX__)
// s is 8 rows of 8 floats, ss apart; d gets its transpose, 8 rows ds apart:
//   d[p * ds + j] = s[j * ss + p]
static inline void transpose_8x8(const float* s, int64_t ss, float* d, int64_t ds) {
  const __m256 r0 = _mm256_loadu_ps(s), r1 = _mm256_loadu_ps(s + ss);
  const __m256 r2 = _mm256_loadu_ps(s + 2 * ss), r3 = _mm256_loadu_ps(s + 3 * ss);
  const __m256 r4 = _mm256_loadu_ps(s + 4 * ss), r5 = _mm256_loadu_ps(s + 5 * ss);
  const __m256 r6 = _mm256_loadu_ps(s + 6 * ss), r7 = _mm256_loadu_ps(s + 7 * ss);
  const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
  const __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
  const __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
  const __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
  const __m256 u0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 u1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 u2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 u3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 u4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 u5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 u6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 u7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
  _mm256_storeu_ps(d, _mm256_permute2f128_ps(u0, u4, 0x20));
  _mm256_storeu_ps(d + ds, _mm256_permute2f128_ps(u1, u5, 0x20));
  _mm256_storeu_ps(d + 2 * ds, _mm256_permute2f128_ps(u2, u6, 0x20));
  _mm256_storeu_ps(d + 3 * ds, _mm256_permute2f128_ps(u3, u7, 0x20));
  _mm256_storeu_ps(d + 4 * ds, _mm256_permute2f128_ps(u0, u4, 0x31));
  _mm256_storeu_ps(d + 5 * ds, _mm256_permute2f128_ps(u1, u5, 0x31));
  _mm256_storeu_ps(d + 6 * ds, _mm256_permute2f128_ps(u2, u6, 0x31));
  _mm256_storeu_ps(d + 7 * ds, _mm256_permute2f128_ps(u3, u7, 0x31));
}
#endif

// Packs rows [i0, i0+mc) x cols [p0, p0+kc) of op(A) into ceil(mc/kMR)
// micro-panels, each (kc, kMR) with zero rows past mc:
//   dst[panel * kc * kMR + p * kMR + r] = op(A)[i0 + panel*kMR + r, p0 + p]
// A strided matrix: op(A)[i, p] = a[i * rs + p * cs].
struct StridedPackA {
  const float* a;
  int64_t rs, cs;
  bool allow_direct = false;  // let the kernel read A in place when rs == 1
  // True when the micro-kernel can read op(A)[i0 + r, p0 + p] in place as
  // (*ptr)[p * *step + r] (columns of op(A) contiguous), skipping the packing.
  bool direct(int64_t i0, int64_t p0, const float** ptr, int64_t* step) const {
    if (!allow_direct || rs != 1) return false;
    *ptr = a + i0 + p0 * cs;
    *step = cs;
    return true;
  }
  void operator()(int64_t i0, int64_t mc, int64_t p0, int64_t kc, float* dst) const {
    for (int64_t ir = 0; ir < mc; ir += kMR, dst += kc * kMR) {
      const int64_t mr = std::min<int64_t>(kMR, mc - ir);
      const float* src = a + (i0 + ir) * rs + p0 * cs;
      if (rs == 1) {  // op(A) columns are contiguous (A transposed in memory)
        for (int64_t p = 0; p < kc; ++p) {
          const float* s = src + p * cs;
          float* d = dst + p * kMR;
          if (mr == kMR) {
            std::memcpy(d, s, sizeof(float) * kMR);
          } else {
            for (int64_t r = 0; r < mr; ++r) d[r] = s[r];
            for (int64_t r = mr; r < kMR; ++r) d[r] = 0.0f;
          }
        }
      } else {  // op(A) rows are contiguous: transpose in chunks of kTile columns
        constexpr int64_t kTile = 32;
        for (int64_t pt = 0; pt < kc; pt += kTile) {
          const int64_t np = std::min(kTile, kc - pt);
          int64_t r = 0;
#if defined(__SSE2__)
          if (cs == 1) {  // 4x4 register transposes
            for (; r + 4 <= mr; r += 4) {
              const float* s0 = src + r * rs + pt;
              const float *s1 = s0 + rs, *s2 = s1 + rs, *s3 = s2 + rs;
              float* d = dst + pt * kMR + r;
              int64_t p = 0;
              for (; p + 4 <= np; p += 4) {
                __m128 v0 = _mm_loadu_ps(s0 + p), v1 = _mm_loadu_ps(s1 + p);
                __m128 v2 = _mm_loadu_ps(s2 + p), v3 = _mm_loadu_ps(s3 + p);
                _MM_TRANSPOSE4_PS(v0, v1, v2, v3);
                _mm_storeu_ps(d + (p + 0) * kMR, v0);
                _mm_storeu_ps(d + (p + 1) * kMR, v1);
                _mm_storeu_ps(d + (p + 2) * kMR, v2);
                _mm_storeu_ps(d + (p + 3) * kMR, v3);
              }
              for (; p < np; ++p) {
                d[p * kMR + 0] = s0[p];
                d[p * kMR + 1] = s1[p];
                d[p * kMR + 2] = s2[p];
                d[p * kMR + 3] = s3[p];
              }
            }
          }
#endif
          for (; r < mr; ++r) {
            const float* s = src + r * rs + pt * cs;
            for (int64_t p = 0; p < np; ++p) dst[(pt + p) * kMR + r] = s[p * cs];
          }
          for (int64_t p = 0; p < np; ++p)
            for (int64_t r = mr; r < kMR; ++r) dst[(pt + p) * kMR + r] = 0.0f;
        }
      }
    }
  }
};

// Packs rows [p0, p0+kc) x cols [j0, j0+nc) of op(B) into ceil(nc/kNR)
// micro-panels, each (kc, kNR) with zero cols past nc:
//   dst[panel * kc * kNR + p * kNR + j] = op(B)[p0 + p, j0 + panel*kNR + j]
// A strided matrix: op(B)[p, j] = b[p * rs + j * cs].
struct StridedPackB {
  const float* b;
  int64_t rs, cs;
  void operator()(int64_t p0, int64_t kc, int64_t j0, int64_t nc, float* dst) const {
    for (int64_t jr = 0; jr < nc; jr += kNR, dst += kc * kNR) {
      const int64_t nr = std::min<int64_t>(kNR, nc - jr);
      const float* src = b + p0 * rs + (j0 + jr) * cs;
      if (cs == 1) {  // op(B) rows are contiguous
        for (int64_t p = 0; p < kc; ++p) {
          const float* s = src + p * rs;
          float* d = dst + p * kNR;
          if (nr == kNR) {
            std::memcpy(d, s, sizeof(float) * kNR);
          } else {
            for (int64_t j = 0; j < nr; ++j) d[j] = s[j];
            for (int64_t j = nr; j < kNR; ++j) d[j] = 0.0f;
          }
        }
      } else {  // op(B) columns are contiguous (B transposed in memory): transpose
        // in chunks of kTile rows of the panel so reads and writes stay in L1
        constexpr int64_t kTile = 16;
        for (int64_t pt = 0; pt < kc; pt += kTile) {
          const int64_t np = std::min(kTile, kc - pt);
          int64_t j = 0;
#if defined(__AVX__)
          if (rs == 1) {  // 8x8 register transposes, the last np % 8 rows one by one
            for (; j + 8 <= nr; j += 8) {
              const float* s = src + j * cs + pt;
              float* d = dst + pt * kNR + j;
              int64_t p = 0;
              for (; p + 8 <= np; p += 8) transpose_8x8(s + p, cs, d + p * kNR, kNR);
              for (; p < np; ++p)
                for (int64_t jj = 0; jj < 8; ++jj) d[p * kNR + jj] = s[jj * cs + p];
            }
          }
#endif
          for (; j < nr; ++j) {
            const float* s = src + j * cs + pt * rs;
            for (int64_t p = 0; p < np; ++p) dst[(pt + p) * kNR + j] = s[p * rs];
          }
          for (int64_t p = 0; p < np; ++p)
            for (int64_t j = nr; j < kNR; ++j) dst[(pt + p) * kNR + j] = 0.0f;
        }
      }
    }
  }
};

// ------------------------------------------------------------------- driver

// c (m, n), row stride ldc: C = epilogue(alpha * op(A) op(B) + beta * C).
// pack_a / pack_b follow the StridedPackA / StridedPackB interface.
// ep (or nullptr) is applied to each finished tile; its bias is indexed by
// the column of c (offset it by the first column yourself).
template <class PackA, class PackB>
void gemm_blocked(int64_t m, int64_t n, int64_t k, float alpha, const PackA& pack_a,
                  const PackB& pack_b, float beta, float* c, int64_t ldc, const Epilogue* ep) {
  if (m <= 0 || n <= 0) return;
  if (ep && epilogue_is_identity(*ep)) ep = nullptr;
  if (k <= 0 || alpha == 0.0f) {  // C = epilogue(beta * C), A and B not read
    for (int64_t i = 0; i < m; ++i) {
      float* ci = c + i * ldc;
      if (beta == 0.0f) {
        for (int64_t j = 0; j < n; ++j) ci[j] = 0.0f;
      } else if (beta != 1.0f) {
        for (int64_t j = 0; j < n; ++j) ci[j] *= beta;
      }
      if (ep) apply_epilogue_row(ci, n, ep->bias, ep->act, ep->alpha);
    }
    return;
  }
  const int64_t mc_max = std::min<int64_t>(kMC, (m + kMR - 1) / kMR * kMR);
  const int64_t nc_max = std::min<int64_t>(kNC, (n + kNR - 1) / kNR * kNR);
  const int64_t kc_max = std::min<int64_t>(kKC, k);
  float* abuf = thread_buffer(kSlotPackA, static_cast<size_t>(mc_max * kc_max));
  float* bbuf = thread_buffer(kSlotPackB, static_cast<size_t>(nc_max * kc_max));

  for (int64_t i0 = 0; i0 < m; i0 += kMC) {
    const int64_t mc = std::min(kMC, m - i0);
    for (int64_t p0 = 0; p0 < k; p0 += kKC) {
      const int64_t kc = std::min(kKC, k - p0);
      const float beta_k = p0 == 0 ? beta : 1.0f;
      const bool last_k = p0 + kc == k;
      const float* apanel = abuf;  // micro-panel ir starts at apanel + ir * a_panel
      int64_t a_step = kMR, a_panel = kc;
      if (pack_a.direct(i0, p0, &apanel, &a_step)) {
        a_panel = 1;
      } else {
        pack_a(i0, mc, p0, kc, abuf);
      }
      for (int64_t j0 = 0; j0 < n; j0 += kNC) {
        const int64_t nc = std::min(kNC, n - j0);
        pack_b(p0, kc, j0, nc, bbuf);
        for (int64_t ir = 0; ir < mc; ir += kMR) {
          const int mr = static_cast<int>(std::min<int64_t>(kMR, mc - ir));
          const float* ap = apanel + ir * a_panel;
          float* crow = c + (i0 + ir) * ldc + j0;
          for (int64_t jr = 0; jr < nc; jr += kNR) {
            const int nr = static_cast<int>(std::min<int64_t>(kNR, nc - jr));
            const float* bp = bbuf + (jr / kNR) * kc * kNR;
            micro_kernel_rows(mr, kc, ap, bp, crow + jr, ldc, alpha, beta_k, nr, a_step);
            if (last_k && ep) {
              const float* bias = ep->bias ? ep->bias + j0 + jr : nullptr;
              for (int r = 0; r < mr; ++r)
                apply_epilogue_row(crow + r * ldc + jr, nr, bias, ep->act, ep->alpha);
            }
          }
        }
      }
    }
  }
}

// The plain-matrix entry on the calling thread (no OpenMP team), row-major,
// same argument meaning as cpu::sgemm, plus an optional fused epilogue.
void sgemm_serial(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                  const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
                  int64_t ldc, const Epilogue* ep);

// Same, split over the OpenMP threads (2-D partition of C) unless called from
// inside a parallel region or the problem is small; then it runs serially.
void sgemm_parallel(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                    const float* a, int64_t lda, const float* b, int64_t ldb, float beta,
                    float* c, int64_t ldc, const Epilogue* ep);

}  // namespace gemm
}  // namespace cpu
}  // namespace cudnn_lite
