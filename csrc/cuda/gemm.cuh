// gemm.cuh: the tiled SGEMM main loop shared by sgemm, dense and the
// implicit-GEMM convolutions.
//
//   C(M, N) = epilogue(op(A)(M, K) * op(B)(K, N))
//
// Block tile 128 x 128 x 8, 256 threads, each thread an 8 x 8 register tile
// (rows ty*4 + {0..3} and 64 + ty*4 + {0..3}, columns likewise with tx), shared
// tiles double-buffered (one __syncthreads per k-step: the next tile is loaded
// from global into registers while the current one is multiplied, then stored
// into the other buffer).
//
// Where the operands come from is a "loader" template parameter: a small
// struct that fetches this thread's 4 elements of a 128 x 8 tile into registers
// (`load`, fully predicated against the matrix edges) and writes them into the
// shared tile (`store`). Shared tiles are k-major: s[p][i] holds element
// (mn0 + i, k0 + p), so the A tile is op(A) transposed and the B tile is op(B).
// Two thread mappings cover every layout:
//   KContig:  memory contiguous along k   (A row-major, B transposed, im2col of
//             NHWC over (ky, kx, c)): i = tid / 2, p = (tid % 2) * 4 + j
//   MNContig: memory contiguous along m/n (A transposed, B row-major):
//             p = tid / 32, i = (tid % 32) * 4 + j
// Loaders take a VEC template flag: 16-byte loads when the host has checked
// pointer alignment and leading dimension, with a scalar fallback at the edges.
//
// Split-K: blockIdx.z takes k in [z * k_chunk, min(K, (z + 1) * k_chunk)) and
// writes a raw partial product to workspace[z]; gemm_splitk_reduce_kernel then
// sums the partials in fixed z order (deterministic) and applies the epilogue.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "common/activation_math.h"
#include "cuda/check.cuh"
#include "cuda/launch.cuh"
#include "cudnn_lite.h"

namespace cudnn_lite {
namespace cuda {
namespace gemm {

constexpr int BM = 128, BN = 128, BK = 8;
constexpr int THREADS = 256;
constexpr int LDS = 128 + 4;  // padded row: the KContig transposing store is conflict-free

// ---------------------------------------------------------------- smem stores

// KContig mapping: this thread holds elements (tid / 2, (tid % 2) * 4 + j), j < 4
__device__ __forceinline__ void store_kcontig(float (*s)[LDS], const float (&r)[4]) {
  const int i = threadIdx.x >> 1, p = (threadIdx.x & 1) * 4;
  s[p + 0][i] = r[0];
  s[p + 1][i] = r[1];
  s[p + 2][i] = r[2];
  s[p + 3][i] = r[3];
}

// MNContig mapping: this thread holds elements ((tid % 32) * 4 + j, tid / 32), j < 4
__device__ __forceinline__ void store_mncontig(float (*s)[LDS], const float (&r)[4]) {
  const int p = threadIdx.x >> 5, i = (threadIdx.x & 31) * 4;
  *reinterpret_cast<float4*>(&s[p][i]) = make_float4(r[0], r[1], r[2], r[3]);
}

__device__ __forceinline__ void unpack(const float4& v, float (&r)[4]) {
  r[0] = v.x; r[1] = v.y; r[2] = v.z; r[3] = v.w;
}

// ------------------------------------------------------------- dense loaders

// element (i, p) at ptr[i * ld + p], i < mn_size (A row-major, or B transposed)
template <bool VEC>
struct DenseKContig {
  const float* ptr;
  int64_t ld, mn_size;
  // per-thread state set by begin()
  const float* row;
  bool row_ok;
  int p_off;

  __device__ __forceinline__ void begin(int64_t mn0) {
    const int64_t i = mn0 + (threadIdx.x >> 1);
    row_ok = i < mn_size;
    row = ptr + (row_ok ? i : 0) * ld;
    p_off = (threadIdx.x & 1) * 4;
  }
  __device__ __forceinline__ void load(int64_t k0, int64_t k_end, float (&r)[4]) const {
    const int64_t p = k0 + p_off;
    if (VEC && row_ok && p + 3 < k_end) {
      unpack(__ldg(reinterpret_cast<const float4*>(row + p)), r);
      return;
    }
#pragma unroll
    for (int j = 0; j < 4; ++j) r[j] = (row_ok && p + j < k_end) ? __ldg(row + p + j) : 0.0f;
  }
  __device__ __forceinline__ static void store(float (*s)[LDS], const float (&r)[4]) {
    store_kcontig(s, r);
  }
};

// element (i, p) at ptr[p * ld + i], i < mn_size (A transposed, or B row-major)
template <bool VEC>
struct DenseMNContig {
  const float* ptr;
  int64_t ld, mn_size;
  int64_t i0;
  int p_off;

