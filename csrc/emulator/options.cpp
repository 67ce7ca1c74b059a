// options.cpp: what a launch runs under: the emulator's options as the environment sets them
// (emulator.h lists the variables), the names of schedules and block orders, and the launch
// configurations a GPU accepts.
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include <cuda_runtime.h>

#include "emulator.h"

namespace cudnn_lite {
namespace emulator {

namespace {

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && v[0] != '\0' ? v : nullptr;
}

uint64_t env_number(const char* name, uint64_t fallback) {
  const char* v = env(name);
  if (!v) return fallback;
  char* end = nullptr;
  const unsigned long long n = std::strtoull(v, &end, 10);
  if (end == v || *end != '\0') {
    std::fprintf(stderr, "cudnn_lite emulator: ignoring %s=%s (not a number)\n", name, v);
    return fallback;
  }
  return n;
}

}  // namespace

Options options_from_environment() {
  Options o;
  try {
    if (const char* v = env("CUDNN_LITE_EMU_SCHEDULE")) o.schedule = parse_schedule(v);
    if (const char* v = env("CUDNN_LITE_EMU_BLOCK_ORDER")) o.block_order = parse_block_order(v);
    if (const char* v = env("CUDNN_LITE_EMU_CHECK_SCHEDULE")) {
      if (std::string(v) != "none") {
        o.check = true;
        o.check_schedule = parse_schedule(v);
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cudnn_lite emulator: %s; using the defaults\n", e.what());
  }
  o.seed = env_number("CUDNN_LITE_EMU_SEED", 0);
  o.sms = static_cast<int>(env_number("CUDNN_LITE_EMU_SMS", 2));
  if (o.sms < 1 || o.sms > 1024) o.sms = 2;
  o.stack_bytes = static_cast<size_t>(env_number("CUDNN_LITE_EMU_STACK_KB", 0)) * 1024;
  if (o.stack_bytes != 0 && o.stack_bytes < 16 * 1024) {
    std::fprintf(stderr, "cudnn_lite emulator: CUDNN_LITE_EMU_STACK_KB below 16 ignored\n");
    o.stack_bytes = 0;
  }
  o.memory_bytes = static_cast<size_t>(env_number("CUDNN_LITE_EMU_MEMORY_MB", 8192)) << 20;
  return o;
}

const char* schedule_name(Schedule s) {
  switch (s) {
    case Schedule::in_order: return "in-order";
    case Schedule::reverse: return "reverse";
    case Schedule::warp_greedy: return "warp-greedy";
    case Schedule::random: return "random";
  }
  return "?";
}

const char* block_order_name(BlockOrder o) {
  switch (o) {
    case BlockOrder::forward: return "forward";
    case BlockOrder::reverse: return "reverse";
    case BlockOrder::random: return "random";
  }
  return "?";
}

Schedule parse_schedule(const std::string& s) {
  for (Schedule v : {Schedule::in_order, Schedule::reverse, Schedule::warp_greedy, Schedule::random})
    if (s == schedule_name(v)) return v;
  throw std::invalid_argument("schedule: expected in-order, reverse, warp-greedy or random, got '" +
                              s + "'");
}

BlockOrder parse_block_order(const std::string& s) {
  for (BlockOrder v : {BlockOrder::forward, BlockOrder::reverse, BlockOrder::random})
    if (s == block_order_name(v)) return v;
  throw std::invalid_argument("block order: expected forward, reverse or random, got '" + s + "'");
}

std::string invalid_launch_config(const Launch& l) {
  const uint64_t threads = static_cast<uint64_t>(l.block.x) * l.block.y * l.block.z;
  if (l.block.x == 0 || l.block.y == 0 || l.block.z == 0 || threads > 1024 ||
      l.block.x > 1024 || l.block.y > 1024 || l.block.z > 64)
    return "block " + std::to_string(l.block.x) + "x" + std::to_string(l.block.y) + "x" +
           std::to_string(l.block.z) + " (at most 1024 threads, 1024 x 1024 x 64)";
  if (l.grid.x == 0 || l.grid.y == 0 || l.grid.z == 0 || l.grid.x > 0x7fffffffu ||
      l.grid.y > 65535 || l.grid.z > 65535)
    return "grid " + std::to_string(l.grid.x) + "x" + std::to_string(l.grid.y) + "x" +
           std::to_string(l.grid.z) + " (each dimension at least 1; at most 2^31-1 x 65535 x 65535)";
  return "";
}

}  // namespace emulator
}  // namespace cudnn_lite
