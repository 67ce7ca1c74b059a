// fma_peak.cpp: the machine's FP32 FMA peak, measured. Compiled and run by
// benchmarks/machine_limits.py (g++ -O2 -march=native -pthread).
//
//   fma_peak THREADS SECONDS  ->  prints "gflops <aggregate GFLOP/s> lanes <L> chains <C>"
//
// Each thread runs kChains independent FMA chains on the widest vector the
// compiler targets (AVX-512: 16 floats, AVX2+FMA: 8), enough chains to cover
// the FMA latency (4-5 cycles) times the FMA ports (2) with room to spare.
// One FMA on L lanes = 2 * L FLOP. The threads start together; the figure is
// the total FLOP of all threads over the wall time of the slowest.
#include <immintrin.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#if defined(__AVX512F__)
typedef __m512 vec;
static const int kLanes = 16;
static inline vec vset(float x) { return _mm512_set1_ps(x); }
static inline vec vfma(vec a, vec b, vec c) { return _mm512_fmadd_ps(a, b, c); }
static inline float vfirst(vec a) { return _mm512_cvtss_f32(a); }
#elif defined(__AVX2__) && defined(__FMA__)
typedef __m256 vec;
static const int kLanes = 8;
static inline vec vset(float x) { return _mm256_set1_ps(x); }
static inline vec vfma(vec a, vec b, vec c) { return _mm256_fmadd_ps(a, b, c); }
static inline float vfirst(vec a) { return _mm256_cvtss_f32(a); }
#else
#error "fma_peak needs AVX2+FMA or AVX-512 (compile with -march=native on such a CPU)"
#endif

static const int kChains = 16;
static const long kInner = 1 << 16;  // FMAs per chain between clock reads

static std::atomic<int> ready{0};
static std::atomic<bool> go{false};
static volatile float sink;

// runs chains until `seconds` have passed; returns the number of vector FMAs done
static long run_chains(double seconds, float seed) {
  vec acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = vset(seed + 0.001f * i);
  const vec a = vset(0.999999f), b = vset(1e-7f);
  long fmas = 0;
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  do {
    for (long r = 0; r < kInner; ++r) {
#pragma GCC unroll 16
      for (int i = 0; i < kChains; ++i) acc[i] = vfma(acc[i], a, b);
    }
    fmas += kInner * kChains;
  } while (std::chrono::steady_clock::now() < end);
  float s = 0.0f;
  for (int i = 0; i < kChains; ++i) s += vfirst(acc[i]);
  sink = s;
  return fmas;
}

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 1;
  const double seconds = argc > 2 ? std::atof(argv[2]) : 1.0;
  std::vector<long> done(threads, 0);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      ready.fetch_add(1);
      while (!go.load()) {
      }
      done[t] = run_chains(seconds, 1.0f + t);
    });
  }
  while (ready.load() < threads) {
  }
  const auto t0 = std::chrono::steady_clock::now();
  go.store(true);
  for (auto& th : pool) th.join();
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  long total = 0;
  for (long d : done) total += d;
  std::printf("gflops %.3f lanes %d chains %d wall %.4f\n", 2.0 * kLanes * total / wall * 1e-9, kLanes,
              kChains, wall);
  return 0;
}
