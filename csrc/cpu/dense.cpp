// dense.cpp: fully connected layer forward (GEMM with a fused bias +
// activation epilogue) and the bias gradient (column sums).
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "cpu/gemm_driver.h"
#include "cudnn_lite.h"
#include "cpu/parallel.h"  // parallel_for_chunks, rows_per_chunk, kChunkElements: shape-fixed chunks

namespace cudnn_lite {
namespace cpu {

// x (rows, in), w (in, out), y (rows, out): y = act(x @ w + bias)
// The epilogue runs on each (kMR, kNR) tile right after its last k block,
// while the tile is still in L1.
void dense_forward(int64_t rows, int64_t in, int64_t out, const float* x, const float* w,
                   const Epilogue& ep, float* y) {
  gemm::sgemm_parallel(false, false, rows, out, in, 1.0f, x, in, w, out, 0.0f, y, out, &ep);
}

// dy (rows, cols) -> db (cols): db[j] = sum_i dy[i, j], in float.
// Rows are summed in fixed chunks of kRowChunk (partial sums, then the chunks
// in order), so the result is bit-identical for any thread count and the
// rounding error grows with rows / kRowChunk + kRowChunk, not with rows.
void bias_backward(int64_t rows, int64_t cols, const float* dy, float* db) {
  constexpr int64_t kRowChunk = 256;
  constexpr int64_t kStrip = 256;  // columns per task: the accumulators stay in L1
  const int64_t chunks = std::max<int64_t>(1, (rows + kRowChunk - 1) / kRowChunk);
  const int64_t strips = (cols + kStrip - 1) / kStrip;
  std::vector<float> partial(static_cast<size_t>(chunks * cols));  // (chunks, cols)
  const bool big = rows * cols > 32768;
  parallel_for_chunks(chunks * strips, 1, [&](int64_t task_begin, int64_t task_end) {
    for (int64_t task = task_begin; task < task_end; ++task) {
      const int64_t ch = task / strips, s = task % strips;
      const int64_t i0 = ch * kRowChunk, i1 = std::min(rows, i0 + kRowChunk);
      const int64_t j0 = s * kStrip, nj = std::min(kStrip, cols - j0);
      // a local array: the compiler keeps it apart from dy and vectorises the row
      // loop (summing into partial[] directly ran scalar, a load-add-store per element)
      float acc[kStrip];
      for (int64_t j = 0; j < nj; ++j) acc[j] = 0.0f;
      for (int64_t i = i0; i < i1; ++i) {
        const float* row = dy + i * cols + j0;
        for (int64_t j = 0; j < nj; ++j) acc[j] += row[j];
      }
      std::memcpy(partial.data() + ch * cols + j0, acc, sizeof(float) * static_cast<size_t>(nj));
    }
  }, big);
  parallel_for_chunks(strips, 1, [&](int64_t s_begin, int64_t s_end) {
    for (int64_t s = s_begin; s < s_end; ++s) {
      const int64_t j0 = s * kStrip, nj = std::min(kStrip, cols - j0);
      float acc[kStrip];
      for (int64_t j = 0; j < nj; ++j) acc[j] = 0.0f;
      for (int64_t ch = 0; ch < chunks; ++ch) {
        const float* p = partial.data() + ch * cols + j0;
        for (int64_t j = 0; j < nj; ++j) acc[j] += p[j];
      }
      std::memcpy(db + j0, acc, sizeof(float) * static_cast<size_t>(nj));
    }
  }, big && strips > 1);
}

}  // namespace cpu
}  // namespace cudnn_lite
