#!/usr/bin/env bash
# CI step 2 (called by .ci/run after the README's test command): memory safety.
#
# 1. Builds the emulated CUDA build (CUDNN_LITE_CUDA=EMULATE: the CPU kernels, and the CUDA
#    kernels on the host SIMT emulator) with AddressSanitizer + UndefinedBehaviorSanitizer
#    (CMake option CUDNN_LITE_SANITIZE) into a private folder; the normal install is untouched.
# 2. Runs the op tests (tests/test_ops*.py, bad/hostile inputs, shape fuzzing), on the CPU and
#    on the emulated device, plus tests/test_cuda_paths.py and tests/test_emulator.py, against
#    it with libasan/libubsan preloaded into the (unsanitized) Python; any ASan or UBSan report
#    aborts the process and fails this step. Emulated device memory is host heap memory, so an
#    out-of-bounds access by a CUDA kernel is an ASan report, as compute-sanitizer's memcheck
#    reports it on a GPU; a misaligned float4 access is a UBSan one. The kernels run under the
#    random schedule with the blocks in random order (.ci/emulated.sh has checked every launch
#    under two other schedules already; the check is not repeated here, to keep CI short).
#    Python's own leaks are ignored here (detect_leaks=0).
# 3. Leak check, twice: tests/leak_check.py (1,000 forward/backward calls of every op family)
#    under LeakSanitizer with the sanitized build -- fails on any leak whose stack passes through
#    cudnn_lite._C, or on more than 64 KiB leaked in all (a per-call leak times 1,000 calls) --
#    then the same script on the normal install, failing if the process RSS grows after warm-up.
#
# Environment: SANITIZE_DIR (default: a fresh temporary folder, removed at the end; reusing a
# kept one makes the build incremental), SANITIZE_KEEP=1 keeps it, SANITIZE_PYTEST_ARGS adds
# pytest arguments (e.g. --deselect while a known report is being fixed).
set -euo pipefail
cd "$(dirname "$0")/.."

start=$(date +%s)
work="${SANITIZE_DIR:-$(mktemp -d /tmp/cudnn-lite-sanitize.XXXXXX)}"
mkdir -p "$work/logs"
cleanup() { [ "${SANITIZE_KEEP:-0}" = 1 ] || rm -rf "$work"; }
trap cleanup EXIT

libasan=$(gcc -print-file-name=libasan.so)
libubsan=$(gcc -print-file-name=libubsan.so)
for lib in "$libasan" "$libubsan"; do
  if [ ! -e "$lib" ]; then
    echo "sanitize: $lib not found (gcc's sanitizer runtimes are needed)" >&2
    exit 1
  fi
done

echo "== sanitize: building the ASan+UBSan extension (CPU + emulated CUDA) into $work/site"
# (CUDNN_LITE_SANITIZE compiles at -O1 and without LTO: see CMakeLists.txt)
pip install --no-build-isolation --no-deps --upgrade -q --target "$work/site" . \
  -Cbuild-dir="$work/build" \
  -Ccmake.define.CUDNN_LITE_SANITIZE=ON \
  -Ccmake.define.CUDNN_LITE_CUDA=EMULATE \
  -Ccmake.define.CUDNN_LITE_NATIVE=ON
echo "   built in $(( $(date +%s) - start )) s"

# the sanitized build must be the one imported (run outside the repo: its cudnn_lite/ has no _C)
(cd "$work" && PYTHONPATH="$work/site" LD_PRELOAD="$libasan $libubsan" ASAN_OPTIONS=detect_leaks=0 python -c "import cudnn_lite, cudnn_lite._C as c, sys; \
assert cudnn_lite.__file__.startswith('$work/site'), cudnn_lite.__file__; \
assert c.cuda_emulated" >/dev/null)

reports() {  # reports <log file>: exit 1 if the log holds a sanitizer report
  if grep -qE "runtime error:|ERROR: AddressSanitizer|ERROR: LeakSanitizer|SUMMARY: UndefinedBehaviorSanitizer" "$1"; then
    grep -E -B2 -A25 "runtime error:|ERROR: AddressSanitizer|SUMMARY: UndefinedBehaviorSanitizer" "$1" | head -80 >&2
    return 0
  fi
  return 1
}