  __device__ __forceinline__ void begin(int64_t mn0) {
    i0 = mn0 + (threadIdx.x & 31) * 4;
    p_off = threadIdx.x >> 5;
  }
  __device__ __forceinline__ void load(int64_t k0, int64_t k_end, float (&r)[4]) const {
    const int64_t p = k0 + p_off;
    if (p >= k_end) {
      r[0] = r[1] = r[2] = r[3] = 0.0f;
      return;
    }
    const float* src = ptr + p * ld + i0;
    if (VEC && i0 + 3 < mn_size) {
      unpack(__ldg(reinterpret_cast<const float4*>(src)), r);
      return;
    }
#pragma unroll
    for (int j = 0; j < 4; ++j) r[j] = i0 + j < mn_size ? __ldg(src + j) : 0.0f;
  }
  __device__ __forceinline__ static void store(float (*s)[LDS], const float (&r)[4]) {
    store_mncontig(s, r);
  }
};

// ------------------------------------------------------------------ epilogue

// out = act(alpha * acc + beta * C + bias[col]); beta == 0: C is not read.
// split_stride != 0 marks a split-K partial: raw acc goes to c + z * split_stride.
struct Output {
  float* c;
  int64_t ldc;
  int64_t split_stride;
  float alpha, beta;
  const float* bias;
  Activation act;
  float act_alpha;
  bool vec;  // c 16-byte aligned and ldc % 4 == 0

