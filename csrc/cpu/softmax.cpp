// softmax.cpp: softmax over the last axis of a (rows, cols) matrix and its gradient.
// Rows are independent: parallel over rows, vectorised along a row.
#include <cmath>
#include <limits>

#include "cudnn_lite.h"
#include "cpu/parallel.h"  // parallel_for_chunks, rows_per_chunk, kChunkElements: shape-fixed chunks

namespace cudnn_lite {
namespace cpu {

// x, y (rows, cols): y = exp(x - max) / sum(exp(x - max)) per row.
// A row holding a NaN, or only -inf, gives NaN (as TensorFlow does).
void softmax_forward(int64_t rows, int64_t cols, const float* x, float* y) {
  parallel_for_chunks(rows, rows_per_chunk(cols), [&](int64_t r_begin, int64_t r_end) {
    for (int64_t r = r_begin; r < r_end; ++r) {
      const float* xr = x + r * cols;
      float* yr = y + r * cols;
      float m = -std::numeric_limits<float>::infinity();
      bool nan = false;
      for (int64_t j = 0; j < cols; ++j) {
        m = xr[j] > m ? xr[j] : m;
        nan |= xr[j] != xr[j];
      }
      if (nan) m = std::numeric_limits<float>::quiet_NaN();
      float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
      for (int64_t j = 0; j < cols; ++j) {
        yr[j] = std::exp(xr[j] - m);
        sum += yr[j];
      }
      const float inv = 1.0f / sum;
#pragma omp simd
      for (int64_t j = 0; j < cols; ++j) yr[j] *= inv;
    }
  }, rows * cols > 32768 && rows > 1);
}

// y (forward output), dy, dx (rows, cols): dx = y * (dy - sum_j(dy * y))
void softmax_backward(int64_t rows, int64_t cols, const float* y, const float* dy, float* dx) {
  parallel_for_chunks(rows, rows_per_chunk(cols), [&](int64_t r_begin, int64_t r_end) {
    for (int64_t r = r_begin; r < r_end; ++r) {
      const float* yr = y + r * cols;
      const float* dyr = dy + r * cols;
      float* dxr = dx + r * cols;
      double dot = 0.0;
#pragma omp simd reduction(+ : dot)
      for (int64_t j = 0; j < cols; ++j) dot += static_cast<double>(dyr[j]) * yr[j];
      const float s = static_cast<float>(dot);
#pragma omp simd
      for (int64_t j = 0; j < cols; ++j) dxr[j] = yr[j] * (dyr[j] - s);
    }
  }, rows * cols > 32768 && rows > 1);
}

}  // namespace cpu
}  // namespace cudnn_lite
