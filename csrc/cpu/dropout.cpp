// dropout.cpp: inverted dropout with a counter-based mask (csrc/philox.h).
//
// Element i of a call with (seed, offset) is kept iff
// philox_uniform(seed, offset + i) >= rate, and then scaled by
// scale = 1.0f / (1.0f - rate) (a float multiply, as tf.nn.dropout does; the
// CUDA kernel uses the same expression so masks and values are bit-identical).
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
#include "philox.h"

namespace cudnn_lite {
namespace cpu {

namespace {

void check_rate(float rate, const char* what) {
  if (!(rate >= 0.0f && rate < 1.0f))
    throw std::invalid_argument(std::string(what) + ": rate must be in [0, 1), got " +
                                std::to_string(rate));
}

// out (n) = mask * in * scale
void apply_mask(int64_t n, const float* in, float* out, float rate, uint64_t seed,
                uint64_t offset) {
  if (n <= 0) return;
  if (rate == 0.0f) {
    if (out != in) std::memcpy(out, in, sizeof(float) * n);
    return;
  }
  const float scale = 1.0f / (1.0f - rate);
  const uint64_t first_block = offset >> 2;
  const uint64_t end = offset + static_cast<uint64_t>(n);  // one past the last index
  const int64_t blocks = static_cast<int64_t>(((end - 1) >> 2) - first_block + 1);
#pragma omp parallel for schedule(static) if (n > 32768)
  for (int64_t b = 0; b < blocks; ++b) {
    const uint64_t block = first_block + static_cast<uint64_t>(b);
    const Philox4 r = philox4x32_10(block, seed);
    const uint64_t lo = std::max(block * 4, offset), hi = std::min(block * 4 + 4, end);
    for (uint64_t idx = lo; idx < hi; ++idx) {
      const int64_t i = static_cast<int64_t>(idx - offset);
      const bool keep = philox_to_uniform(r.v[idx & 3u]) >= rate;
      out[i] = keep ? in[i] * scale : 0.0f;
    }
  }
}

}  // namespace

// x, y (n)
void dropout_forward(int64_t n, const float* x, float* y, float rate, uint64_t seed,
                     uint64_t offset) {
  check_rate(rate, "dropout_forward");
  apply_mask(n, x, y, rate, seed, offset);
}

// dy, dx (n): dx = mask * dy * scale, the mask of the forward with the same (seed, offset)
void dropout_backward(int64_t n, const float* dy, float* dx, float rate, uint64_t seed,
                      uint64_t offset) {
  check_rate(rate, "dropout_backward");
  apply_mask(n, dy, dx, rate, seed, offset);
}

}  // namespace cpu
}  // namespace cudnn_lite