  __device__ __forceinline__ float apply(float acc, const float* dst, int64_t col) const {
    float v = alpha * acc;
    if (beta != 0.0f) v = fmaf(beta, *dst, v);
    if (bias != nullptr) v += __ldg(bias + col);
    return activation_value(act, act_alpha, v);
  }
};

// ---------------------------------------------------------------- main loop

// op(A) is (M, K), op(B) is (K, N), C is (M, N); grid (ceil(M/128), ceil(N/128), splits)
template <class ALoader, class BLoader>
__global__ void __launch_bounds__(THREADS, 1)
    gemm_tile_kernel(ALoader a, BLoader b, Output out, int64_t M, int64_t N, int64_t K,
                     int64_t k_chunk) {
  __shared__ __align__(16) float As[2][BK][LDS];
  __shared__ __align__(16) float Bs[2][BK][LDS];

  const int64_t m0 = static_cast<int64_t>(blockIdx.x) * BM;
  const int64_t n0 = static_cast<int64_t>(blockIdx.y) * BN;
  const int64_t k_begin = static_cast<int64_t>(blockIdx.z) * k_chunk;
  const int64_t k_end = K < k_begin + k_chunk ? K : k_begin + k_chunk;
  const int tx = threadIdx.x & 15, ty = threadIdx.x >> 4;

  a.begin(m0);
  b.begin(n0);

  float acc[8][8];
#pragma unroll
  for (int i = 0; i < 8; ++i)
#pragma unroll
    for (int j = 0; j < 8; ++j) acc[i][j] = 0.0f;

  float ra[4], rb[4];
  a.load(k_begin, k_end, ra);
  b.load(k_begin, k_end, rb);
  ALoader::store(As[0], ra);
  BLoader::store(Bs[0], rb);
  __syncthreads();

  int buf = 0;
  for (int64_t k0 = k_begin; k0 < k_end; k0 += BK) {
    const bool has_next = k0 + BK < k_end;
    if (has_next) {  // global -> registers, overlapped with the FMAs below
      a.load(k0 + BK, k_end, ra);
      b.load(k0 + BK, k_end, rb);
    }
#pragma unroll
    for (int p = 0; p < BK; ++p) {
      float fa[8], fb[8];
      const float4 a0 = *reinterpret_cast<const float4*>(&As[buf][p][ty * 4]);
      const float4 a1 = *reinterpret_cast<const float4*>(&As[buf][p][64 + ty * 4]);
      const float4 b0 = *reinterpret_cast<const float4*>(&Bs[buf][p][tx * 4]);
      const float4 b1 = *reinterpret_cast<const float4*>(&Bs[buf][p][64 + tx * 4]);
      fa[0] = a0.x; fa[1] = a0.y; fa[2] = a0.z; fa[3] = a0.w;
      fa[4] = a1.x; fa[5] = a1.y; fa[6] = a1.z; fa[7] = a1.w;
      fb[0] = b0.x; fb[1] = b0.y; fb[2] = b0.z; fb[3] = b0.w;
      fb[4] = b1.x; fb[5] = b1.y; fb[6] = b1.z; fb[7] = b1.w;
#pragma unroll
      for (int i = 0; i < 8; ++i)
#pragma unroll
        for (int j = 0; j < 8; ++j) acc[i][j] = fmaf(fa[i], fb[j], acc[i][j]);
    }
    if (has_next) {  // the other buffer: nobody reads it since the last barrier
      ALoader::store(As[buf ^ 1], ra);
      BLoader::store(Bs[buf ^ 1], rb);
    }
    __syncthreads();
    buf ^= 1;
  }

  // epilogue: each thread owns rows {ty*4 + i, 64 + ty*4 + i} and 4-wide column
  // groups {tx*4, 64 + tx*4}
  float* cbase = out.c + static_cast<int64_t>(blockIdx.z) * out.split_stride;
  const bool partial = out.split_stride != 0;
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    const int64_t row = m0 + (i < 4 ? ty * 4 + i : 64 + ty * 4 + (i - 4));
    if (row >= M) continue;
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const int64_t col = n0 + half * 64 + tx * 4;
      if (col >= N) continue;
      float* dst = cbase + row * out.ldc + col;
      const float* v = &acc[i][half * 4];
      if (partial) {
        if (out.vec && col + 3 < N) {
          *reinterpret_cast<float4*>(dst) = make_float4(v[0], v[1], v[2], v[3]);
        } else {
#pragma unroll
          for (int j = 0; j < 4; ++j)
            if (col + j < N) dst[j] = v[j];
        }
      } else if (out.vec && col + 3 < N) {
        float4 o;
        o.x = out.apply(v[0], dst + 0, col + 0);
        o.y = out.apply(v[1], dst + 1, col + 1);
        o.z = out.apply(v[2], dst + 2, col + 2);
        o.w = out.apply(v[3], dst + 3, col + 3);
        *reinterpret_cast<float4*>(dst) = o;
      } else {
#pragma unroll
        for (int j = 0; j < 4; ++j)
          if (col + j < N) dst[j] = out.apply(v[j], dst + j, col + j);
      }
    }
  }
}

// ws is (splits, M, N) partial products; c is (M, ldc): c = epilogue(sum_z ws[z]),
// summed in fixed z order so the result does not depend on scheduling.
// (A template only so that every translation unit gets its own copy.)
template <class Out>
__global__ void gemm_splitk_reduce_kernel(const float* __restrict__ ws, int64_t splits,
                                          int64_t M, int64_t N, Out out) {
  const int64_t total = M * N;
  for (int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; idx < total;
       idx += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    float s = 0.0f;
    for (int64_t z = 0; z < splits; ++z) s += ws[z * total + idx];
    const int64_t row = idx / N, col = idx - row * N;
    float* dst = out.c + row * out.ldc + col;
    *dst = out.apply(s, dst, col);
  }
}

// Launches the tiled kernel, splitting K across blocks (with a stream-ordered
// workspace) when the output has too few tiles to fill the GPU.
template <class ALoader, class BLoader>
void run_gemm(const ALoader& a, const BLoader& b, Output out, int64_t M, int64_t N, int64_t K,
              cudaStream_t stream, const char* name) {
  if (M <= 0 || N <= 0) return;
  const int64_t tiles_m = detail::ceil_div(M, BM), tiles_n = detail::ceil_div(N, BN);
  if (tiles_m > 0x7fffffffLL || tiles_n > 65535)
    throw Error(std::string(name) + ": matrix too large for the grid (" + std::to_string(M) +
                " x " + std::to_string(N) + ")");
  const int64_t tiles = tiles_m * tiles_n;
  const int64_t sms = detail::sm_count();
  int64_t splits = 1;
  if (tiles < sms && K >= 512) {
    splits = detail::ceil_div(2 * sms, tiles);
    const int64_t max_by_k = K / 256;  // each split reduces over at least 256
    if (splits > max_by_k) splits = max_by_k;
    if (splits > 64) splits = 64;
    if (splits < 1) splits = 1;
  }
  int64_t k_chunk = detail::ceil_div(detail::ceil_div(K, splits), BK) * BK;
  if (k_chunk <= 0) k_chunk = BK;
  splits = K > 0 ? detail::ceil_div(K, k_chunk) : 1;  // no empty split

  if (splits == 1) {
    out.split_stride = 0;
    dim3 grid(static_cast<unsigned>(tiles_m), static_cast<unsigned>(tiles_n), 1);
    launch(name, gemm_tile_kernel<ALoader, BLoader>, grid, THREADS, 0, stream, a, b, out, M, N, K,
           k_chunk);
    return;
  }
  const size_t bytes = static_cast<size_t>(splits) * M * N * sizeof(float);
  float* ws = static_cast<float*>(detail::device_alloc_async(bytes, stream, name));
  try {
    Output part{ws, N, M * N, 1.0f, 0.0f, nullptr, Activation::linear, 0.0f,
                (N % 4) == 0};
    dim3 grid(static_cast<unsigned>(tiles_m), static_cast<unsigned>(tiles_n),
              static_cast<unsigned>(splits));
    launch(name, gemm_tile_kernel<ALoader, BLoader>, grid, THREADS, 0, stream, a, b, part, M, N, K,
           k_chunk);
    out.split_stride = 0;
    launch("gemm_splitk_reduce_kernel", gemm_splitk_reduce_kernel<Output>,
           detail::grid_stride_blocks(M * N, 256), 256, 0, stream, ws, splits, M, N, out);
  } catch (...) {
    (void)cudaFreeAsync(ws, stream);
    throw;
  }
  detail::device_free_async(ws, stream, name);
}

inline bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15u) == 0; }

}  // namespace gemm
}  // namespace cuda
}  // namespace cudnn_lite
