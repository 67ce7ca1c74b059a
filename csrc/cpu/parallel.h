// parallel.h: deterministic dynamic scheduling for the CPU kernels' fork-joins.
//
// A static split gives each thread a fixed share of the work up front, so every
// fork-join ends when the slowest thread ends; on a busy machine that is a thread
// the kernel scheduler has descheduled, and the step waits for it at every
// barrier. Here the work is cut into chunks whose boundaries depend on the
// shape only (never on the thread count or on timing), and whichever thread of
// the team is running takes the next untaken chunk (one atomic counter). A
// chunk's result does not depend on the thread that computes it, and any
// reduction over chunks is done afterwards in chunk order, so results are
// bit-identical at any thread count and under any load; a descheduled thread
// delays only the chunk it holds.
//
// The plain `omp for` loops of the kernels do the same with
// schedule(dynamic, kRowsPerChunk-like sizes) over shape-fixed iterations.
// Internal header of csrc/cpu/.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>

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

// Calls fn(i) once for each chunk i in [0, chunks), on up to the OpenMP
// thread count, each chunk taken by the next free thread; serially (in
// order) when `parallel` is false, with one chunk or one thread, or inside a
// parallel region.
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
  std::atomic<int64_t> next{0};
#ifdef _OPENMP
#pragma omp parallel num_threads(static_cast<int>(std::min<int64_t>(threads, chunks)))
#endif
  {
    for (int64_t i = next.fetch_add(1, std::memory_order_relaxed); i < chunks;
         i = next.fetch_add(1, std::memory_order_relaxed))
      fn(i);
  }
}

}  // namespace cpu
}  // namespace cudnn_lite
