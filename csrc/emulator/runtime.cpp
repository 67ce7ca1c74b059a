// runtime.cpp: the CUDA runtime calls of csrc/cuda/, on host memory.
//
// One device (0), with the emulator's multiprocessor count. Device memory is host heap memory
// (posix_memalign, 256-byte aligned, exactly the size asked for, so AddressSanitizer sees an
// out-of-bounds access as on any heap block), tracked so that cudaPointerGetAttributes tells
// device memory from host memory. Everything runs synchronously at the call: streams and
// events are handles that order nothing, and the *Async calls complete before they return.
// Errors are returned as the real runtime returns them and remembered for cudaGetLastError;
// unlike a GPU's, a failed launch does not poison the context: the next call works.
#include <sys/time.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <cuda_runtime.h>

#include "emulator.h"

namespace cudnn_lite {
namespace emulator {

namespace {

struct Memory {
  std::mutex mutex;
  std::map<uintptr_t, size_t> blocks;  // start -> bytes
  size_t in_use = 0;
};
Memory& memory() {
  static Memory* m = new Memory();  // never destroyed: frees may come during interpreter exit
  return *m;
}

struct Handles {
  std::mutex mutex;
  std::set<void*> streams;
  std::map<void*, double> events;  // event -> time recorded (ms), or -1
};
Handles& handles() {
  static Handles* h = new Handles();
  return *h;
}

thread_local cudaError_t last_error = cudaSuccess;
thread_local void* thread_stream = nullptr;

struct Failure {
  std::mutex mutex;
  int code = 0;
  std::string detail;
};
Failure& failure() {
  static Failure* f = new Failure();
  return *f;
}

cudaError_t record(cudaError_t err) {
  if (err != cudaSuccess) last_error = err;
  return err;
}

double now_ms() {
  using namespace std::chrono;
  return duration<double, std::milli>(steady_clock::now().time_since_epoch()).count();
}

}  // namespace

// ------------------------------------------------------------------ memory

void* device_malloc(size_t bytes) {
  if (bytes == 0) return nullptr;
  Memory& m = memory();
  const size_t limit = options().memory_bytes;
  std::lock_guard<std::mutex> lock(m.mutex);
  if (bytes > limit || m.in_use > limit - bytes) return nullptr;
  void* p = nullptr;
  if (posix_memalign(&p, 256, bytes) != 0) return nullptr;
  m.blocks[reinterpret_cast<uintptr_t>(p)] = bytes;
  m.in_use += bytes;
  return p;
}

bool device_free(void* p) {
  Memory& m = memory();
  std::lock_guard<std::mutex> lock(m.mutex);
  auto it = m.blocks.find(reinterpret_cast<uintptr_t>(p));
  if (it == m.blocks.end()) return false;
  m.in_use -= it->second;
  m.blocks.erase(it);
  std::free(p);
  return true;
}

namespace {
bool find_locked(Memory& m, uintptr_t p, Range* out) {
  auto it = m.blocks.upper_bound(p);
  if (it == m.blocks.begin()) return false;
  --it;
  if (p >= it->first + it->second) return false;
  if (out) *out = Range{reinterpret_cast<char*>(it->first), it->second};
  return true;
}
}  // namespace

bool find_allocation(const void* p, Range* out) {
  Memory& m = memory();
  std::lock_guard<std::mutex> lock(m.mutex);
  return find_locked(m, reinterpret_cast<uintptr_t>(p), out);
}

size_t device_bytes_in_use() {
  Memory& m = memory();
  std::lock_guard<std::mutex> lock(m.mutex);
  return m.in_use;
}

std::vector<Range> allocations_pointed_to(const void* bytes, size_t n) {
  Memory& m = memory();
  std::lock_guard<std::mutex> lock(m.mutex);
  std::vector<Range> out;
  const char* b = static_cast<const char*>(bytes);
  for (size_t off = 0; off + sizeof(uintptr_t) <= n; off += sizeof(uintptr_t)) {
    uintptr_t word;
    std::memcpy(&word, b + off, sizeof word);
    Range r;
    if (!find_locked(m, word, &r)) continue;
    bool seen = false;
    for (const Range& o : out) seen = seen || o.begin == r.begin;
    if (!seen) out.push_back(r);
  }
  return out;
}

// ------------------------------------------------------------ failures

void set_failure(int cuda_error, const std::string& detail) {
  Failure& f = failure();
  {
    std::lock_guard<std::mutex> lock(f.mutex);
    f.code = cuda_error;
    f.detail = detail;
  }
  record(static_cast<cudaError_t>(cuda_error));
}

void clear_failure() {
  Failure& f = failure();
  std::lock_guard<std::mutex> lock(f.mutex);
  f.code = 0;
  f.detail.clear();
}

std::string failure_detail(int cuda_error) {
  Failure& f = failure();
  std::lock_guard<std::mutex> lock(f.mutex);
  return f.code == cuda_error ? f.detail : std::string();
}

// ------------------------------------------------------------ streams

void* current_stream() { return thread_stream; }
void set_current_stream(void* stream) { thread_stream = stream; }

bool valid_stream(void* stream) {
  if (stream == nullptr || stream == cudaStreamLegacy || stream == cudaStreamPerThread) return true;
  Handles& h = handles();
  std::lock_guard<std::mutex> lock(h.mutex);
  return h.streams.count(stream) != 0;
}

void* create_stream() {
  Handles& h = handles();
  std::lock_guard<std::mutex> lock(h.mutex);
  void* s = std::malloc(1);  // a unique address is all a handle needs
  h.streams.insert(s);
  return s;
}

bool destroy_stream(void* stream) {
  Handles& h = handles();
  std::lock_guard<std::mutex> lock(h.mutex);
  if (h.streams.erase(stream) == 0) return false;
  std::free(stream);
  return true;
}

}  // namespace emulator
}  // namespace cudnn_lite

