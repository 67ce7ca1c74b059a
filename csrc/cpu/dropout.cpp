// dropout.cpp: inverted dropout with a counter-based mask (csrc/common/philox.h).
//
// Element i of a call with (seed, offset) is kept iff
// philox_uniform(seed, offset + i) >= rate, and then y = x / (1.0f - rate), a
// float32 division exactly as written in cudnn_lite.h (the CUDA kernel must use
// the same expression for bit-identical values; x * (1 / (1 - rate)) can differ
// in the last bit). Dropped elements are 0 even when x is NaN or inf.
// One Philox call yields the 4 words of counter block k = index / 4, which
// cover indices 4k .. 4k+3; blocks straddling the start or end of the range are
// used partially, so any offset (multiple of 4 or not) gives the same mask as
// calling philox_uniform per element. The backward recomputes the mask.
// rate must be in [0, 1); rate == 0 copies.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "cudnn_lite.h"
#include "common/philox.h"
#include "cpu/parallel.h"  // rows_per_chunk, kChunkElements: shape-fixed dynamic chunks

namespace cudnn_lite {
namespace cpu {

namespace {

void check_rate(float rate, const char* what) {
  if (!(rate >= 0.0f && rate < 1.0f))
    throw std::invalid_argument(std::string(what) + ": rate must be in [0, 1), got " +
                                std::to_string(rate));
}

// dst (count) = u(w) >= rate ? src / keep_prob : 0, branch-free. A function of its
// own with its values as arguments: inside the lambda below the compiler reloaded
// rate and keep_prob through the captured references on every element (dst might
// alias them), kept a branch on the random keep/drop decision (mispredicted
// ~30% of the time at rate 0.3: 6.6 ns per element) and did not vectorise.
void mask_words(const uint32_t* w, const float* src, float* dst, int64_t count, float rate,
                float keep_prob) {
#pragma omp simd
  for (int64_t k = 0; k < count; ++k) {
    const float scaled = src[k] / keep_prob;
    dst[k] = philox_to_uniform(w[k]) >= rate ? scaled : 0.0f;
  }
}

// out (n) = keep ? in / (1 - rate) : 0
void apply_mask(int64_t n, const float* in, float* out, float rate, uint64_t seed,
                uint64_t offset) {
  if (n <= 0) return;
  if (rate == 0.0f) {
    if (out != in) std::memcpy(out, in, sizeof(float) * n);
    return;
  }
  const float keep_prob = 1.0f - rate;
  const uint64_t first_block = offset >> 2;
  const uint64_t end = offset + static_cast<uint64_t>(n);  // one past the last index
  const int64_t blocks = static_cast<int64_t>(((end - 1) >> 2) - first_block + 1);
  // chunks of kChunk counter blocks: the Philox rounds of a chunk run as one
  // vectorised loop over blocks into `words`, then the chunk's elements are masked
  constexpr int64_t kChunk = 64;
  const int64_t chunks = (blocks + kChunk - 1) / kChunk;
  parallel_for_chunks(chunks, rows_per_chunk(4 * kChunk), [&](int64_t ch_begin, int64_t ch_end) {
    for (int64_t ch = ch_begin; ch < ch_end; ++ch) {
      uint32_t words[4 * kChunk];  // word j of block b at 4 b + j: in index order
      const int64_t b0 = ch * kChunk, nb = std::min(kChunk, blocks - b0);
#pragma omp simd
      for (int64_t b = 0; b < nb; ++b) {
        const Philox4 r = philox4x32_10(first_block + static_cast<uint64_t>(b0 + b), seed);
        words[4 * b + 0] = r.v[0];
        words[4 * b + 1] = r.v[1];
        words[4 * b + 2] = r.v[2];
        words[4 * b + 3] = r.v[3];
      }
      const uint64_t chunk_first = (first_block + static_cast<uint64_t>(b0)) * 4;
      const uint64_t lo = std::max(chunk_first, offset);
      const uint64_t hi = std::min(chunk_first + static_cast<uint64_t>(nb) * 4, end);
      const uint32_t* w = words + (lo - chunk_first);
      const float* src = in + (lo - offset);
      float* dst = out + (lo - offset);
      mask_words(w, src, dst, static_cast<int64_t>(hi - lo), rate, keep_prob);
    }
  }, n > 32768);
}

}  // namespace

// x, y (n)
void dropout_forward(int64_t n, const float* x, float* y, float rate, uint64_t seed,
                     uint64_t offset) {
  check_rate(rate, "dropout_forward");
  apply_mask(n, x, y, rate, seed, offset);
}

// dy, dx (n): dx = keep ? dy / (1 - rate) : 0, the mask of the forward with the same (seed, offset)
void dropout_backward(int64_t n, const float* dy, float* dx, float rate, uint64_t seed,
                      uint64_t offset) {
  check_rate(rate, "dropout_backward");
  apply_mask(n, dy, dx, rate, seed, offset);
}

}  // namespace cpu
}  // namespace cudnn_lite
