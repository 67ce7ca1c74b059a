// loss.cpp: the four Keras losses on probabilities, per sample, and their gradients.
//
// p (prediction) and t (target) are (rows, cols). Forward gives the per-row
// loss (Keras's per-sample loss; the batch loss is their mean). Backward gives
// d mean_rows(loss) / dp, so every gradient carries a 1 / rows factor.
//   categorical_crossentropy: q = p / sum(p); r = clip(q, eps, 1 - eps); -sum t log r
//   binary_crossentropy:      r = clip(p, eps, 1 - eps); mean_cols -(t log r + (1-t) log(1-r))
//   mse:                      mean_cols (p - t)^2
//   mae:                      mean_cols |p - t|; gradient sign(p - t), sign(0) = 0
// Clipping passes the gradient where eps <= value <= 1 - eps and stops it
// outside (TensorFlow's clip_by_value rule). eps = kLossEpsilon = 1e-7; the
// bounds are float32 values (1 - eps rounds to 0.99999988f, as in Keras).
// Sums over a row are accumulated in double.
#include <cmath>

#include "cudnn_lite.h"
#include "cpu/parallel.h"  // parallel_for_chunks, rows_per_chunk, kChunkElements: shape-fixed chunks

namespace cudnn_lite {
namespace cpu {

namespace {

constexpr float kLo = kLossEpsilon;
constexpr float kHi = 1.0f - kLossEpsilon;

inline float clip(float v) { return v < kLo ? kLo : (v > kHi ? kHi : v); }
inline bool inside(float v) { return v >= kLo && v <= kHi; }

inline double row_sum(const float* a, int64_t cols) {
  double s = 0.0;
#pragma omp simd reduction(+ : s)
  for (int64_t j = 0; j < cols; ++j) s += a[j];
  return s;
}

}  // namespace

// p, t (rows, cols) -> loss_per_row (rows)
void loss_forward(Loss loss, int64_t rows, int64_t cols, const float* p, const float* t,
                  float* loss_per_row) {
  if (static_cast<int>(loss) < 0 || static_cast<int>(loss) > 3)
    throw std::invalid_argument("loss_forward: unknown loss " +
                                std::to_string(static_cast<int>(loss)));
  const double inv_cols = cols > 0 ? 1.0 / static_cast<double>(cols) : 0.0;
  parallel_for_chunks(rows, rows_per_chunk(cols), [&](int64_t r_begin, int64_t r_end) {
    for (int64_t r = r_begin; r < r_end; ++r) {
      const float* pr = p + r * cols;
      const float* tr = t + r * cols;
      double acc = 0.0;
      switch (loss) {
        case Loss::categorical_crossentropy: {
          const float s = static_cast<float>(row_sum(pr, cols));
          for (int64_t j = 0; j < cols; ++j)
            acc -= static_cast<double>(tr[j]) * std::log(static_cast<double>(clip(pr[j] / s)));
          break;
        }
        case Loss::binary_crossentropy: {
          for (int64_t j = 0; j < cols; ++j) {
            const double q = clip(pr[j]);
            const double tj = tr[j];
            acc -= tj * std::log(q) + (1.0 - tj) * std::log(1.0 - q);
          }
          acc *= inv_cols;
          break;
        }
        case Loss::mse: {
#pragma omp simd reduction(+ : acc)
          for (int64_t j = 0; j < cols; ++j) {
            const double e = static_cast<double>(pr[j]) - tr[j];
            acc += e * e;
          }
          acc *= inv_cols;
          break;
        }
        case Loss::mae: {
#pragma omp simd reduction(+ : acc)
          for (int64_t j = 0; j < cols; ++j) acc += std::fabs(static_cast<double>(pr[j]) - tr[j]);
          acc *= inv_cols;
          break;
        }
      }
      loss_per_row[r] = static_cast<float>(acc);
    }
  }, rows * cols > 32768 && rows > 1);
}

// p, t, dp (rows, cols): dp = d mean_rows(loss_per_row) / dp
void loss_backward(Loss loss, int64_t rows, int64_t cols, const float* p, const float* t,
                   float* dp) {
  if (static_cast<int>(loss) < 0 || static_cast<int>(loss) > 3)
    throw std::invalid_argument("loss_backward: unknown loss " +
                                std::to_string(static_cast<int>(loss)));
  const float inv_rows = rows > 0 ? 1.0f / static_cast<float>(rows) : 0.0f;
  const float scale = cols > 0 ? inv_rows / static_cast<float>(cols) : 0.0f;  // 1 / (rows cols)
  parallel_for_chunks(rows, rows_per_chunk(cols), [&](int64_t r_begin, int64_t r_end) {
    for (int64_t r = r_begin; r < r_end; ++r) {
      const float* pr = p + r * cols;
      const float* tr = t + r * cols;
      float* dr = dp + r * cols;
      switch (loss) {
        case Loss::categorical_crossentropy: {
          // q = p / s, L = -sum t log clip(q): g_j = dL/dq_j = -t_j / q_j where q_j is
          // inside the clip range, else 0; dL/dp_k = (g_k - sum_j g_j q_j) / s
          const float s = static_cast<float>(row_sum(pr, cols));
          double gq = 0.0;
          for (int64_t j = 0; j < cols; ++j) {
            const float q = pr[j] / s;
            const float g = inside(q) ? -tr[j] / q : 0.0f;
            dr[j] = g;
            gq += static_cast<double>(g) * q;
          }
          const float sub = static_cast<float>(gq);
          const float k = inv_rows / s;
#pragma omp simd
          for (int64_t j = 0; j < cols; ++j) dr[j] = (dr[j] - sub) * k;
          break;
        }
        case Loss::binary_crossentropy: {
#pragma omp simd
          for (int64_t j = 0; j < cols; ++j) {
            const float q = pr[j];
            const float g = (1.0f - tr[j]) / (1.0f - q) - tr[j] / q;
            dr[j] = inside(q) ? g * scale : 0.0f;
          }
          break;
        }
        case Loss::mse: {
          const float k = 2.0f * scale;
#pragma omp simd
          for (int64_t j = 0; j < cols; ++j) dr[j] = (pr[j] - tr[j]) * k;
          break;
        }
        case Loss::mae: {
#pragma omp simd
          for (int64_t j = 0; j < cols; ++j) {
            const float e = pr[j] - tr[j];
            dr[j] = e > 0.0f ? scale : (e < 0.0f ? -scale : 0.0f);
          }
          break;
        }
      }
    }
  }, rows * cols > 32768 && rows > 1);
}

// p = softmax(logits), t, dlogits (rows, cols): dlogits = (p - t) / rows
void softmax_cross_entropy_backward(int64_t rows, int64_t cols, const float* p, const float* t,
                                    float* dlogits) {
  const int64_t n = rows * cols;
  const float inv_rows = rows > 0 ? 1.0f / static_cast<float>(rows) : 0.0f;
#pragma omp parallel for simd schedule(dynamic, kChunkElements) if (n > 32768)
  for (int64_t i = 0; i < n; ++i) dlogits[i] = (p[i] - t[i]) * inv_rows;
}

}  // namespace cpu
}  // namespace cudnn_lite
