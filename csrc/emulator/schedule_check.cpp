// schedule_check.cpp: the schedule check (CUDNN_LITE_EMU_CHECK_SCHEDULE): a launch runs twice
// from the same memory, the second time under the check schedule and the opposite block order,
// and every byte of every allocation its arguments point into must come out the same; a data
// race between two barriers shows up as different bits.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <cuda_runtime.h>

#include "emulator.h"

namespace cudnn_lite {
namespace emulator {

namespace {

BlockOrder opposite(BlockOrder o) {
  return o == BlockOrder::forward ? BlockOrder::reverse
         : o == BlockOrder::reverse ? BlockOrder::forward
                                    : BlockOrder::random;
}

}  // namespace

bool run_schedule_check(const Launch& l, const Options& o, uint64_t seed_a, uint64_t seed_b,
                        const std::function<bool(Schedule, BlockOrder, uint64_t)>& run_once,
                        std::string* difference) {
  difference->clear();
  const std::vector<Range> regions = allocations_pointed_to(l.args, l.args_bytes);
  std::vector<std::vector<char>> before(regions.size()), first(regions.size());
  for (size_t i = 0; i < regions.size(); ++i)
    before[i].assign(regions[i].begin, regions[i].begin + regions[i].bytes);
  if (!run_once(o.schedule, o.block_order, seed_a)) return false;
  for (size_t i = 0; i < regions.size(); ++i) {
    first[i].assign(regions[i].begin, regions[i].begin + regions[i].bytes);
    std::memcpy(regions[i].begin, before[i].data(), regions[i].bytes);
  }
  if (!run_once(o.check_schedule, opposite(o.block_order), seed_b)) return false;
  for (size_t i = 0; i < regions.size(); ++i) {
    if (std::memcmp(first[i].data(), regions[i].begin, regions[i].bytes) == 0) continue;
    size_t at = 0;
    while (first[i][at] == regions[i].begin[at]) ++at;
    const size_t word = at / 4 * 4;
    uint32_t a = 0, b = 0;
    std::memcpy(&a, first[i].data() + word, std::min<size_t>(4, regions[i].bytes - word));
    std::memcpy(&b, regions[i].begin + word, std::min<size_t>(4, regions[i].bytes - word));
    char hex[64];
    std::snprintf(hex, sizeof hex, "0x%08x vs 0x%08x", a, b);
    *difference = std::string("emulator: schedule check failed, a data race? ") + l.name +
                  " wrote different bytes under schedules " + schedule_name(o.schedule) + "/" +
                  block_order_name(o.block_order) + " and " + schedule_name(o.check_schedule) +
                  "/" + block_order_name(opposite(o.block_order)) + ": allocation of " +
                  std::to_string(regions[i].bytes) + " bytes, first difference at byte " +
                  std::to_string(at) + " (32-bit word " + std::to_string(word / 4) + ": " + hex +
                  ")";
    return true;
  }
  return true;
}

}  // namespace emulator
}  // namespace cudnn_lite
