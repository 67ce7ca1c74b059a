// cuda_runtime.h (emulated): what csrc/cuda/*.cu include instead of the CUDA toolkit's header
// when the library is built with CUDNN_LITE_CUDA=EMULATE. The same .cu sources are then
// compiled by the host C++ compiler and their kernels run on the host SIMT emulator
// (csrc/emulator/scheduler.cpp): blocks one after another, the threads of a block as fibers.
//
// It provides exactly the subset of CUDA the kernels use, nothing more:
//   qualifiers     __global__ __device__ __host__ __forceinline__ __launch_bounds__ __align__
//                  __shared__ (static storage: one copy, used by one block at a time;
//                  `extern __shared__` does not compile, dynamic shared memory is refused)
//   built-ins      threadIdx blockIdx blockDim gridDim warpSize
//   intrinsics     __syncthreads, __shfl{,_up,_down,_xor}_sync, __any_sync, __all_sync,
//                  __ballot_sync (full masks only), __ldg (alignment-checked), __int_as_float,
//                  __float_as_int; the float maths of <cmath> (fmaf, expf, ...)
//   vector types   float2 float4 int2 int4 uint3 dim3 and their make_* functions
//   runtime API    the cuda* calls of csrc/cuda/ on host memory (csrc/emulator/runtime.cpp)
// Kernels are launched through cudnn_lite::cuda::launch (csrc/cuda/launch.cuh), which calls
// cudnn_lite::emulator::launch below; `kernel<<<...>>>` does not compile here.
#pragma once

#ifndef CUDNN_LITE_CUDA_EMULATED
#error "csrc/emulator/cuda_runtime.h is only for the emulated build (CUDNN_LITE_CUDA=EMULATE)"
#endif

#include <math.h>  // CUDA's maths is global: isnan, fmaf, expf, ...

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <tuple>
#include <type_traits>
#include <utility>

// ------------------------------------------------------------------ qualifiers

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __align__(n) __attribute__((aligned(n)))
// one copy of each __shared__ variable; blocks run one at a time, so it is the running
// block's. `extern __shared__` (dynamic shared memory) becomes `extern static`: an error.
#define __shared__ static

#define CUDART_VERSION 13000  // the runtime API level the emulator follows

// ---------------------------------------------------------------- vector types

struct uint3 {
  unsigned int x, y, z;
};
struct dim3 {
  unsigned int x, y, z;
  constexpr dim3(unsigned int vx = 1, unsigned int vy = 1, unsigned int vz = 1)
      : x(vx), y(vy), z(vz) {}
  constexpr dim3(uint3 v) : x(v.x), y(v.y), z(v.z) {}  // NOLINT: implicit, as in CUDA
};
struct alignas(8) float2 {
  float x, y;
};
struct alignas(16) float4 {
  float x, y, z, w;
};
struct alignas(8) int2 {
  int x, y;
};
struct alignas(16) int4 {
  int x, y, z, w;
};
inline float2 make_float2(float x, float y) { return float2{x, y}; }
inline float4 make_float4(float x, float y, float z, float w) { return float4{x, y, z, w}; }
inline int2 make_int2(int x, int y) { return int2{x, y}; }
inline int4 make_int4(int x, int y, int z, int w) { return int4{x, y, z, w}; }
inline uint3 make_uint3(unsigned x, unsigned y, unsigned z) { return uint3{x, y, z}; }

// ------------------------------------------------------------------ runtime API

enum cudaError_t {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInitializationError = 3,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorInvalidDevicePointer = 17,
  cudaErrorInvalidResourceHandle = 400,
  cudaErrorNoDevice = 100,
  cudaErrorInvalidDevice = 101,
  cudaErrorIllegalAddress = 700,
  cudaErrorLaunchOutOfResources = 701,
  cudaErrorMisalignedAddress = 716,
  cudaErrorLaunchFailure = 719,
  cudaErrorNotSupported = 801,
};
typedef cudaError_t cudaError;

typedef struct CUstream_st* cudaStream_t;
typedef struct CUevent_st* cudaEvent_t;
#define cudaStreamLegacy ((cudaStream_t)0x1)
#define cudaStreamPerThread ((cudaStream_t)0x2)
constexpr unsigned int cudaStreamDefault = 0x0, cudaStreamNonBlocking = 0x1;
constexpr unsigned int cudaEventDefault = 0x0, cudaEventBlockingSync = 0x1,
                       cudaEventDisableTiming = 0x2;