// ==================================================================== the CUDA API

namespace emu = cudnn_lite::emulator;

namespace {

struct ErrorInfo {
  cudaError_t code;
  const char* name;
  const char* text;
};
constexpr ErrorInfo kErrors[] = {
    {cudaSuccess, "cudaSuccess", "no error"},
    {cudaErrorInvalidValue, "cudaErrorInvalidValue", "invalid argument"},
    {cudaErrorMemoryAllocation, "cudaErrorMemoryAllocation", "out of memory"},
    {cudaErrorInitializationError, "cudaErrorInitializationError", "initialization error"},
    {cudaErrorInvalidConfiguration, "cudaErrorInvalidConfiguration", "invalid configuration argument"},
    {cudaErrorInvalidDevicePointer, "cudaErrorInvalidDevicePointer", "invalid device pointer"},
    {cudaErrorInvalidResourceHandle, "cudaErrorInvalidResourceHandle", "invalid resource handle"},
    {cudaErrorNoDevice, "cudaErrorNoDevice", "no CUDA-capable device is detected"},
    {cudaErrorInvalidDevice, "cudaErrorInvalidDevice", "invalid device ordinal"},
    {cudaErrorIllegalAddress, "cudaErrorIllegalAddress", "an illegal memory access was encountered"},
    {cudaErrorLaunchOutOfResources, "cudaErrorLaunchOutOfResources", "too many resources requested for launch"},
    {cudaErrorMisalignedAddress, "cudaErrorMisalignedAddress", "misaligned address"},
    {cudaErrorLaunchFailure, "cudaErrorLaunchFailure", "unspecified launch failure"},
    {cudaErrorNotSupported, "cudaErrorNotSupported", "operation not supported"},
};

const ErrorInfo* info(cudaError_t err) {
  for (const ErrorInfo& e : kErrors)
    if (e.code == err) return &e;
  return nullptr;
}

cudaError_t ok() { return cudaSuccess; }
cudaError_t fail(cudaError_t err) { return emu::record(err); }

}  // namespace

const char* cudaGetErrorName(cudaError_t err) {
  const ErrorInfo* e = info(err);
  return e ? e->name : "cudaErrorUnknown";
}

const char* cudaGetErrorString(cudaError_t err) {
  // the generic text, plus what the emulator found when the last failure had this code
  // (kept per OS thread until its next call here, like the runtime's static strings)
  thread_local std::string text;
  const ErrorInfo* e = info(err);
  text = e ? e->text : "unknown error";
  const std::string detail = emu::failure_detail(err);
  if (!detail.empty()) text += "; " + detail;
  return text.c_str();
}

