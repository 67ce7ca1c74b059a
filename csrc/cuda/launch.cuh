// launch.cuh: every kernel launch goes through launch().
//
//   launch("name", kernel, grid, block, shared_bytes, stream, args...)
//
// is exactly `kernel<<<grid, block, shared_bytes, stream>>>(args...)` followed by the launch
// check (CUDA_CHECK_LAUNCH("name"): a cudnn_lite::cuda::Error naming the kernel). In the
// emulated build (CUDNN_LITE_CUDA=EMULATE) the same call runs the kernel on the host SIMT
// emulator (csrc/emulator/), which converts each argument to the kernel's parameter type
// once and gives every thread its own copy, as a launch does.
#pragma once

#include <cuda_runtime.h>

#include <utility>

#include "cuda/check.cuh"

namespace cudnn_lite {
namespace cuda {

template <class... P, class... A>
void launch(const char* name, void (*kernel)(P...), dim3 grid, dim3 block, size_t shared_bytes,
            cudaStream_t stream, A&&... args) {
#ifdef CUDNN_LITE_CUDA_EMULATED
  emulator::launch(name, kernel, grid, block, shared_bytes, stream, std::forward<A>(args)...);
#else
  kernel<<<grid, block, shared_bytes, stream>>>(std::forward<A>(args)...);
#endif
  CUDA_CHECK_LAUNCH(name);
}

}  // namespace cuda
}  // namespace cudnn_lite
