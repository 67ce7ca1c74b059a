// fiber.cpp: stacks and context switches for the emulator's fibers (see fiber.h).
#include "fiber.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <new>

#if defined(__SANITIZE_ADDRESS__)
#define CUDNN_LITE_EMU_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CUDNN_LITE_EMU_ASAN 1
#endif
#endif
#ifdef CUDNN_LITE_EMU_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

namespace cudnn_lite {
namespace emulator {

#ifdef CUDNN_LITE_EMU_ASM_SWITCH

// cl_emu_switch(void** save_sp, void* new_sp): push the callee-saved registers, the x87
// control word and MXCSR, store rsp in *save_sp, load new_sp, pop the same, return there.
// cl_emu_start: where a new fiber "returns" to on its first switch; calls r13(r12).
extern "C" void cl_emu_switch(void** save_sp, void* new_sp);
extern "C" void cl_emu_start();
asm(R"(
  .text
  .p2align 4
  .globl cl_emu_switch
  .hidden cl_emu_switch
  .type cl_emu_switch, @function
cl_emu_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  subq $16, %rsp
  stmxcsr 8(%rsp)
  fnstcw (%rsp)
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  fldcw (%rsp)
  ldmxcsr 8(%rsp)
  addq $16, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size cl_emu_switch, .-cl_emu_switch

  .p2align 4
  .globl cl_emu_start
  .hidden cl_emu_start
  .type cl_emu_start, @function
cl_emu_start:
  .cfi_startproc
  .cfi_undefined rip
  movq %r12, %rdi
  callq *%r13
  ud2
  .cfi_endproc
  .size cl_emu_start, .-cl_emu_start
)");

void context_init(Context* ctx, char* lo, size_t bytes, void (*entry)(void*), void* arg) {
  // The frame cl_emu_switch pops, lowest address first: x87 control word, MXCSR, r15, r14,
  // r13 = entry, r12 = arg, rbx, rbp = 0 (ends frame-pointer walks), return = cl_emu_start.
  // sp = top - 88 leaves rsp 16-byte aligned at cl_emu_start's call, as the ABI wants.
  const uintptr_t top = (reinterpret_cast<uintptr_t>(lo) + bytes) & ~static_cast<uintptr_t>(15);
  uint64_t* sp = reinterpret_cast<uint64_t*>(top - 88);
  std::memset(sp, 0, 88);
  uint16_t fpu_cw;
  uint32_t mxcsr;
  asm volatile("fnstcw %0" : "=m"(fpu_cw));
  asm volatile("stmxcsr %0" : "=m"(mxcsr));
  std::memcpy(&sp[0], &fpu_cw, sizeof fpu_cw);
  std::memcpy(&sp[1], &mxcsr, sizeof mxcsr);
  sp[4] = reinterpret_cast<uint64_t>(entry);
  sp[5] = reinterpret_cast<uint64_t>(arg);
  sp[7] = 0;
  sp[8] = reinterpret_cast<uint64_t>(&cl_emu_start);
  ctx->sp = sp;
}

void context_switch(Context* from, Context* to) { cl_emu_switch(&from->sp, to->sp); }

#else  // ucontext fallback

namespace {
void start_trampoline(unsigned entry_hi, unsigned entry_lo, unsigned arg_hi, unsigned arg_lo) {
  auto entry = reinterpret_cast<void (*)(void*)>((static_cast<uintptr_t>(entry_hi) << 32) | entry_lo);
  auto arg = reinterpret_cast<void*>((static_cast<uintptr_t>(arg_hi) << 32) | arg_lo);
  entry(arg);
  __builtin_trap();  // entry never returns
}
}  // namespace

void context_init(Context* ctx, char* lo, size_t bytes, void (*entry)(void*), void* arg) {
  getcontext(&ctx->uc);
  ctx->uc.uc_stack.ss_sp = lo;
  ctx->uc.uc_stack.ss_size = bytes;
  ctx->uc.uc_link = nullptr;
  const uint64_t e = reinterpret_cast<uintptr_t>(entry), a = reinterpret_cast<uintptr_t>(arg);
  makecontext(&ctx->uc, reinterpret_cast<void (*)()>(&start_trampoline), 4,
              static_cast<unsigned>(e >> 32), static_cast<unsigned>(e),
              static_cast<unsigned>(a >> 32), static_cast<unsigned>(a));
}

void context_switch(Context* from, Context* to) { swapcontext(&from->uc, &to->uc); }

#endif

// ------------------------------------------------------------------ stacks

StackPool::~StackPool() {
  if (base_ != nullptr) munmap(base_, mapped_);
}

void StackPool::reserve(int count, size_t bytes) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  bytes = (bytes + page - 1) / page * page;
  if (base_ != nullptr && static_cast<size_t>(count) <= count_ && bytes <= bytes_) return;
  if (base_ != nullptr) munmap(base_, mapped_);
  base_ = nullptr;
  guard_ = page;
  stride_ = bytes + guard_;
  mapped_ = stride_ * static_cast<size_t>(count);
  void* p = mmap(nullptr, mapped_, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  base_ = static_cast<char*>(p);
  count_ = static_cast<size_t>(count);
  bytes_ = bytes;
  for (size_t i = 0; i < count_; ++i) mprotect(base_ + i * stride_, guard_, PROT_NONE);
}

void StackPool::unpoison(int i) const {
#ifdef CUDNN_LITE_EMU_ASAN
  __asan_unpoison_memory_region(lo(i), bytes_);
#else
  (void)i;
#endif
}

// ------------------------------------------------------------ ASan annotations

void asan_switching_to(void** save, const void* lo, size_t bytes) {
#ifdef CUDNN_LITE_EMU_ASAN
  __sanitizer_start_switch_fiber(save, lo, bytes);
#else
  (void)save;
  (void)lo;
  (void)bytes;
#endif
}

void asan_switched(void* fake, const void** old_lo, size_t* old_bytes) {
#ifdef CUDNN_LITE_EMU_ASAN
  __sanitizer_finish_switch_fiber(fake, old_lo, old_bytes);
#else
  (void)fake;
  (void)old_lo;
  (void)old_bytes;
#endif
}

}  // namespace emulator
}  // namespace cudnn_lite