OP_TESTS="tests/test_ops*.py tests/test_bad_inputs.py tests/test_hostile_inputs.py tests/test_fuzz_shapes.py"

sanitized_pytest() {  # sanitized_pytest <label> <log> <extra ASAN_OPTIONS> <pytest args...>
  local label=$1 log=$2 asan=$3
  shift 3
  echo "== sanitize: $label under ASan + UBSan"
  local t0 rc
  t0=$(date +%s)
  set +e
  # shellcheck disable=SC2086
  PYTHONPATH="$work/site" LD_PRELOAD="$libasan $libubsan" \
    ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:halt_on_error=1:strict_string_checks=1:$asan \
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    OMP_NUM_THREADS=2 \
    CUDNN_LITE_EMU_SCHEDULE=random CUDNN_LITE_EMU_BLOCK_ORDER=random CUDNN_LITE_EMU_CHECK_SCHEDULE=none \
    pytest -q -s -p no:cacheprovider "$@" ${SANITIZE_PYTEST_ARGS:-} >"$log" 2>&1
  rc=$?
  set -e
  tail -1 "$log"
  if reports "$log"; then
    echo "sanitize: FAILED: a sanitizer report in the $label (full log: $log; SANITIZE_KEEP=1 keeps it)" >&2
    SANITIZE_KEEP=1
    exit 1
  fi
  if [ $rc -ne 0 ]; then
    echo "sanitize: FAILED: the $label failed under the sanitized build (exit $rc)" >&2
    SANITIZE_KEEP=1
    exit $rc
  fi
  echo "   no ASan/UBSan report ($(( $(date +%s) - t0 )) s)"
}

# CPU kernels: with use-after-return detection (a fake frame per call)
# shellcheck disable=SC2086
sanitized_pytest "op tests on the CPU" "$work/logs/tests.log" detect_stack_use_after_return=1 \
  $OP_TESTS -k "not cuda and not emulator"
# CUDA kernels on the emulator: every emulated thread is a fiber, and fake frames on 1,024
# fiber stacks cost 2.5x, so use-after-return detection is off here
# shellcheck disable=SC2086
sanitized_pytest "CUDA cases on the emulated device" "$work/logs/tests-cuda.log" \
  detect_stack_use_after_return=0 \
  $OP_TESTS tests/test_cuda_paths.py tests/test_emulator.py -k "cuda or emulator"

echo "== sanitize: leak check under LeakSanitizer (1,000 calls per op family)"
t0=$(date +%s)
mkdir -p "$work/logs/lsan"
PYTHONPATH="$work/site" PYTHONMALLOC=malloc LD_PRELOAD="$libasan $libubsan" \
  ASAN_OPTIONS=detect_leaks=1:exitcode=0:quarantine_size_mb=0:malloc_context_size=30:log_path="$work/logs/lsan/lsan" \
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  python tests/leak_check.py --max-growth-kb 1000000  # RSS is meaningless under ASan: checked below
python - "$work/logs/lsan" <<'EOF'
# fail on a leak stack through cudnn_lite._C, or on > 64 KiB leaked in all
import glob, re, sys
bad, total = [], 0
for path in glob.glob(sys.argv[1] + "/lsan*"):
    text = open(path, errors="replace").read()
    for block in re.split(r"\n(?=(?:Direct|Indirect) leak of)", text):
        if re.match(r"(Direct|Indirect) leak of", block) and "_C.cpython" in block:
            bad.append(block[:3000])
    total += sum(int(n) for n in re.findall(r"SUMMARY: AddressSanitizer: (\d+) byte\(s\) leaked", text))
print(f"   LeakSanitizer: {total} bytes leaked in all (Python and NumPy start-up), "
      f"{len(bad)} leak(s) through cudnn_lite._C")
if bad:
    print("\n\n".join(bad), file=sys.stderr)
if bad or total > 64 * 1024:
    print("sanitize: FAILED: a leak (see above)", file=sys.stderr)
    sys.exit(1)
EOF
echo "   ($(( $(date +%s) - t0 )) s)"

echo "== sanitize: leak check on the normal install (process RSS after warm-up)"
python tests/leak_check.py

echo "== sanitize: OK in $(( $(date +%s) - start )) s"
