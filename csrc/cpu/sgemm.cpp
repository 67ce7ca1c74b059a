// sgemm.cpp: single-precision GEMM, row-major, C = alpha op(A) op(B) + beta C.
// The loop nest and packing live in gemm_driver.h, the micro-kernels in
// gemm_kernel.h; this file maps transposes onto strided packers and splits
// C over the OpenMP threads.
#include <algorithm>
#include <cstdint>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "cpu/gemm_driver.h"
#include "cpu/gemm_small.h"
#include "cpu/parallel.h"
#include "cudnn_lite.h"

namespace cudnn_lite {
namespace cpu {
namespace gemm {

// a is (m, k) with lda, or (k, m) when trans_a; b is (k, n) with ldb, or
// (n, k) when trans_b; c is (m, n) with ldc.
void sgemm_serial(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                  const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
                  int64_t ldc, const Epilogue* ep) {
  if (m > 0 && n > 0 && n <= kSmallN && k > 0 && alpha != 0.0f) {  // narrow C: gemm_small.h
    if (ep && epilogue_is_identity(*ep)) ep = nullptr;
    int64_t ldbp = 0;
    const float* bp = small_n_panel(trans_b, n, k, b, ldb, &ldbp);
    small_n_rows(trans_a, 0, m, n, k, alpha, a, lda, bp, ldbp, beta, c, ldc, ep);
    return;
  }
  // With few columns of C, packing A would cost about as much as the product
  // (A is used only ceil(n / kNR) times), so a transposed A is read in place,
  // unless its row stride is a multiple of 2 KiB (L1 set aliasing).
  const bool direct_a = trans_a && n <= 4 * kNR && lda % 512 != 0;
  const StridedPackA pa = trans_a ? StridedPackA{a, 1, lda, direct_a} : StridedPackA{a, lda, 1};
  const StridedPackB pb = trans_b ? StridedPackB{b, 1, ldb} : StridedPackB{b, ldb, 1};
  gemm_blocked(m, n, k, alpha, pa, pb, beta, c, ldc, ep);
}

namespace {

// [begin, end) of part t of `units` units split into `parts` near-equal parts.
inline void split_range(int64_t units, int64_t parts, int64_t t, int64_t* begin, int64_t* end) {
  *begin = units * t / parts;
  *end = units * (t + 1) / parts;
}

// Picks a tm x tn grid of thread tiles (tm * tn == threads) whose largest tile
// costs least: compute (rows * cols) plus a packing term (rows + cols).
void choose_grid(int64_t m, int64_t n, int threads, int* tm_out, int* tn_out) {
  const int64_t mb = (m + kMR - 1) / kMR, nb = (n + kNR - 1) / kNR;
  double best = -1.0;
  for (int tm = 1; tm <= threads; ++tm) {
    if (threads % tm) continue;
    const int tn = threads / tm;
    if (tm > mb || tn > nb) continue;
    const double rows = double((mb + tm - 1) / tm) * kMR, cols = double((nb + tn - 1) / tn) * kNR;
    const double cost = rows * cols + 16.0 * (rows + cols);
    if (best < 0.0 || cost < best) {
      best = cost;
      *tm_out = tm;
      *tn_out = tn;
    }
  }
  if (best < 0.0) {  // too small to give every thread a tile: split the longer side
    if (mb >= nb) {
      *tm_out = static_cast<int>(std::min<int64_t>(threads, mb));
      *tn_out = 1;
    } else {
      *tm_out = 1;
      *tn_out = static_cast<int>(std::min<int64_t>(threads, nb));
    }
  }
}

}  // namespace

void sgemm_parallel(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                    const float* a, int64_t lda, const float* b, int64_t ldb, float beta,
                    float* c, int64_t ldc, const Epilogue* ep) {
  if (m <= 0 || n <= 0) return;
  int threads = 1;
#ifdef _OPENMP
  if (!omp_in_parallel()) threads = omp_get_max_threads();
#endif
  const double flops = double(m) * double(n) * double(std::max<int64_t>(k, 1));
  if (threads <= 1 || flops < 64.0 * 64.0 * 64.0) {
    sgemm_serial(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, ep);
    return;
  }
  if (n <= kSmallN && k > 0 && alpha != 0.0f) {  // narrow C: split the rows, whole tiles each
    if (ep && epilogue_is_identity(*ep)) ep = nullptr;
    const int64_t tiles = (m + kSmallMR - 1) / kSmallMR;
    // row ranges of whole tiles (the same bits at any split), any thread takes the next
    const int64_t parts = std::min<int64_t>(2 * threads, tiles);
    parallel_chunks(parts, [&](int64_t t) {
      int64_t ldbp = 0;
      const float* bp = small_n_panel(trans_b, n, k, b, ldb, &ldbp);
      int64_t tb, te;
      split_range(tiles, parts, t, &tb, &te);
      small_n_rows(trans_a, tb * kSmallMR, std::min(m, te * kSmallMR), n, k, alpha, a, lda, bp,
                   ldbp, beta, c, ldc, ep);
    });
    return;
  }
  int tm = 1, tn = 1;
  choose_grid(m, n, threads, &tm, &tn);
  const int64_t mb = (m + kMR - 1) / kMR, nb = (n + kNR - 1) / kNR;
  // a tm x tn grid of C tiles; any thread takes the next tile (each C element is
  // computed whole by one tile: the same bits whichever thread computes it)
  parallel_chunks(tm * tn, [&](int64_t t) {
    int64_t ib, ie, jb, je;
    split_range(mb, tm, t / tn, &ib, &ie);
    split_range(nb, tn, t % tn, &jb, &je);
    const int64_t i0 = ib * kMR, i1 = std::min(m, ie * kMR);
    const int64_t j0 = jb * kNR, j1 = std::min(n, je * kNR);
    if (i0 >= i1 || j0 >= j1) return;
    const float* at = trans_a ? a + i0 : a + i0 * lda;
    const float* bt = trans_b ? b + j0 * ldb : b + j0;
    Epilogue ep_t;
    if (ep) {
      ep_t = *ep;
      if (ep_t.bias) ep_t.bias += j0;
    }
    sgemm_serial(trans_a, trans_b, i1 - i0, j1 - j0, k, alpha, at, lda, bt, ldb, beta,
                 c + i0 * ldc + j0, ldc, ep ? &ep_t : nullptr);
  });
}

}  // namespace gemm

void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
           const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
           int64_t ldc) {
  gemm::sgemm_parallel(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, nullptr);
}

}  // namespace cpu
}  // namespace cudnn_lite
