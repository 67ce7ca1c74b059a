// colreduce.cuh: deterministic per-column sums of a (rows, cols) matrix (cols
// fastest), the reduction behind bias_backward and batch-norm statistics.
//
//   column_partial_kernel:  grid (ceil(cols/32), row_blocks), block (32, 8);
//       block (bx, by) sums rows by*8 + ty + k*8*row_blocks of columns
//       bx*32 + tx in double, reduces over ty in shared memory in a fixed
//       order and writes partial[by][v][col]
//   column_finalize_kernel: one thread per column sums the row_blocks partials
//       in order and hands the NV totals to a finishing functor
// No atomics: the same input gives bit-identical output on every run.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "cuda/check.cuh"
#include "cuda/launch.cuh"

namespace cudnn_lite {
namespace cuda {
namespace colreduce {

constexpr int TX = 32, TY = 8;

// F: __device__ void operator()(int64_t row, int64_t col, double (&acc)[NV]) const
//    adds the row's contributions to acc
template <int NV, class F>
__global__ void __launch_bounds__(TX* TY)
    column_partial_kernel(F f, int64_t rows, int64_t cols, double* __restrict__ partial) {
  __shared__ double red[NV][TY][TX + 1];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int64_t col = static_cast<int64_t>(blockIdx.x) * TX + tx;
  double acc[NV];
#pragma unroll
  for (int v = 0; v < NV; ++v) acc[v] = 0.0;
  if (col < cols) {
    const int64_t step = static_cast<int64_t>(TY) * gridDim.y;
    for (int64_t r = static_cast<int64_t>(blockIdx.y) * TY + ty; r < rows; r += step)
      f(r, col, acc);
  }
#pragma unroll
  for (int v = 0; v < NV; ++v) red[v][ty][tx] = acc[v];
  __syncthreads();
  if (ty == 0 && col < cols) {
#pragma unroll
    for (int v = 0; v < NV; ++v) {
      double s = 0.0;
#pragma unroll
      for (int y = 0; y < TY; ++y) s += red[v][y][tx];
      partial[(static_cast<int64_t>(blockIdx.y) * NV + v) * cols + col] = s;
    }
  }
}

// G: __device__ void operator()(int64_t col, const double (&total)[NV]) const
template <int NV, class G>
__global__ void column_finalize_kernel(const double* __restrict__ partial, int64_t row_blocks,
                                       int64_t cols, G g) {
  for (int64_t col = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; col < cols;
       col += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    double total[NV];
#pragma unroll
    for (int v = 0; v < NV; ++v) total[v] = 0.0;
    for (int64_t b = 0; b < row_blocks; ++b)
#pragma unroll
      for (int v = 0; v < NV; ++v) total[v] += partial[(b * NV + v) * cols + col];
    g(col, total);
  }
}

// Runs both kernels with a stream-ordered workspace. rows may be 0 (totals 0).
template <int NV, class F, class G>
void column_reduce(const F& f, const G& g, int64_t rows, int64_t cols, cudaStream_t stream,
                   const char* name) {
  if (cols <= 0) return;
  const int64_t col_blocks = detail::ceil_div(cols, TX);
  if (col_blocks > 0x7fffffffLL) throw Error(std::string(name) + ": too many columns");
  int64_t row_blocks = detail::ceil_div(4LL * detail::sm_count(), col_blocks);
  const int64_t by_rows = detail::ceil_div(rows, 64);  // at least ~64 rows per block
  if (row_blocks > by_rows) row_blocks = by_rows;
  if (row_blocks > 1024) row_blocks = 1024;
  if (row_blocks < 1) row_blocks = 1;
  const size_t bytes = static_cast<size_t>(row_blocks) * NV * cols * sizeof(double);
  double* partial = static_cast<double*>(detail::device_alloc_async(bytes, stream, name));
  try {
    dim3 grid(static_cast<unsigned>(col_blocks), static_cast<unsigned>(row_blocks));
    launch(name, column_partial_kernel<NV, F>, grid, dim3(TX, TY), 0, stream, f, rows, cols,
           partial);
    launch(name, column_finalize_kernel<NV, G>, detail::grid_stride_blocks(cols, 256), 256, 0,
           stream, partial, row_blocks, cols, g);
  } catch (...) {
    (void)cudaFreeAsync(partial, stream);
    throw;
  }
  detail::device_free_async(partial, stream, name);
}

}  // namespace colreduce
}  // namespace cuda
}  // namespace cudnn_lite
