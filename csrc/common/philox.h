// philox.h: the counter-based random numbers behind dropout, written once for
// the host and the device compilers so that the CPU and CUDA masks are
// bit-identical for the same (seed, offset).
//
// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3",
// SC'11). Element i of a dropout call with (seed, offset) draws word
// (offset + i) % 4 of philox4x32_10(counter = (offset + i) / 4, key = seed).
#pragma once

#include <cstdint>

#include "common/host_device.h"

namespace cudnn_lite {

struct Philox4 {
  uint32_t v[4];
};

CL_HOST_DEVICE void philox_mulhilo(uint32_t a, uint32_t b, uint32_t* hi, uint32_t* lo) {
  const uint64_t p = static_cast<uint64_t>(a) * static_cast<uint64_t>(b);
  *hi = static_cast<uint32_t>(p >> 32);
  *lo = static_cast<uint32_t>(p);
}

// counter: a 128-bit block number (here a 64-bit one, high words zero); key: the seed
CL_HOST_DEVICE Philox4 philox4x32_10(uint64_t counter, uint64_t seed) {
  uint32_t c0 = static_cast<uint32_t>(counter), c1 = static_cast<uint32_t>(counter >> 32);
  uint32_t c2 = 0u, c3 = 0u;
  uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
  for (int round = 0; round < 10; ++round) {
    uint32_t hi0, lo0, hi1, lo1;
    philox_mulhilo(0xD2511F53u, c0, &hi0, &lo0);
    philox_mulhilo(0xCD9E8D57u, c2, &hi1, &lo1);
    const uint32_t n0 = hi1 ^ c1 ^ k0;
    const uint32_t n1 = lo1;
    const uint32_t n2 = hi0 ^ c3 ^ k1;
    const uint32_t n3 = lo0;
    c0 = n0; c1 = n1; c2 = n2; c3 = n3;
    k0 += 0x9E3779B9u;  // golden ratio
    k1 += 0xBB67AE85u;  // sqrt(3) - 1
  }
  Philox4 r;
  r.v[0] = c0; r.v[1] = c1; r.v[2] = c2; r.v[3] = c3;
  return r;
}

// uniform float in [0, 1) from the top 24 bits of a 32-bit word (exact in float32)
CL_HOST_DEVICE float philox_to_uniform(uint32_t word) {
  return static_cast<float>(word >> 8) * (1.0f / 16777216.0f);
}

// the uniform number of element `index` (already including the call's offset)
CL_HOST_DEVICE float philox_uniform(uint64_t seed, uint64_t index) {
  const Philox4 r = philox4x32_10(index >> 2, seed);
  return philox_to_uniform(r.v[index & 3u]);
}

}  // namespace cudnn_lite
