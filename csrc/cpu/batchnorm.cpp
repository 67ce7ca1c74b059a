// batchnorm.cpp: batch normalization over the last axis of a (rows, c) matrix
// (rows = n*h*w for NHWC activations, rows = batch for dense ones).
//
// Per-channel sums run over a fixed partition of the rows into blocks (chosen
// from the shape only, never from the thread count); each block accumulates
// per-channel partial sums in double, vectorised along c, and the partials are
// added in block order. So the statistics are bitwise reproducible whatever
// the number of threads. The batch variance is biased (divides by rows) and is
// computed in two passes (mean first, then sum of squared deviations).
// rows == 0: save_mean = 0, save_invstd = 1/sqrt(eps), moving stats unchanged.
#include <algorithm>
#include <cmath>
#include <vector>

#include "cudnn_lite.h"
#include "cpu/parallel.h"  // parallel_for_chunks, rows_per_chunk, kChunkElements: shape-fixed chunks

namespace cudnn_lite {
namespace cpu {

namespace {

// a fixed split of [0, rows) into `count` contiguous blocks
struct RowBlocks {
  int64_t rows, count;
  RowBlocks(int64_t rows_, int64_t c) : rows(rows_) {
    const int64_t per_block = 16384;  // elements; about 64 KiB of x per block
    count = std::clamp<int64_t>(rows * c / per_block, 1, 64);
    count = std::min<int64_t>(count, std::max<int64_t>(rows, 1));
  }
  int64_t begin(int64_t b) const { return rows * b / count; }
};

// acc[ch] += sum over rows r in block b of x[r, ch] - shift[ch] (shift may be nullptr),
// squared when `square`; out[ch] gets the ordered sum over blocks
void column_sums(int64_t rows, int64_t c, const float* x, const double* shift, bool square,
                 double* out) {
  const RowBlocks blocks(rows, c);
  std::vector<double> partial(blocks.count * c, 0.0);
  parallel_for_chunks(blocks.count, 1, [&](int64_t b_begin, int64_t b_end) {
    for (int64_t b = b_begin; b < b_end; ++b) {
      double* acc = partial.data() + b * c;
      for (int64_t r = blocks.begin(b); r < blocks.begin(b + 1); ++r) {
        const float* xr = x + r * c;
        if (square) {
#pragma omp simd
          for (int64_t ch = 0; ch < c; ++ch) {
            const double e = static_cast<double>(xr[ch]) - shift[ch];
            acc[ch] += e * e;
          }
        } else {
#pragma omp simd
          for (int64_t ch = 0; ch < c; ++ch) acc[ch] += xr[ch];
        }
      }
    }
  }, blocks.count > 1);
  std::fill(out, out + c, 0.0);
  for (int64_t b = 0; b < blocks.count; ++b)
    for (int64_t ch = 0; ch < c; ++ch) out[ch] += partial[b * c + ch];
}

// y (rows, c) = (x - mean) * scale + beta, scale = gamma * invstd, all per channel
void normalize(int64_t rows, int64_t c, const float* x, const float* mean, const float* scale,
               const float* beta, float* y) {
  parallel_for_chunks(rows, rows_per_chunk(c), [&](int64_t r_begin, int64_t r_end) {
    for (int64_t r = r_begin; r < r_end; ++r) {
      const float* xr = x + r * c;
      float* yr = y + r * c;
#pragma omp simd
      for (int64_t ch = 0; ch < c; ++ch) yr[ch] = (xr[ch] - mean[ch]) * scale[ch] + beta[ch];
    }
  }, rows * c > 32768 && rows > 1);
}

}  // namespace

// x, y (rows, c); gamma, beta, moving_mean, moving_var, save_mean, save_invstd (c)
void batchnorm_forward_train(int64_t rows, int64_t c, const float* x, const float* gamma,
                             const float* beta, float eps, float momentum, float* moving_mean,
                             float* moving_var, float* y, float* save_mean, float* save_invstd) {
  if (rows == 0) {
    for (int64_t ch = 0; ch < c; ++ch) {
      save_mean[ch] = 0.0f;
      save_invstd[ch] = static_cast<float>(1.0 / std::sqrt(static_cast<double>(eps)));
    }
    return;
  }
  std::vector<double> mean(c), var(c);
  column_sums(rows, c, x, nullptr, false, mean.data());
  for (int64_t ch = 0; ch < c; ++ch) mean[ch] /= static_cast<double>(rows);
  column_sums(rows, c, x, mean.data(), true, var.data());
  std::vector<float> scale(c);
  for (int64_t ch = 0; ch < c; ++ch) {
    var[ch] /= static_cast<double>(rows);
    const float m = static_cast<float>(mean[ch]);
    const float v = static_cast<float>(var[ch]);
    const float invstd = static_cast<float>(1.0 / std::sqrt(var[ch] + static_cast<double>(eps)));
    save_mean[ch] = m;
    save_invstd[ch] = invstd;
    scale[ch] = gamma[ch] * invstd;
    moving_mean[ch] = moving_mean[ch] * momentum + m * (1.0f - momentum);
    moving_var[ch] = moving_var[ch] * momentum + v * (1.0f - momentum);
  }
  normalize(rows, c, x, save_mean, scale.data(), beta, y);
}

// x, y (rows, c); gamma, beta, moving_mean, moving_var (c)
void batchnorm_forward_inference(int64_t rows, int64_t c, const float* x, const float* gamma,
                                 const float* beta, const float* moving_mean,
                                 const float* moving_var, float eps, float* y) {
  std::vector<float> scale(c);
  for (int64_t ch = 0; ch < c; ++ch)
    scale[ch] = gamma[ch] *
                static_cast<float>(1.0 / std::sqrt(static_cast<double>(moving_var[ch]) + eps));
  normalize(rows, c, x, moving_mean, scale.data(), beta, y);
}

// x, dy, dx (rows, c); gamma, save_mean, save_invstd, dgamma, dbeta (c)
// xhat = (x - mean) invstd; dbeta = sum dy; dgamma = sum dy xhat;
// dx = gamma invstd / rows * (rows dy - dbeta - xhat dgamma)
void batchnorm_backward(int64_t rows, int64_t c, const float* x, const float* dy,
                        const float* gamma, const float* save_mean, const float* save_invstd,
                        float* dx, float* dgamma, float* dbeta) {
  const RowBlocks blocks(rows, c);
  std::vector<double> partial(blocks.count * 2 * c, 0.0);  // per block: sum dy, sum dy xhat
  parallel_for_chunks(blocks.count, 1, [&](int64_t b_begin, int64_t b_end) {
    for (int64_t b = b_begin; b < b_end; ++b) {
      double* sdy = partial.data() + b * 2 * c;
      double* sdyx = sdy + c;
      for (int64_t r = blocks.begin(b); r < blocks.begin(b + 1); ++r) {
        const float* xr = x + r * c;
        const float* dyr = dy + r * c;
#pragma omp simd
        for (int64_t ch = 0; ch < c; ++ch) {
          const float xhat = (xr[ch] - save_mean[ch]) * save_invstd[ch];
          sdy[ch] += dyr[ch];
          sdyx[ch] += static_cast<double>(dyr[ch]) * xhat;
        }
      }
    }
  }, blocks.count > 1);
  std::vector<double> sum_dy(c, 0.0), sum_dyx(c, 0.0);
  for (int64_t b = 0; b < blocks.count; ++b)
    for (int64_t ch = 0; ch < c; ++ch) {
      sum_dy[ch] += partial[b * 2 * c + ch];
      sum_dyx[ch] += partial[b * 2 * c + c + ch];
    }
  std::vector<float> k(c), db(c), dg(c);
  for (int64_t ch = 0; ch < c; ++ch) {
    db[ch] = static_cast<float>(sum_dy[ch]);
    dg[ch] = static_cast<float>(sum_dyx[ch]);
    dbeta[ch] = db[ch];
    dgamma[ch] = dg[ch];
    k[ch] = rows > 0 ? gamma[ch] * save_invstd[ch] / static_cast<float>(rows) : 0.0f;
  }
  const float frows = static_cast<float>(rows);
  parallel_for_chunks(rows, rows_per_chunk(c), [&](int64_t r_begin, int64_t r_end) {
    for (int64_t r = r_begin; r < r_end; ++r) {
      const float* xr = x + r * c;
      const float* dyr = dy + r * c;
      float* dxr = dx + r * c;
#pragma omp simd
      for (int64_t ch = 0; ch < c; ++ch) {
        const float xhat = (xr[ch] - save_mean[ch]) * save_invstd[ch];
        dxr[ch] = k[ch] * (frows * dyr[ch] - db[ch] - xhat * dg[ch]);
      }
    }
  }, rows * c > 32768 && rows > 1);
}

}  // namespace cpu
}  // namespace cudnn_lite
