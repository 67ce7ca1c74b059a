// host_device.h: CL_HOST_DEVICE, the qualifier of the functions in csrc/common/, which are
// written once and compiled by both compilers: __host__ __device__ under nvcc, plain inline
// functions for the host compiler (the CPU kernels, and the emulated CUDA build, where
// csrc/cuda/*.cu is compiled as C++).
#pragma once

#if defined(__CUDACC__)
#define CL_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define CL_HOST_DEVICE inline
#endif
