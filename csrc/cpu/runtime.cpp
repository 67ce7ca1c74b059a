// runtime.cpp: thread count and a description of how the CPU kernels were built.
#include <sstream>
#include <stdexcept>
#include <string>

#include "cudnn_lite.h"

#ifdef _OPENMP
#include <omp.h>
#endif

#ifndef CUDNN_LITE_CPU_FLAGS
#define CUDNN_LITE_CPU_FLAGS "(unknown: not built by CMake)"
#endif

namespace cudnn_lite {
namespace cpu {

// the number of threads the next parallel region of a kernel will use
int get_num_threads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

// n >= 1; ignored (stays 1) in a build without OpenMP
void set_num_threads(int n) {
  if (n < 1) throw std::invalid_argument("set_num_threads: n must be >= 1, got " + std::to_string(n));
#ifdef _OPENMP
  omp_set_num_threads(n);
#endif
}

static std::string compiler_name() {
#if defined(CUDNN_LITE_CXX_COMPILER)
  return CUDNN_LITE_CXX_COMPILER;
#elif defined(__VERSION__)
  return __VERSION__;
#else
  return "unknown";
#endif
}

static std::string vector_isa() {
  std::string isa;
#if defined(__AVX512F__)
  isa += "AVX-512F ";
#endif
#if defined(__AVX2__)
  isa += "AVX2 ";
#elif defined(__AVX__)
  isa += "AVX ";
#endif
#if defined(__FMA__)
  isa += "FMA ";
#endif
#if defined(__SSE4_2__)
  isa += "SSE4.2 ";
#elif defined(__SSE2__)
  isa += "SSE2 ";
#endif
#if defined(__ARM_NEON)
  isa += "NEON ";
#endif
  if (isa.empty()) return "scalar";
  isa.pop_back();
  return isa;
}

// one "key: value" line per item
std::string build_info() {
  std::ostringstream s;
  s << "compiler: " << compiler_name() << "\n";
  s << "flags: " << CUDNN_LITE_CPU_FLAGS << "\n";
  s << "vector isa: " << vector_isa() << "\n";
#ifdef _OPENMP
  s << "openmp: " << _OPENMP << "\n";
  s << "max threads: " << omp_get_max_threads() << "\n";
#else
  s << "openmp: no\n";
  s << "max threads: 1\n";
#endif
  return s.str();
}

}  // namespace cpu
}  // namespace cudnn_lite
