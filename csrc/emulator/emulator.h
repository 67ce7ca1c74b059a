// emulator.h: the host SIMT emulator's own interface (not CUDA's): its options, its device
// memory, the last launch failure, counters and the self-test kernels. Used by
// csrc/emulator/*.cpp and by the Python binding (python/bind_emulator.cpp); device code only
// sees cuda_runtime.h.
//
// Options come from the environment at the first use and can be changed later (configure):
//   CUDNN_LITE_EMU_SCHEDULE        in-order (default) | reverse | warp-greedy | random:
//                                  which ready thread of a block runs next
//   CUDNN_LITE_EMU_BLOCK_ORDER     forward (default) | reverse | random
//   CUDNN_LITE_EMU_CHECK_SCHEDULE  none (default) or a schedule: run every launch a second
//                                  time under it (and the opposite block order) from the
//                                  same memory, and fail the launch unless every byte it can
//                                  reach comes out identical
//   CUDNN_LITE_EMU_SEED            seed of the random schedules and block orders (default 0)
//   CUDNN_LITE_EMU_SMS             the multiprocessor count the device reports (default 2)
//   CUDNN_LITE_EMU_STACK_KB        stack per emulated thread (default 64, 256 under ASan)
//   CUDNN_LITE_EMU_MEMORY_MB       device memory (default 8192); more is cudaErrorMemoryAllocation
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace cudnn_lite {
namespace emulator {

enum class Schedule { in_order, reverse, warp_greedy, random };
enum class BlockOrder { forward, reverse, random };

struct Options {
  Schedule schedule = Schedule::in_order;
  BlockOrder block_order = BlockOrder::forward;
  bool check = false;  // re-run every launch under check_schedule and compare
  Schedule check_schedule = Schedule::warp_greedy;
  uint64_t seed = 0;
  int sms = 2;
  size_t stack_bytes = 0;     // 0: the default
  size_t memory_bytes = 0;    // 0: the default
};

Options options();                // the current options (read from the environment first)
// CUDNN_LITE_EMU_* (options.cpp): defaults where unset; bad values are reported and ignored
Options options_from_environment();
void configure(const Options& o);  // throws std::invalid_argument on nonsense
const char* schedule_name(Schedule s);
const char* block_order_name(BlockOrder o);
Schedule parse_schedule(const std::string& s);      // std::invalid_argument if unknown
BlockOrder parse_block_order(const std::string& s);

struct Launch;  // cuda_runtime.h
// "" if a GPU would run this grid and block shape, else what is wrong with it (options.cpp)
std::string invalid_launch_config(const Launch& l);
// schedule_check.cpp: run_once (one pass over the grid; false when it failed) under o's
// schedule and block order with seed_a, then from the same memory under o.check_schedule and
// the opposite block order with seed_b. False if a pass failed; else true, with *difference
// "" when every byte of every allocation the launch's arguments point into came out the same
// and the first difference described otherwise.
bool run_schedule_check(const Launch& l, const Options& o, uint64_t seed_a, uint64_t seed_b,
                        const std::function<bool(Schedule, BlockOrder, uint64_t)>& run_once,
                        std::string* difference);

struct Stats {
  uint64_t launches = 0, blocks = 0, threads = 0, switches = 0, checked_launches = 0;
  uint64_t failures = 0;
};
Stats stats();

// ---- device memory: host heap blocks the emulator tracks (runtime.cpp)

struct Range {
  char* begin;
  size_t bytes;
};
// nullptr when out of emulated device memory; a 0-byte request also gives nullptr
void* device_malloc(size_t bytes);
bool device_free(void* p);                    // false: not a live allocation
bool find_allocation(const void* p, Range* out);  // the live allocation holding p
size_t device_bytes_in_use();
// every live allocation that one of the 8-byte-aligned words of [bytes, bytes + n) points into
std::vector<Range> allocations_pointed_to(const void* bytes, size_t n);

// ---- the last launch failure (what cudaGetErrorString adds to the generic text)

void set_failure(int cuda_error, const std::string& detail);
void clear_failure();
std::string failure_detail(int cuda_error);  // "" unless the last failure had this code

// ---- the current stream of the calling OS thread (what the binding launches on when no
// CuPy is there to ask); 0 is the legacy default stream
void* current_stream();
void set_current_stream(void* stream);
bool valid_stream(void* stream);
void* create_stream();
bool destroy_stream(void* stream);

// ---- self-test kernels: each launches a kernel with one kind of undefined behaviour (or a
// correct control) and returns what the launch reported ("" when it succeeded)
std::vector<std::string> selftest_cases();
std::string run_selftest(const std::string& name);

}  // namespace emulator
}  // namespace cudnn_lite