enum cudaMemoryType {
  cudaMemoryTypeUnregistered = 0,
  cudaMemoryTypeHost = 1,
  cudaMemoryTypeDevice = 2,
  cudaMemoryTypeManaged = 3,
};
struct cudaPointerAttributes {
  cudaMemoryType type;
  int device;
  void* devicePointer;
  void* hostPointer;
};
enum cudaMemcpyKind {
  cudaMemcpyHostToHost = 0,
  cudaMemcpyHostToDevice = 1,
  cudaMemcpyDeviceToHost = 2,
  cudaMemcpyDeviceToDevice = 3,
  cudaMemcpyDefault = 4,
};
enum cudaDeviceAttr {
  cudaDevAttrMaxThreadsPerBlock = 1,
  cudaDevAttrMaxBlockDimX = 2,
  cudaDevAttrMaxBlockDimY = 3,
  cudaDevAttrMaxBlockDimZ = 4,
  cudaDevAttrMaxGridDimX = 5,
  cudaDevAttrMaxGridDimY = 6,
  cudaDevAttrMaxGridDimZ = 7,
  cudaDevAttrMaxSharedMemoryPerBlock = 8,
  cudaDevAttrWarpSize = 10,
  cudaDevAttrMultiProcessorCount = 16,
  cudaDevAttrComputeCapabilityMajor = 75,
  cudaDevAttrComputeCapabilityMinor = 76,
};

const char* cudaGetErrorName(cudaError_t err);
const char* cudaGetErrorString(cudaError_t err);
cudaError_t cudaGetLastError();
cudaError_t cudaPeekAtLastError();

cudaError_t cudaGetDeviceCount(int* count);
cudaError_t cudaGetDevice(int* device);
cudaError_t cudaSetDevice(int device);
cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int device);
cudaError_t cudaDeviceSynchronize();
cudaError_t cudaRuntimeGetVersion(int* version);
cudaError_t cudaDriverGetVersion(int* version);

cudaError_t cudaMalloc(void** ptr, size_t bytes);
cudaError_t cudaFree(void* ptr);
cudaError_t cudaMallocAsync(void** ptr, size_t bytes, cudaStream_t stream);
cudaError_t cudaFreeAsync(void* ptr, cudaStream_t stream);
cudaError_t cudaMemset(void* ptr, int value, size_t bytes);
cudaError_t cudaMemsetAsync(void* ptr, int value, size_t bytes, cudaStream_t stream);
cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind);
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind,
                            cudaStream_t stream);
cudaError_t cudaPointerGetAttributes(cudaPointerAttributes* attr, const void* ptr);

cudaError_t cudaStreamCreate(cudaStream_t* stream);
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned int flags);
cudaError_t cudaStreamDestroy(cudaStream_t stream);
cudaError_t cudaStreamSynchronize(cudaStream_t stream);
cudaError_t cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t event, unsigned int flags);
cudaError_t cudaEventCreate(cudaEvent_t* event);
cudaError_t cudaEventCreateWithFlags(cudaEvent_t* event, unsigned int flags);
cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream);
cudaError_t cudaEventSynchronize(cudaEvent_t event);
cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end);
cudaError_t cudaEventDestroy(cudaEvent_t event);

// ------------------------------------------------- the emulator, seen from device code

namespace cudnn_lite {
namespace emulator {

// The running thread and block. Plain globals (launches are serialised by a mutex), set by
// the scheduler; every fiber switch happens inside a call into scheduler.cpp, so the
// compiler reloads them after any intrinsic that may switch.
extern const uint3* current_thread_idx;
extern uint3 block_idx, block_dim, grid_dim;
inline const uint3& thread_idx() { return *current_thread_idx; }

// Reports undefined behaviour in device code: the launch fails with `err` and `what`
// (plus the thread, block and kernel); the calling thread never returns from it.
[[noreturn]] void fault(cudaError_t err, const char* what);

// __syncthreads at source location file:line
void sync_block(const char* file, int line);

// Warp collectives. Each lane passes 8 bytes of payload; the result is the payload of the
// source lane (shuffles) or the vote. Full masks only (0xffffffff), width a power of 2 <= 32.
enum class Collective : int { shfl_idx, shfl_up, shfl_down, shfl_xor, any, all, ballot };
uint64_t warp_collective(Collective op, unsigned mask, uint64_t payload, int b, int width,
                         int bytes);

template <class T>
inline T shuffle(Collective op, unsigned mask, T var, int b, int width) {
  static_assert(std::is_trivially_copyable<T>::value && sizeof(T) <= 8,
                "the emulator shuffles trivially copyable values of at most 8 bytes");
  uint64_t in = 0;
  std::memcpy(&in, &var, sizeof(T));
  const uint64_t out = warp_collective(op, mask, in, b, width, static_cast<int>(sizeof(T)));
  T r;
  std::memcpy(&r, &out, sizeof(T));
  return r;
}

// What run_grid needs of one launch: the kernel body as a type-erased call (each call is one
// CUDA thread: it copies the converted arguments into the kernel's parameters) and the bytes
// of those converted arguments (scanned for device pointers by the schedule check).
struct Launch {
  const char* name;
  dim3 grid, block;
  size_t shared_bytes;
  cudaStream_t stream;
  void (*body)(void* closure);
  void* closure;
  const void* args;
  size_t args_bytes;
};
void run_grid(const Launch& launch);

// kernel<<<grid, block, shared_bytes, stream>>>(args...): each argument is converted to the
// kernel's parameter type once (as a launch does); every thread then gets its own copy of
// those parameters, so kernels that modify their by-value parameters behave as on a GPU.
template <class... P, class... A>
void launch(const char* name, void (*kernel)(P...), dim3 grid, dim3 block, size_t shared_bytes,
            cudaStream_t stream, A&&... args) {
  static_assert(sizeof...(P) == sizeof...(A), "kernel launched with the wrong argument count");
  using Params = std::tuple<typename std::decay<P>::type...>;
  Params params(std::forward<A>(args)...);
  struct Closure {
    void (*kernel)(P...);
    Params* params;
  } closure{kernel, &params};
  Launch l{name, grid, block, shared_bytes, stream,
           [](void* c) {
             auto* cl = static_cast<Closure*>(c);
             std::apply(cl->kernel, *cl->params);
           },
           &closure, &params, sizeof(Params)};
  run_grid(l);
}

}  // namespace emulator
}  // namespace cudnn_lite

