// parallel.h: deterministic dynamic scheduling for the CPU kernels' fork-joins.
//
// A static split gives each thread a fixed share of the work up front, so every
// fork-join ends when the slowest thread ends; on a busy machine that is a thread
// the kernel scheduler has descheduled, and the step waits for it at every
// barrier. Here the work is cut into chunks whose boundaries depend on the
// shape only (never on the thread count or on timing), and whichever thread of
// the team is running takes an untaken chunk (atomic counters). A
// chunk's result does not depend on the thread that computes it, and any
// reduction over chunks is done afterwards in chunk order, so results are
// bit-identical at any thread count and under any load; a descheduled thread
// delays only the chunk it holds. A thread takes its own contiguous range of
// chunks first and steals only when that range is done (parallel_chunks), so a
// quiet machine keeps the data placement of a static split.
//
// The streaming loops of the kernels use parallel_for_chunks (shape-fixed
// pieces of iterations, same scheduling).
// Internal header of csrc/cpu/.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace cudnn_lite {
namespace cpu {

// elements (floats) per chunk of a streaming loop: enough work to amortize
// taking a chunk (an atomic add, ~20-100 ns), small enough for load balance
constexpr int64_t kChunkElements = 16384;

// rows per chunk for a loop over rows of `row_elements` floats each
inline int64_t rows_per_chunk(int64_t row_elements) {
  return std::max<int64_t>(1, kChunkElements / std::max<int64_t>(row_elements, 1));
}

// One range's next chunk, alone on its cache line (no false sharing between
// the owners' counters).
struct alignas(64) ChunkCounter {
  std::atomic<int64_t> next{0};
  int64_t end = 0;
};

// Calls fn(i) once for each chunk i in [0, chunks), on up to the OpenMP
// thread count; serially (in order) when `parallel` is false, with one chunk
// or one thread, or inside a parallel region.
//
// Static first, then steal: with a team of T threads, thread t owns the
// contiguous range [t * chunks / T, (t + 1) * chunks / T) and takes its own
// chunks first, in order, from that range's counter; so on a quiet machine
// each thread works on the same part of the batch in every layer (the rows it
// wrote in the previous layer are still in its cache), as with a static split.
// A thread whose range is exhausted steals the rest of the other ranges, one
// chunk at a time (fetch_add on that range's counter, valid while below the
// range's end), so a descheduled thread delays only the chunk it holds. Every
// chunk is taken exactly once; which thread takes it changes no result.
template <class Fn>
void parallel_chunks(int64_t chunks, Fn&& fn, bool parallel = true) {
  int threads = 1;
#ifdef _OPENMP
  if (parallel && chunks > 1 && !omp_in_parallel()) threads = omp_get_max_threads();
#endif
  if (threads <= 1 || chunks <= 1) {
    for (int64_t i = 0; i < chunks; ++i) fn(i);
    return;
  }
  const int team = static_cast<int>(std::min<int64_t>(threads, chunks));
  constexpr int kLocal = 16;
  ChunkCounter local[kLocal];
  std::unique_ptr<ChunkCounter[]> heap;
  ChunkCounter* ranges = local;
  if (team > kLocal) {
    heap.reset(new ChunkCounter[team]);
    ranges = heap.get();
  }
  for (int r = 0; r < team; ++r) {
    ranges[r].next.store(chunks * r / team, std::memory_order_relaxed);
    ranges[r].end = chunks * (r + 1) / team;
  }
#ifdef _OPENMP
#pragma omp parallel num_threads(team)
#endif
  {
    int t = 0;
#ifdef _OPENMP
    t = omp_get_thread_num();
#endif
    // own range first, then the others in turn (with fewer threads than asked
    // for, the missing owners' ranges are stolen too)
    for (int k = 0; k < team; ++k) {
      ChunkCounter& rg = ranges[(t + k) % team];
      if (rg.next.load(std::memory_order_relaxed) >= rg.end) continue;
      for (int64_t i = rg.next.fetch_add(1, std::memory_order_relaxed); i < rg.end;
           i = rg.next.fetch_add(1, std::memory_order_relaxed))
        fn(i);
    }
  }
}

// Calls fn(begin, end) for the shape-fixed pieces [j * per, min(n, (j + 1) * per))
// of [0, n), scheduled as parallel_chunks (static first, then steal).
template <class Fn>
void parallel_for_chunks(int64_t n, int64_t per, Fn&& fn, bool parallel = true) {
  if (n <= 0) return;
  per = std::max<int64_t>(per, 1);
  parallel_chunks(
      (n + per - 1) / per,
      [&](int64_t j) {
        const int64_t b = j * per;
        fn(b, std::min(n, b + per));
      },
      parallel);
}

}  // namespace cpu
}  // namespace cudnn_lite
