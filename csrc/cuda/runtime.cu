// runtime.cu: device discovery, runtime version, synchronisation.
#include <cuda_runtime.h>

#include <string>

#include "cuda/check.cuh"
#include "cudnn_lite.h"

namespace cudnn_lite {
namespace cuda {

// 0 when there is no driver, no device, or any other error; never throws.
int device_count() {
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    (void)cudaGetLastError();  // clear the error so later calls start clean
    return 0;
  }
  return count;
}

// the CUDA runtime version this library was linked with, e.g. "13.0"
std::string runtime_version() {
  int v = 0;
  if (cudaRuntimeGetVersion(&v) != cudaSuccess) {
    (void)cudaGetLastError();
    v = CUDART_VERSION;
  }
  return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10);
}

void synchronize() { CUDA_CHECK(cudaDeviceSynchronize(), "synchronize"); }

int pointer_device(const void* p) {
  cudaPointerAttributes attr{};
  CUDA_CHECK(cudaPointerGetAttributes(&attr, p), "pointer_device");
  return attr.type == cudaMemoryTypeUnregistered ? -1 : attr.device;
}

int current_device() {
  int device = 0;
  CUDA_CHECK(cudaGetDevice(&device), "current_device");
  return device;
}

void stream_wait(void* stream, void* producer) {
  cudaEvent_t done = nullptr;
  CUDA_CHECK(cudaEventCreateWithFlags(&done, cudaEventDisableTiming), "stream_wait");
  cudaError_t err = cudaEventRecord(done, static_cast<cudaStream_t>(producer));
  if (err == cudaSuccess) err = cudaStreamWaitEvent(static_cast<cudaStream_t>(stream), done, 0);
  (void)cudaEventDestroy(done);  // safe while pending: released when the event completes
  CUDA_CHECK(err, "stream_wait");
}

}  // namespace cuda
}  // namespace cudnn_lite