// ----------------------------------------------------------------- built-ins

#define threadIdx (::cudnn_lite::emulator::thread_idx())
#define blockIdx (static_cast<const uint3&>(::cudnn_lite::emulator::block_idx))
#define blockDim (static_cast<const uint3&>(::cudnn_lite::emulator::block_dim))
#define gridDim (static_cast<const uint3&>(::cudnn_lite::emulator::grid_dim))
constexpr int warpSize = 32;

#define __syncthreads() ::cudnn_lite::emulator::sync_block(__FILE__, __LINE__)

template <class T>
inline T __shfl_sync(unsigned mask, T var, int src_lane, int width = warpSize) {
  using cudnn_lite::emulator::Collective;
  return cudnn_lite::emulator::shuffle(Collective::shfl_idx, mask, var, src_lane, width);
}
template <class T>
inline T __shfl_up_sync(unsigned mask, T var, unsigned delta, int width = warpSize) {
  using cudnn_lite::emulator::Collective;
  return cudnn_lite::emulator::shuffle(Collective::shfl_up, mask, var, static_cast<int>(delta),
                                       width);
}
template <class T>
inline T __shfl_down_sync(unsigned mask, T var, unsigned delta, int width = warpSize) {
  using cudnn_lite::emulator::Collective;
  return cudnn_lite::emulator::shuffle(Collective::shfl_down, mask, var, static_cast<int>(delta),
                                       width);
}
template <class T>
inline T __shfl_xor_sync(unsigned mask, T var, int lane_mask, int width = warpSize) {
  using cudnn_lite::emulator::Collective;
  return cudnn_lite::emulator::shuffle(Collective::shfl_xor, mask, var, lane_mask, width);
}
inline int __any_sync(unsigned mask, int predicate) {
  using cudnn_lite::emulator::Collective;
  return static_cast<int>(cudnn_lite::emulator::warp_collective(
      Collective::any, mask, predicate != 0, 0, warpSize, 4));
}
inline int __all_sync(unsigned mask, int predicate) {
  using cudnn_lite::emulator::Collective;
  return static_cast<int>(cudnn_lite::emulator::warp_collective(
      Collective::all, mask, predicate != 0, 0, warpSize, 4));
}
inline unsigned __ballot_sync(unsigned mask, int predicate) {
  using cudnn_lite::emulator::Collective;
  return static_cast<unsigned>(cudnn_lite::emulator::warp_collective(
      Collective::ballot, mask, predicate != 0, 0, warpSize, 4));
}

// a read-only load; a misaligned address faults as on the GPU (float4: 16 bytes)
template <class T>
inline T __ldg(const T* p) {
  if (reinterpret_cast<uintptr_t>(p) % alignof(T) != 0)
    cudnn_lite::emulator::fault(cudaErrorMisalignedAddress, "__ldg of a misaligned address");
  return *p;
}

inline float __int_as_float(int v) {
  float f;
  std::memcpy(&f, &v, sizeof f);
  return f;
}
inline int __float_as_int(float v) {
  int i;
  std::memcpy(&i, &v, sizeof i);
  return i;
}
inline float rsqrtf(float v) { return 1.0f / std::sqrt(v); }
