// fiber.h: the execution contexts the emulator runs CUDA threads on: a stack each, and a
// switch that saves the callee-saved state of one context and resumes another.
//   x86-64 System V: a short assembly switch (fiber.cpp), about 4x faster than
//   ucontext's swapcontext, which makes a sigprocmask syscall per switch;
//   other targets: swapcontext.
// A fiber only ever runs on the OS thread that created it (compilers cache the addresses of
// thread-local variables across calls, so a fiber must never migrate).
// Under AddressSanitizer every switch is announced (__sanitizer_{start,finish}_switch_fiber)
// and a stack is unpoisoned before it is reused, so ASan follows the fibers.
#pragma once

#include <cstddef>

// (define CUDNN_LITE_EMU_UCONTEXT to use the fallback on x86-64 too, e.g. to test it)
#if defined(__x86_64__) && defined(__linux__) && !defined(CUDNN_LITE_EMU_UCONTEXT)
#define CUDNN_LITE_EMU_ASM_SWITCH 1
#else
#include <ucontext.h>
#endif

namespace cudnn_lite {
namespace emulator {

struct Context {
#ifdef CUDNN_LITE_EMU_ASM_SWITCH
  void* sp = nullptr;  // the saved stack pointer; the registers are on that stack
#else
  ucontext_t uc;
#endif
};

// Prepare `ctx` to call entry(arg) on the stack [lo, lo + bytes) when first switched to.
// entry must never return: it switches away for good instead.
void context_init(Context* ctx, char* lo, size_t bytes, void (*entry)(void*), void* arg);

// Save the running context into `from` and continue in `to`.
void context_switch(Context* from, Context* to);

// `count` stacks of `bytes` each (page-rounded), reserved once, committed on first touch,
// with an inaccessible guard page below each so that an overflow faults instead of
// overwriting the neighbour.
class StackPool {
 public:
  StackPool() = default;
  StackPool(const StackPool&) = delete;
  StackPool& operator=(const StackPool&) = delete;
  ~StackPool();
  void reserve(int count, size_t bytes);  // no-op when already at least that large
  char* lo(int i) const { return base_ + static_cast<size_t>(i) * stride_ + guard_; }
  size_t bytes() const { return bytes_; }
  // a stack about to carry a new fiber: clears AddressSanitizer's poisoning left on it
  void unpoison(int i) const;

 private:
  char* base_ = nullptr;
  size_t count_ = 0, bytes_ = 0, guard_ = 0, stride_ = 0, mapped_ = 0;
};

// AddressSanitizer's fiber annotations (no-ops in other builds).
//   switching_to(save, lo, bytes): about to switch to the stack [lo, lo + bytes); `save`
//     receives this context's fake stack (nullptr: this context is finished for good)
//   switched(fake, &old_lo, &old_bytes): just arrived; `fake` is what this context saved
//     when it left (nullptr on its first entry); reports the stack we came from
void asan_switching_to(void** save, const void* lo, size_t bytes);
void asan_switched(void* fake, const void** old_lo, size_t* old_bytes);

}  // namespace emulator
}  // namespace cudnn_lite
