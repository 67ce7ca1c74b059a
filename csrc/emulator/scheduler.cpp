// scheduler.cpp: runs a kernel launch on the host, as a GPU would run it, minus the speed.
//
//   grid   the blocks run one after another on the calling OS thread, in the configured
//          block order (forward, reverse, random)
//   block  its threads are fibers (fiber.h), each running the kernel body until its next
//          __syncthreads, warp collective or return; the schedule picks which ready thread
//          runs next:
//            in-order     round-robin from thread 0 (each barrier phase starts at 0)
//            reverse      round-robin from the last thread down
//            warp-greedy  the current warp keeps running until all its lanes wait at a
//                         barrier or have exited; only then the next warp starts (exposes a
//                         shared buffer reused without a barrier, which a lock-step order hides)
//            random       a seeded uniform choice among the ready threads
//   warp   lanes 32 * w .. 32 * w + 31 of the linear thread index; a collective completes
//          when the 32nd lane arrives, and each lane resumes with its result
//
// Undefined behaviour fails the launch with cudaErrorLaunchFailure (a fault in device code
// with its own code) and a message naming the kernel, block and thread:
//   a barrier reached by some threads while the others have exited, or threads waiting at
//   different __syncthreads; a deadlock (nothing can run: lanes in a collective waiting for
//   lanes at a barrier); a collective with a partial mask, in a partial warp, with an exited
//   lane, or with lanes calling different collectives; a bad width.
// An invalid configuration (block over 1,024 threads or its dimension limits, a zero or
// oversized grid dimension) is cudaErrorInvalidConfiguration, and nothing runs.
//
// With a check schedule (emulator.h) each launch runs twice from the same memory, the second
// time under the other schedule and the opposite block order, and every byte of every
// allocation the kernel's arguments point into must come out the same: a data race between
// two barriers shows up as different bits (schedule_check.cpp). The options and the launch
// configuration check are in options.cpp.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include <cuda_runtime.h>

#include "emulator.h"
#include "fiber.h"