cudaError_t cudaGetLastError() {
  const cudaError_t e = emu::last_error;
  emu::last_error = cudaSuccess;
  return e;
}

cudaError_t cudaPeekAtLastError() { return emu::last_error; }

cudaError_t cudaGetDeviceCount(int* count) {
  if (!count) return fail(cudaErrorInvalidValue);
  *count = 1;
  return ok();
}

cudaError_t cudaGetDevice(int* device) {
  if (!device) return fail(cudaErrorInvalidValue);
  *device = 0;
  return ok();
}

cudaError_t cudaSetDevice(int device) { return device == 0 ? ok() : fail(cudaErrorInvalidDevice); }

cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int device) {
  if (!value) return fail(cudaErrorInvalidValue);
  if (device != 0) return fail(cudaErrorInvalidDevice);
  switch (attr) {
    case cudaDevAttrMaxThreadsPerBlock: *value = 1024; break;
    case cudaDevAttrMaxBlockDimX: *value = 1024; break;
    case cudaDevAttrMaxBlockDimY: *value = 1024; break;
    case cudaDevAttrMaxBlockDimZ: *value = 64; break;
    case cudaDevAttrMaxGridDimX: *value = 0x7fffffff; break;
    case cudaDevAttrMaxGridDimY: *value = 65535; break;
    case cudaDevAttrMaxGridDimZ: *value = 65535; break;
    case cudaDevAttrMaxSharedMemoryPerBlock: *value = 48 * 1024; break;
    case cudaDevAttrWarpSize: *value = 32; break;
    case cudaDevAttrMultiProcessorCount: *value = emu::options().sms; break;
    case cudaDevAttrComputeCapabilityMajor: *value = 9; break;
    case cudaDevAttrComputeCapabilityMinor: *value = 0; break;
    default: return fail(cudaErrorInvalidValue);
  }
  return ok();
}

cudaError_t cudaDeviceSynchronize() { return ok(); }

cudaError_t cudaRuntimeGetVersion(int* version) {
  if (!version) return fail(cudaErrorInvalidValue);
  *version = CUDART_VERSION;
  return ok();
}

cudaError_t cudaDriverGetVersion(int* version) { return cudaRuntimeGetVersion(version); }

cudaError_t cudaMalloc(void** ptr, size_t bytes) {
  if (!ptr) return fail(cudaErrorInvalidValue);
  *ptr = emu::device_malloc(bytes);
  if (*ptr == nullptr && bytes != 0) return fail(cudaErrorMemoryAllocation);
  return ok();
}

cudaError_t cudaFree(void* ptr) {
  if (ptr == nullptr) return ok();
  return emu::device_free(ptr) ? ok() : fail(cudaErrorInvalidValue);
}

cudaError_t cudaMallocAsync(void** ptr, size_t bytes, cudaStream_t stream) {
  if (!emu::valid_stream(stream)) return fail(cudaErrorInvalidResourceHandle);
  return cudaMalloc(ptr, bytes);
}

cudaError_t cudaFreeAsync(void* ptr, cudaStream_t stream) {
  if (!emu::valid_stream(stream)) return fail(cudaErrorInvalidResourceHandle);
  return cudaFree(ptr);
}

namespace {
// [p, p + bytes) must lie inside one device allocation
bool device_range(const void* p, size_t bytes) {
  emu::Range r;
  if (!emu::find_allocation(p, &r)) return false;
  return static_cast<const char*>(p) + bytes <= r.begin + r.bytes;
}
}  // namespace

cudaError_t cudaMemset(void* ptr, int value, size_t bytes) {
  if (bytes == 0) return ok();
  if (!device_range(ptr, bytes)) return fail(cudaErrorInvalidValue);
  std::memset(ptr, value, bytes);
  return ok();
}

cudaError_t cudaMemsetAsync(void* ptr, int value, size_t bytes, cudaStream_t stream) {
  if (!emu::valid_stream(stream)) return fail(cudaErrorInvalidResourceHandle);
  return cudaMemset(ptr, value, bytes);
}

cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind) {
  if (bytes == 0) return ok();
  if (!dst || !src) return fail(cudaErrorInvalidValue);
  const bool dst_dev = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
  const bool src_dev = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
  if ((dst_dev && !device_range(dst, bytes)) || (src_dev && !device_range(src, bytes)))
    return fail(cudaErrorInvalidValue);
  std::memmove(dst, src, bytes);
  return ok();
}

cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind,
                            cudaStream_t stream) {
  if (!emu::valid_stream(stream)) return fail(cudaErrorInvalidResourceHandle);
  return cudaMemcpy(dst, src, bytes, kind);
}

cudaError_t cudaPointerGetAttributes(cudaPointerAttributes* attr, const void* ptr) {
  if (!attr) return fail(cudaErrorInvalidValue);
  emu::Range r;
  if (ptr != nullptr && emu::find_allocation(ptr, &r)) {
    *attr = cudaPointerAttributes{cudaMemoryTypeDevice, 0, const_cast<void*>(ptr), nullptr};
  } else {  // what CUDA 11+ reports for memory it does not know
    *attr = cudaPointerAttributes{cudaMemoryTypeUnregistered, -2, nullptr,
                                  const_cast<void*>(ptr)};
  }
  return ok();
}

cudaError_t cudaStreamCreate(cudaStream_t* stream) { return cudaStreamCreateWithFlags(stream, 0); }

cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned int flags) {
  if (!stream || flags > cudaStreamNonBlocking) return fail(cudaErrorInvalidValue);
  *stream = static_cast<cudaStream_t>(emu::create_stream());
  return ok();
}

cudaError_t cudaStreamDestroy(cudaStream_t stream) {
  return emu::destroy_stream(stream) ? ok() : fail(cudaErrorInvalidResourceHandle);
}

cudaError_t cudaStreamSynchronize(cudaStream_t stream) {
  return emu::valid_stream(stream) ? ok() : fail(cudaErrorInvalidResourceHandle);
}

cudaError_t cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t event, unsigned int) {
  if (!emu::valid_stream(stream)) return fail(cudaErrorInvalidResourceHandle);
  auto& h = emu::handles();
  std::lock_guard<std::mutex> lock(h.mutex);
  return h.events.count(event) ? ok() : fail(cudaErrorInvalidResourceHandle);
}

cudaError_t cudaEventCreate(cudaEvent_t* event) { return cudaEventCreateWithFlags(event, 0); }

cudaError_t cudaEventCreateWithFlags(cudaEvent_t* event, unsigned int flags) {
  if (!event || flags > (cudaEventBlockingSync | cudaEventDisableTiming))
    return fail(cudaErrorInvalidValue);
  auto& h = emu::handles();
  std::lock_guard<std::mutex> lock(h.mutex);
  void* e = std::malloc(1);
  h.events[e] = -1.0;
  *event = static_cast<cudaEvent_t>(e);
  return ok();
}

cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream) {
  if (!emu::valid_stream(stream)) return fail(cudaErrorInvalidResourceHandle);
  auto& h = emu::handles();
  std::lock_guard<std::mutex> lock(h.mutex);
  auto it = h.events.find(event);
  if (it == h.events.end()) return fail(cudaErrorInvalidResourceHandle);
  it->second = emu::now_ms();
  return ok();
}

cudaError_t cudaEventSynchronize(cudaEvent_t event) {
  auto& h = emu::handles();
  std::lock_guard<std::mutex> lock(h.mutex);
  return h.events.count(event) ? ok() : fail(cudaErrorInvalidResourceHandle);
}

cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end) {
  if (!ms) return fail(cudaErrorInvalidValue);
  auto& h = emu::handles();
  std::lock_guard<std::mutex> lock(h.mutex);
  auto a = h.events.find(start), b = h.events.find(end);
  if (a == h.events.end() || b == h.events.end()) return fail(cudaErrorInvalidResourceHandle);
  if (a->second < 0 || b->second < 0) return fail(cudaErrorInvalidValue);
  *ms = static_cast<float>(b->second - a->second);
  return ok();
}

cudaError_t cudaEventDestroy(cudaEvent_t event) {
  auto& h = emu::handles();
  std::lock_guard<std::mutex> lock(h.mutex);
  if (h.events.erase(event) == 0) return fail(cudaErrorInvalidResourceHandle);
  std::free(event);
  return ok();
}
