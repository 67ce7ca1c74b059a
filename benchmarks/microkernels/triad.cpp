// triad.cpp: sustainable memory bandwidth, STREAM-triad style. Compiled and run
// by benchmarks/machine_limits.py (g++ -O2 -march=native -pthread).
//
//   triad THREADS MFLOATS REPEATS  ->  prints "gbytes_s <best GB/s> bytes <per pass>"
//
// a[i] = b[i] + s * c[i] over three arrays of MFLOATS million floats each
// (well above the last-level cache), split into one contiguous slice per thread;
// each thread first-touches its own slice. Bytes per pass = 3 * 4 * n (STREAM's
// count: two reads, one write, write-allocate traffic not counted). Best of
// REPEATS passes, each timed inside the threads: from the first thread's start
// to the last thread's end (the threads start together at a barrier).
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

struct Barrier {  // a reusable spin barrier (the passes are long: spinning costs nothing)
  std::atomic<int> count{0};
  std::atomic<int> phase{0};
  int n;
  explicit Barrier(int n_) : n(n_) {}
  void wait() {
    const int p = phase.load();
    if (count.fetch_add(1) + 1 == n) {
      count.store(0);
      phase.fetch_add(1);
    } else {
      while (phase.load() == p) {
      }
    }
  }
};

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 1;
  const long n = static_cast<long>((argc > 2 ? std::atof(argv[2]) : 32.0) * 1e6);
  const int repeats = argc > 3 ? std::atoi(argv[3]) : 10;
  float* a = static_cast<float*>(std::aligned_alloc(64, ((n * 4 + 63) / 64) * 64));
  float* b = static_cast<float*>(std::aligned_alloc(64, ((n * 4 + 63) / 64) * 64));
  float* c = static_cast<float*>(std::aligned_alloc(64, ((n * 4 + 63) / 64) * 64));
  Barrier bar(threads);
  typedef std::chrono::steady_clock clock;
  std::vector<std::vector<clock::time_point>> start(repeats, std::vector<clock::time_point>(threads)),
      end(repeats, std::vector<clock::time_point>(threads));
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      const long lo = n * t / threads, hi = n * (t + 1) / threads;
      for (long i = lo; i < hi; ++i) a[i] = 0.0f, b[i] = 1.0f, c[i] = 2.0f;
      for (int r = 0; r < repeats; ++r) {
        bar.wait();  // start together
        start[r][t] = clock::now();
        const float s = 3.0f + r;
        for (long i = lo; i < hi; ++i) a[i] = b[i] + s * c[i];
        end[r][t] = clock::now();
      }
    });
  }
  for (auto& th : pool) th.join();
  double best = 1e30;
  for (int r = 0; r < repeats; ++r) {  // a pass: first thread's start to the last one's end
    clock::time_point t0 = start[r][0], t1 = end[r][0];
    for (int t = 1; t < threads; ++t) {
      if (start[r][t] < t0) t0 = start[r][t];
      if (end[r][t] > t1) t1 = end[r][t];
    }
    const double dt = std::chrono::duration<double>(t1 - t0).count();
    if (dt < best) best = dt;
  }
  const double bytes = 3.0 * 4.0 * n;
  double check = 0.0;
  for (long i = 0; i < n; i += 4096) check += a[i];
  std::printf("gbytes_s %.3f bytes %.0f best_s %.6f check %.1f\n", bytes / best * 1e-9, bytes, best, check);
  std::free(a), std::free(b), std::free(c);
  return 0;
}