namespace cudnn_lite {
namespace emulator {

const uint3* current_thread_idx = nullptr;
uint3 block_idx{0, 0, 0}, block_dim{1, 1, 1}, grid_dim{1, 1, 1};

namespace {

constexpr int kWarp = 32;
constexpr int kMaxThreads = 1024;
constexpr unsigned kFullMask = 0xffffffffu;

enum class State : uint8_t { ready, barrier, collective, exited };

struct Thread {
  Context ctx;
  uint3 tid;
  int index = 0;  // x + y * bx + z * bx * by
  State state = State::ready;
  bool started = false;
  const char* bar_file = nullptr;  // where it waits at a barrier
  int bar_line = 0;
  Collective op = Collective::any;  // the collective it waits in
  unsigned mask = 0;
  int b = 0, width = 0, bytes = 0;
  uint64_t payload = 0, result = 0;
  void* fake_stack = nullptr;  // AddressSanitizer's, while switched out
};

struct Warp {
  int arrived = 0;  // lanes waiting in the current collective
  int exited = 0;
  int lanes = 0;    // lanes that exist (< 32 in a partial last warp)
};

uint64_t splitmix64(uint64_t& s) {
  uint64_t z = (s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

const char* collective_name(Collective op) {
  switch (op) {
    case Collective::shfl_idx: return "__shfl_sync";
    case Collective::shfl_up: return "__shfl_up_sync";
    case Collective::shfl_down: return "__shfl_down_sync";
    case Collective::shfl_xor: return "__shfl_xor_sync";
    case Collective::any: return "__any_sync";
    case Collective::all: return "__all_sync";
    case Collective::ballot: return "__ballot_sync";
  }
  return "collective";
}

std::string dim_str(const uint3& d) {
  return "(" + std::to_string(d.x) + "," + std::to_string(d.y) + "," + std::to_string(d.z) + ")";
}

// ------------------------------------------------------------------ the engine

struct Engine {
  std::mutex launch_mutex;  // one launch at a time: static __shared__ has one copy
  Options opts;
  bool configured = false;
  Stats counters;

  // the launch and block in flight
  const Launch* launch = nullptr;
  Schedule schedule = Schedule::in_order;
  std::vector<Thread> threads;
  std::vector<Warp> warps;
  int nthreads = 0;
  int exited = 0, at_barrier = 0;
  int last = -1;  // the thread picked last (-1: start of a phase)
  std::vector<int> ready_pool;  // the random schedule's ready threads
  uint64_t rng = 0;
  Thread* running = nullptr;
  bool aborting = false;
  int error = 0;  // cudaError_t of the first failure in this launch
  std::string error_text;

  StackPool stacks;
  Context scheduler_ctx;
  void* scheduler_fake_stack = nullptr;
  const void* scheduler_stack_lo = nullptr;  // the OS thread's stack, as ASan reports it
  size_t scheduler_stack_bytes = 0;

  void load_options_once();
  void run_launch(const Launch& l);
  bool run_grid_once(const Launch& l, Schedule s, BlockOrder order, uint64_t seed);
  bool run_block(const Launch& l, uint64_t linear_block);
  int pick();
  void make_ready(Thread& t);
  void switch_in(Thread& t);
  void fail(int err, const std::string& what, const Thread* t);
  void abort_block();
  bool resolve_stall();
  void complete_collective(int warp);
};

Engine& engine() {
  static Engine* e = new Engine();  // never destroyed: no teardown order at exit
  return *e;
}

// ---------------------------------------------------------------- the fibers

[[noreturn]] void leave_for_good(Thread& t);

// Switch from the running thread back to the scheduler; returns when it is resumed.
void leave(Thread& t) {
  Engine& E = engine();
  asan_switching_to(&t.fake_stack, E.scheduler_stack_lo, E.scheduler_stack_bytes);
  context_switch(&t.ctx, &E.scheduler_ctx);
  asan_switched(t.fake_stack, &E.scheduler_stack_lo, &E.scheduler_stack_bytes);
  if (E.aborting) leave_for_good(t);
}

void leave_for_good(Thread& t) {
  Engine& E = engine();
  if (t.state != State::exited) {
    t.state = State::exited;
    ++E.exited;
  }
  asan_switching_to(nullptr, E.scheduler_stack_lo, E.scheduler_stack_bytes);
  context_switch(&t.ctx, &E.scheduler_ctx);
  std::fprintf(stderr, "cudnn_lite emulator: a finished fiber was resumed\n");
  std::abort();
}

void thread_main(void* arg) {
  Engine& E = engine();
  Thread& t = *static_cast<Thread*>(arg);
  asan_switched(nullptr, &E.scheduler_stack_lo, &E.scheduler_stack_bytes);
  if (!E.aborting) E.launch->body(E.launch->closure);
  // the kernel returned: a lane leaving a warp whose other lanes wait in a collective is UB
  const int w = t.index / kWarp;
  ++E.warps[w].exited;
  if (!E.aborting && E.warps[w].arrived > 0) {
    E.fail(cudaErrorLaunchFailure,
           "thread exited while " + std::to_string(E.warps[w].arrived) + " lane(s) of warp " +
               std::to_string(w) + " wait in a warp collective for it",
           &t);
  }
  leave_for_good(t);
}

// ---------------------------------------------------------------- the scheduler

void Engine::make_ready(Thread& t) {
  t.state = State::ready;
  if (schedule == Schedule::random) ready_pool.push_back(t.index);
}

int Engine::pick() {
  const int n = nthreads;
  switch (schedule) {
    case Schedule::in_order:
      for (int k = 1; k <= n; ++k) {
        const int j = (last + k) % n;
        if (threads[j].state == State::ready) return j;
      }
      return -1;
    case Schedule::reverse:
      for (int k = 1; k <= n; ++k) {
        const int j = ((last < 0 ? n : last) - k + 2 * n) % n;
        if (threads[j].state == State::ready) return j;
      }
      return -1;
    case Schedule::warp_greedy: {
      const int nwarps = static_cast<int>(warps.size());
      const int first = last < 0 ? 0 : last / kWarp;
      for (int k = 0; k < nwarps; ++k) {
        const int w = (first + k) % nwarps;
        for (int lane = 0; lane < warps[w].lanes; ++lane)
          if (threads[w * kWarp + lane].state == State::ready) return w * kWarp + lane;
      }
      return -1;
    }
    case Schedule::random: {
      if (ready_pool.empty()) return -1;
      const size_t i = splitmix64(rng) % ready_pool.size();
      const int j = ready_pool[i];
      ready_pool[i] = ready_pool.back();
      ready_pool.pop_back();
      return j;
    }
  }
  return -1;
}

void Engine::switch_in(Thread& t) {
  running = &t;
  current_thread_idx = &t.tid;
  t.started = true;
  ++counters.switches;
  asan_switching_to(&scheduler_fake_stack, stacks.lo(t.index), stacks.bytes());
  context_switch(&scheduler_ctx, &t.ctx);
  asan_switched(scheduler_fake_stack, nullptr, nullptr);
  running = nullptr;
}

void Engine::fail(int err, const std::string& what, const Thread* t) {
  if (error != 0) return;  // the first failure is the one reported
  error = err;
  error_text = "emulator: " + what + " [kernel " + (launch ? launch->name : "?") + ", block " +
               dim_str(block_idx) + (t ? ", thread " + dim_str(t->tid) : std::string()) + "]";
}

// Ends the block after a failure: every started thread is resumed once and leaves at once
// (so AddressSanitizer releases its fake stack); threads never started are just marked.
void Engine::abort_block() {
  aborting = true;
  for (Thread& t : threads) {
    if (static_cast<int>(&t - threads.data()) >= nthreads) break;
    if (t.state == State::exited) continue;
    if (t.started) {
      switch_in(t);
    } else {
      t.state = State::exited;
      ++exited;
    }
  }
  aborting = false;
}

// Nothing is ready: release a barrier, or diagnose the stall. False when the block failed.
bool Engine::resolve_stall() {
  for (size_t w = 0; w < warps.size(); ++w) {
    if (warps[w].arrived == 0) continue;
    // a warp waits in a collective that can never complete
    std::string where;
    for (int i = 0; i < nthreads; ++i)
      if (threads[i].state == State::barrier) {
        where = " while thread " + dim_str(threads[i].tid) + " waits at __syncthreads (" +
                threads[i].bar_file + ":" + std::to_string(threads[i].bar_line) + ")";
        break;
      }
    const Thread& first = threads[w * kWarp];
    fail(cudaErrorLaunchFailure,
         "deadlock: " + std::to_string(warps[w].arrived) + " lane(s) of warp " +
             std::to_string(w) + " wait in a warp collective" + where,
         &first);
    return false;
  }
  if (at_barrier == 0) return true;  // everybody has exited: the block is done
  if (exited > 0) {
    const Thread* gone = nullptr;
    for (int i = 0; i < nthreads && !gone; ++i)
      if (threads[i].state == State::exited) gone = &threads[i];
    const Thread* waiting = nullptr;
    for (int i = 0; i < nthreads && !waiting; ++i)
      if (threads[i].state == State::barrier) waiting = &threads[i];
    fail(cudaErrorLaunchFailure,
         "__syncthreads (" + std::string(waiting->bar_file) + ":" +
             std::to_string(waiting->bar_line) + ") reached by " + std::to_string(at_barrier) +
             " of " + std::to_string(nthreads) + " threads; the others have exited (e.g. thread " +
             dim_str(gone->tid) + ")",
         waiting);
    return false;
  }
  const Thread& a = threads[0];
  for (int i = 1; i < nthreads; ++i) {
    const Thread& b = threads[i];
    if (b.bar_line != a.bar_line || std::strcmp(b.bar_file, a.bar_file) != 0) {
      fail(cudaErrorLaunchFailure,
           "threads wait at different __syncthreads: thread " + dim_str(a.tid) + " at " +
               a.bar_file + ":" + std::to_string(a.bar_line) + ", thread " + dim_str(b.tid) +
               " at " + b.bar_file + ":" + std::to_string(b.bar_line),
           &b);
      return false;
    }
  }
  at_barrier = 0;
  last = -1;  // a new phase starts from the schedule's first thread
  for (int i = 0; i < nthreads; ++i) make_ready(threads[i]);
  return true;
}

void Engine::complete_collective(int w) {
  Thread* lane = &threads[w * kWarp];
  const Thread& first = lane[0];
  uint64_t vote = 0;
  if (first.op == Collective::any || first.op == Collective::all ||
      first.op == Collective::ballot) {
    unsigned ballot = 0;
    for (int l = 0; l < kWarp; ++l)
      if (lane[l].payload) ballot |= 1u << l;
    vote = first.op == Collective::ballot ? ballot
           : first.op == Collective::any  ? (ballot != 0)
                                          : (ballot == kFullMask);
  }
  for (int l = 0; l < kWarp; ++l) {
    Thread& t = lane[l];
    if (first.op == Collective::any || first.op == Collective::all ||
        first.op == Collective::ballot) {
      t.result = vote;
    } else {
      // PTX shfl.sync: segments of `width` lanes; a source outside the lane's segment (or
      // beyond its end) returns the lane's own value
      const int seg_mask = ~(t.width - 1) & (kWarp - 1);  // bits that select the segment
      const int max_lane = (l & seg_mask) | (~seg_mask & (kWarp - 1));
      const int min_lane = l & seg_mask;
      const int b = t.b & (kWarp - 1);  // PTX reads the lane operand's low 5 bits
      int src = l;
      bool ok = false;
      switch (t.op) {
        case Collective::shfl_up: src = l - b; ok = src >= min_lane; break;
        case Collective::shfl_down: src = l + b; ok = src <= max_lane; break;
        case Collective::shfl_xor: src = l ^ b; ok = src <= max_lane; break;
        case Collective::shfl_idx:
          src = min_lane | (b & ~seg_mask);
          ok = src <= max_lane;
          break;
        default: break;
      }
      t.result = ok ? lane[src].payload : t.payload;
    }
  }
  warps[w].arrived = 0;
  for (int l = 0; l < kWarp; ++l) make_ready(lane[l]);
}

bool Engine::run_block(const Launch& l, uint64_t linear_block) {
  block_idx.x = static_cast<unsigned>(linear_block % l.grid.x);
  block_idx.y = static_cast<unsigned>((linear_block / l.grid.x) % l.grid.y);
  block_idx.z = static_cast<unsigned>(linear_block / (static_cast<uint64_t>(l.grid.x) * l.grid.y));
  exited = at_barrier = 0;
  last = -1;
  ready_pool.clear();
  for (int w = 0; w < static_cast<int>(warps.size()); ++w) {
    warps[w].arrived = warps[w].exited = 0;
    warps[w].lanes = std::min(kWarp, nthreads - w * kWarp);
  }
  for (int i = 0; i < nthreads; ++i) {
    Thread& t = threads[i];
    t.index = i;
    t.tid.x = static_cast<unsigned>(i % l.block.x);
    t.tid.y = static_cast<unsigned>((i / l.block.x) % l.block.y);
    t.tid.z = static_cast<unsigned>(i / (l.block.x * l.block.y));
    t.started = false;
    t.fake_stack = nullptr;
    stacks.unpoison(i);
    context_init(&t.ctx, stacks.lo(i), stacks.bytes(), &thread_main, &t);
    make_ready(t);
  }
  ++counters.blocks;
  counters.threads += static_cast<uint64_t>(nthreads);
  for (;;) {
    const int i = pick();
    if (i < 0) {
      if (exited == nthreads) return true;
      if (!resolve_stall()) {
        abort_block();
        return false;
      }
      continue;
    }
    last = i;
    switch_in(threads[i]);
    if (error != 0) {
      abort_block();
      return false;
    }
  }
}

bool Engine::run_grid_once(const Launch& l, Schedule s, BlockOrder order, uint64_t seed) {
  schedule = s;
  rng = seed;
  const uint64_t nblocks = static_cast<uint64_t>(l.grid.x) * l.grid.y * l.grid.z;
  std::vector<uint64_t> perm;
  if (order == BlockOrder::random) {
    perm.resize(nblocks);
    for (uint64_t i = 0; i < nblocks; ++i) perm[i] = i;
    uint64_t r = seed ^ 0x5bd1e995ull;
    for (uint64_t i = nblocks; i > 1; --i) std::swap(perm[i - 1], perm[splitmix64(r) % i]);
  }
  for (uint64_t k = 0; k < nblocks; ++k) {
    const uint64_t b = order == BlockOrder::forward   ? k
                       : order == BlockOrder::reverse ? nblocks - 1 - k
                                                      : perm[k];
    if (!run_block(l, b)) return false;
  }
  return true;
}

void Engine::run_launch(const Launch& l) {
  launch = &l;
  error = 0;
  error_text.clear();
  ++counters.launches;
  const uint64_t launch_seed = opts.seed * 0x9e3779b97f4a7c15ull + counters.launches;

  const std::string bad = invalid_launch_config(l);
  if (!bad.empty()) {
    set_failure(cudaErrorInvalidConfiguration,
                std::string("emulator: invalid launch configuration of ") + l.name + ": " + bad);
    return;
  }
  if (l.shared_bytes != 0) {
    set_failure(cudaErrorInvalidValue, std::string("emulator: ") + l.name + " asks for " +
                                           std::to_string(l.shared_bytes) +
                                           " bytes of dynamic shared memory; the emulator "
                                           "supports static __shared__ only");
    return;
  }
  if (!valid_stream(l.stream)) {
    set_failure(cudaErrorInvalidResourceHandle,
                std::string("emulator: ") + l.name + " launched on an unknown stream");
    return;
  }
  nthreads = static_cast<int>(l.block.x * l.block.y * l.block.z);
  if (threads.size() < static_cast<size_t>(kMaxThreads)) threads.resize(kMaxThreads);
  warps.assign(static_cast<size_t>((nthreads + kWarp - 1) / kWarp), Warp{});
  block_dim = uint3{l.block.x, l.block.y, l.block.z};
  grid_dim = uint3{l.grid.x, l.grid.y, l.grid.z};

  uint64_t seed_a = launch_seed, seed_b = launch_seed ^ 0xa5a5a5a5a5a5a5a5ull;
  if (!opts.check) {
    if (!run_grid_once(l, opts.schedule, opts.block_order, seed_a)) {
      ++counters.failures;
      set_failure(error, error_text);
    }
    return;
  }
  // the schedule check: same memory in, same bytes out, under two schedules
  ++counters.checked_launches;
  std::string difference;
  const bool ran = run_schedule_check(
      l, opts, seed_a, seed_b,
      [this, &l](Schedule s, BlockOrder o, uint64_t seed) { return run_grid_once(l, s, o, seed); },
      &difference);
  if (!ran || !difference.empty()) {
    ++counters.failures;
    if (ran) set_failure(cudaErrorLaunchFailure, difference);
    else set_failure(error, error_text);
  }
}

}  // namespace

// ------------------------------------------------------------- the interface

void run_grid(const Launch& l) {
  Engine& E = engine();
  std::lock_guard<std::mutex> lock(E.launch_mutex);
  E.load_options_once();
  clear_failure();
  size_t stack = E.opts.stack_bytes;
  if (stack == 0) {
#if defined(__SANITIZE_ADDRESS__)
    stack = 256 * 1024;
#else
    stack = 64 * 1024;
#endif
  }
  E.stacks.reserve(kMaxThreads, stack);
  const Launch* outer = E.launch;
  E.run_launch(l);
  E.launch = outer;
  current_thread_idx = nullptr;
}

void fault(cudaError_t err, const char* what) {
  Engine& E = engine();
  if (E.running == nullptr) {
    std::fprintf(stderr, "cudnn_lite emulator: device code faulted outside a launch: %s\n", what);
    std::abort();
  }
  Thread& t = *E.running;
  E.fail(err, what, &t);
  ++E.warps[t.index / kWarp].exited;
  leave_for_good(t);
}

void sync_block(const char* file, int line) {
  Engine& E = engine();
  Thread& t = *E.running;
  t.state = State::barrier;
  t.bar_file = file;
  t.bar_line = line;
  ++E.at_barrier;
  leave(t);
}

uint64_t warp_collective(Collective op, unsigned mask, uint64_t payload, int b, int width,
                         int bytes) {
  Engine& E = engine();
  Thread& t = *E.running;
  const int w = t.index / kWarp;
  Warp& warp = E.warps[w];
  // (messages go into a local buffer: fault() never returns, so no destructor would run)
  char msg[256];
  if (mask != kFullMask) {
    std::snprintf(msg, sizeof msg, "%s with mask 0x%08x: the emulator supports full-warp masks only",
                  collective_name(op), mask);
    fault(cudaErrorLaunchFailure, msg);
  }
  if (width < 1 || width > kWarp || (width & (width - 1)) != 0) {
    std::snprintf(msg, sizeof msg, "%s with width %d (a power of 2 up to 32)", collective_name(op),
                  width);
    fault(cudaErrorLaunchFailure, msg);
  }
  if (warp.lanes < kWarp) {
    std::snprintf(msg, sizeof msg, "%s in a partial warp: warp %d has %d lanes, the full mask names 32",
                  collective_name(op), w, warp.lanes);
    fault(cudaErrorLaunchFailure, msg);
  }
  if (warp.exited > 0) {
    std::snprintf(msg, sizeof msg, "%s: %d lane(s) of warp %d named by the mask have exited",
                  collective_name(op), warp.exited, w);
    fault(cudaErrorLaunchFailure, msg);
  }
  t.op = op;
  t.mask = mask;
  t.b = b;
  t.width = width;
  t.bytes = bytes;
  t.payload = payload;
  if (warp.arrived > 0) {
    // the lanes already waiting must be in the same collective
    const Thread* other = nullptr;
    for (int l = 0; l < kWarp && !other; ++l) {
      const Thread& o = E.threads[w * kWarp + l];
      if (o.state == State::collective) other = &o;
    }
    if (other->op != op || other->width != width || other->bytes != bytes) {
      std::snprintf(msg, sizeof msg,
                    "lanes of warp %d diverge: %s (width %d, %d bytes) while thread (%u,%u,%u) "
                    "waits in %s (width %d, %d bytes)",
                    w, collective_name(op), width, bytes, other->tid.x, other->tid.y, other->tid.z,
                    collective_name(other->op), other->width, other->bytes);
      fault(cudaErrorLaunchFailure, msg);
    }
  }
  t.state = State::collective;
  if (++warp.arrived == kWarp) E.complete_collective(w);
  leave(t);
  return t.result;
}

// ------------------------------------------------------------------ options

void Engine::load_options_once() {
  if (configured) return;
  configured = true;
  opts = options_from_environment();
}

Options options() {
  Engine& E = engine();
  std::lock_guard<std::mutex> lock(E.launch_mutex);
  E.load_options_once();
  return E.opts;
}

void configure(const Options& o) {
  if (o.sms < 1 || o.sms > 1024) throw std::invalid_argument("sms: expected 1..1024");
  if (o.stack_bytes != 0 && o.stack_bytes < 16 * 1024)
    throw std::invalid_argument("stack_bytes: expected at least 16 KiB");
  Engine& E = engine();
  std::lock_guard<std::mutex> lock(E.launch_mutex);
  E.load_options_once();
  E.opts = o;
}

Stats stats() {
  Engine& E = engine();
  std::lock_guard<std::mutex> lock(E.launch_mutex);
  return E.counters;
}

}  // namespace emulator
}  // namespace cudnn_lite
