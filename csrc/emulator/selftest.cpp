// selftest.cpp: kernels that show what the emulator does with correct code and with each
// kind of undefined behaviour it reports. Written as CUDA (they only ever run here).
//
// run_selftest(name) launches one case through cuda::launch and returns what the launch
// reported: "" when it succeeded (and, for the control cases, gave the right values), else
// the error text (or "wrong result: ..."). tests/test_emulator.py checks every case.
#include <cuda_runtime.h>

#include <cstring>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "cuda/launch.cuh"
#include "emulator.h"

namespace cudnn_lite {
namespace emulator {

namespace {

constexpr unsigned kFull = 0xffffffffu;

// ------------------------------------------------------------------ kernels

// out[blockIdx.x] = sum of in[blockIdx.x * blockDim.x + threadIdx.x] over the block:
// warp shuffles, then the warp sums through shared memory (the block_sum pattern)
__global__ void block_sum_kernel(const float* in, float* out) {
  __shared__ float scratch[32];
  float v = in[blockIdx.x * blockDim.x + threadIdx.x];
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(kFull, v, o);
  if ((threadIdx.x & 31) == 0) scratch[threadIdx.x >> 5] = v;
  __syncthreads();
  if (threadIdx.x < 32) {
    v = threadIdx.x < blockDim.x / 32 ? scratch[threadIdx.x] : 0.0f;
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(kFull, v, o);
    if (threadIdx.x == 0) out[blockIdx.x] = v;
  }
}

// The planted race: the second reduction reuses `scratch` without the barrier that protects
// the first one's readers. In-order (lock-step) schedules happen to read before the overwrite;
// a warp running ahead overwrites its slot before the later warps have read it, and the last
// thread (whose warp reads last) reports a wrong sum. out[blockIdx.x] = sum(x) + sum(2x)
__global__ void racy_double_sum_kernel(const float* in, float* out) {
  __shared__ float scratch[32];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  const float x = in[blockIdx.x * blockDim.x + threadIdx.x];
  float total = 0.0f;
  for (int pass = 1; pass <= 2; ++pass) {
    float v = x * static_cast<float>(pass);
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(kFull, v, o);
    // missing here: __syncthreads() (scratch may still be read by the previous pass)
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    float r = lane < warps ? scratch[lane] : 0.0f;
    for (int o = 16; o > 0; o >>= 1) r += __shfl_xor_sync(kFull, r, o);
    total += r;
  }
  if (threadIdx.x == blockDim.x - 1) out[blockIdx.x] = total;
}

__global__ void early_exit_barrier_kernel(float* out) {
  if (threadIdx.x >= 16) return;
  __syncthreads();
  out[threadIdx.x] = 1.0f;
}

__global__ void divergent_barrier_kernel(float* out) {
  if (threadIdx.x & 1) {
    __syncthreads();
  } else {
    __syncthreads();
  }
  out[threadIdx.x] = 1.0f;
}

__global__ void deadlock_kernel(float* out) {
  float v = static_cast<float>(threadIdx.x);
  if (threadIdx.x == 0) {
    __syncthreads();
  } else {
    v = __shfl_xor_sync(kFull, v, 1);
  }
  out[threadIdx.x] = v;
}

__global__ void shuffle_exited_lane_kernel(float* out) {
  if (threadIdx.x == 5) return;
  out[threadIdx.x] = __shfl_xor_sync(kFull, static_cast<float>(threadIdx.x), 1);
}

__global__ void partial_mask_kernel(float* out) {
  out[threadIdx.x] = __shfl_xor_sync(0x0000ffffu, static_cast<float>(threadIdx.x), 1);
}

__global__ void partial_warp_kernel(float* out) {  // launched with 48 threads
  out[threadIdx.x] = __shfl_xor_sync(kFull, static_cast<float>(threadIdx.x), 1);
}

__global__ void diverging_collectives_kernel(float* out) {
  float v = static_cast<float>(threadIdx.x);
  if (threadIdx.x & 1) v = static_cast<float>(__any_sync(kFull, threadIdx.x > 3));
  else v = __shfl_xor_sync(kFull, v, 1);
  out[threadIdx.x] = v;
}

__global__ void bad_width_kernel(float* out) {
  out[threadIdx.x] = __shfl_xor_sync(kFull, static_cast<float>(threadIdx.x), 1, 12);
}

__global__ void misaligned_ldg_kernel(const float* in, float* out) {
  const float4 v = __ldg(reinterpret_cast<const float4*>(in + 1));
  out[threadIdx.x] = v.x;
}

__global__ void noop_kernel(float* out) { out[0] = 1.0f; }

// out (4, 32): the results of four shuffles of the lane number at width 8 (CUDA's segment
// rule: a source beyond the lane's segment returns its own value)
__global__ void shuffle_width_kernel(int* out) {
  const int lane = static_cast<int>(threadIdx.x);
  out[0 * 32 + lane] = __shfl_xor_sync(kFull, lane, 4, 8);
  out[1 * 32 + lane] = __shfl_up_sync(kFull, lane, 3, 8);
  out[2 * 32 + lane] = __shfl_down_sync(kFull, lane, 3, 8);
  out[3 * 32 + lane] = __shfl_sync(kFull, lane, 9, 8);  // source lane 9 % 8 = 1 of each segment
}

// hits[i] += 1 for i < n in a grid-stride loop: every element exactly once, however few blocks
__global__ void grid_stride_kernel(int64_t n, int* hits) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    hits[i] += 1;
}

// each thread counts its parameter down in place: every thread must start from the launch's
// value (parameters are per-thread copies)
__global__ void by_value_parameter_kernel(int start, int* out) {
  int steps = 0;
  while (start > 0) {
    --start;
    ++steps;
  }
  out[threadIdx.x] = steps;
}

// ------------------------------------------------------------------ harness

struct DeviceArray {
  void* p = nullptr;
  explicit DeviceArray(size_t bytes) {
    if (cudaMalloc(&p, bytes) != cudaSuccess) throw std::bad_alloc();
  }
  ~DeviceArray() { cudaFree(p); }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;
  template <class T>
  T* as() const {
    return static_cast<T*>(p);
  }
};

std::string block_sum_case(bool racy) {
  const int blocks = 3, threads = 256;
  DeviceArray in(blocks * threads * sizeof(float)), out(blocks * sizeof(float));
  for (int i = 0; i < blocks * threads; ++i)
    in.as<float>()[i] = static_cast<float>((i * 7) % 13) - 6.0f;
  if (racy)
    cuda::launch("racy_double_sum_kernel", racy_double_sum_kernel, blocks, threads, 0, nullptr,
                 in.as<const float>(), out.as<float>());
  else
    cuda::launch("block_sum_kernel", block_sum_kernel, blocks, threads, 0, nullptr,
                 in.as<const float>(), out.as<float>());
  for (int b = 0; b < blocks; ++b) {
    double want = 0;
    for (int t = 0; t < threads; ++t) want += in.as<float>()[b * threads + t];
    if (racy) want *= 3;
    if (out.as<float>()[b] != static_cast<float>(want))
      return "wrong result: block " + std::to_string(b) + " sum " +
             std::to_string(out.as<float>()[b]) + ", want " + std::to_string(want);
  }
  return "";
}

std::string shuffle_width_case() {
  DeviceArray out(4 * 32 * sizeof(int));
  cuda::launch("shuffle_width_kernel", shuffle_width_kernel, 1, 32, 0, nullptr, out.as<int>());
  for (int lane = 0; lane < 32; ++lane) {
    const int seg = lane & ~7, pos = lane & 7;
    const int want[4] = {lane ^ 4, pos >= 3 ? lane - 3 : lane, pos + 3 < 8 ? lane + 3 : lane,
                         seg + 1};
    for (int k = 0; k < 4; ++k)
      if (out.as<int>()[k * 32 + lane] != want[k])
        return "wrong result: shuffle " + std::to_string(k) + " lane " + std::to_string(lane) +
               " got " + std::to_string(out.as<int>()[k * 32 + lane]) + ", want " +
               std::to_string(want[k]);
  }
  return "";
}

std::string grid_stride_case() {
  const int64_t n = 100003;
  DeviceArray hits(n * sizeof(int));
  std::memset(hits.p, 0, n * sizeof(int));
  cuda::launch("grid_stride_kernel", grid_stride_kernel, 3, 128, 0, nullptr, n, hits.as<int>());
  for (int64_t i = 0; i < n; ++i)
    if (hits.as<int>()[i] != 1)
      return "wrong result: element " + std::to_string(i) + " visited " +
             std::to_string(hits.as<int>()[i]) + " times";
  return "";
}

std::string by_value_case() {
  DeviceArray out(64 * sizeof(int));
  cuda::launch("by_value_parameter_kernel", by_value_parameter_kernel, 1, 64, 0, nullptr, 5,
               out.as<int>());
  for (int t = 0; t < 64; ++t)
    if (out.as<int>()[t] != 5)
      return "wrong result: thread " + std::to_string(t) + " started from " +
             std::to_string(out.as<int>()[t]) + ", want 5";
  return "";
}

// a kernel on `threads` threads writing into a 1024-float buffer
std::function<std::string()> simple(void (*kernel)(float*), const char* name, dim3 grid,
                                    dim3 block, size_t shmem = 0) {
  return [=] {
    DeviceArray out(1024 * sizeof(float));
    cuda::launch(name, kernel, grid, block, shmem, nullptr, out.as<float>());
    return std::string();
  };
}

const std::map<std::string, std::function<std::string()>>& cases() {
  static const std::map<std::string, std::function<std::string()>> table = {
      // correct kernels: must succeed with the right values under every schedule
      {"control_block_sum", [] { return block_sum_case(false); }},
      {"control_shuffle_width", &shuffle_width_case},
      {"control_grid_stride", &grid_stride_case},
      {"control_by_value_parameters", &by_value_case},
      // a race: right or wrong depending on the schedule; the schedule check always sees it
      {"race_shared_scratch", [] { return block_sum_case(true); }},
      // undefined behaviour: the launch must fail
      {"barrier_after_early_exit", simple(early_exit_barrier_kernel, "early_exit_barrier_kernel", 1, 64)},
      {"divergent_barriers", simple(divergent_barrier_kernel, "divergent_barrier_kernel", 1, 64)},
      {"deadlock", simple(deadlock_kernel, "deadlock_kernel", 1, 64)},
      {"shuffle_exited_lane", simple(shuffle_exited_lane_kernel, "shuffle_exited_lane_kernel", 1, 64)},
      {"partial_mask", simple(partial_mask_kernel, "partial_mask_kernel", 1, 64)},
      {"partial_warp", simple(partial_warp_kernel, "partial_warp_kernel", 1, 48)},
      {"diverging_collectives", simple(diverging_collectives_kernel, "diverging_collectives_kernel", 1, 64)},
      {"bad_width", simple(bad_width_kernel, "bad_width_kernel", 1, 32)},
      {"misaligned_ldg",
       [] {
         DeviceArray in(64 * sizeof(float)), out(64 * sizeof(float));
         cuda::launch("misaligned_ldg_kernel", misaligned_ldg_kernel, 1, 32, 0, nullptr,
                      in.as<const float>(), out.as<float>());
         return std::string();
       }},
      // invalid configurations: nothing runs
      {"block_too_large", simple(noop_kernel, "noop_kernel", 1, 1025)},
      {"block_z_too_large", simple(noop_kernel, "noop_kernel", 1, dim3(1, 1, 65))},
      {"grid_zero", simple(noop_kernel, "noop_kernel", 0, 32)},
      {"grid_y_too_large", simple(noop_kernel, "noop_kernel", dim3(1, 65536), 32)},
      {"dynamic_shared_memory", simple(noop_kernel, "noop_kernel", 1, 32, 1024)},
  };
  return table;
}

}  // namespace

std::vector<std::string> selftest_cases() {
  std::vector<std::string> names;
  for (const auto& kv : cases()) names.push_back(kv.first);
  return names;
}

std::string run_selftest(const std::string& name) {
  auto it = cases().find(name);
  if (it == cases().end()) throw std::invalid_argument("emulator self-test: no case '" + name + "'");
  try {
    return it->second();
  } catch (const cuda::Error& e) {
    return e.what();
  }
}

}  // namespace emulator
}  // namespace cudnn_lite
