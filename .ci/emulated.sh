#!/usr/bin/env bash
# CI step 2 (called by .ci/run after the README's test command): the CUDA kernels executed.
#
# 1. Builds the emulated CUDA build (CUDNN_LITE_CUDA=EMULATE: csrc/cuda/*.cu compiled by the
#    host compiler and run on the SIMT emulator of csrc/emulator/) into a private folder; the
#    normal install is untouched.
# 2. Runs the CUDA test cases on the emulated device: every test whose id says cuda (the
#    'cuda' device parametrisations, tests/test_cuda_paths.py, ...) and tests/test_emulator.py.
#    Every kernel launch runs twice from the same memory, first under the in-order schedule
#    with the blocks forward, then warp-greedy with the blocks reversed, and fails unless both
#    leave identical bytes in everything its arguments point to (a race shows up as different
#    bits; see CUDNN_LITE_EMU_CHECK_SCHEDULE in csrc/emulator/emulator.h). A skip must say
#    why; more than 2% skipped fails the step.
#
# Environment: EMULATED_DIR (default: a fresh temporary folder, removed at the end; reusing a
# kept one makes the build incremental), EMULATED_KEEP=1 keeps it, EMULATED_PYTEST_ARGS adds
# pytest arguments, CUDNN_LITE_EMU_* override the emulator options.
set -euo pipefail
cd "$(dirname "$0")/.."

start=$(date +%s)
work="${EMULATED_DIR:-$(mktemp -d /tmp/cudnn-lite-emulated.XXXXXX)}"
mkdir -p "$work/logs"
cleanup() { [ "${EMULATED_KEEP:-0}" = 1 ] || rm -rf "$work"; }
trap cleanup EXIT

echo "== emulated CUDA: building (CUDNN_LITE_CUDA=EMULATE) into $work/site"
pip install --no-build-isolation --no-deps --upgrade -q --target "$work/site" . \
  -Cbuild-dir="$work/build" \
  -Ccmake.define.CUDNN_LITE_CUDA=EMULATE
echo "   built in $(( $(date +%s) - start )) s"

export CUDNN_LITE_EMU_SCHEDULE="${CUDNN_LITE_EMU_SCHEDULE:-in-order}"
export CUDNN_LITE_EMU_BLOCK_ORDER="${CUDNN_LITE_EMU_BLOCK_ORDER:-forward}"
export CUDNN_LITE_EMU_CHECK_SCHEDULE="${CUDNN_LITE_EMU_CHECK_SCHEDULE:-warp-greedy}"
(cd "$work" && PYTHONPATH="$work/site" python -c "import cudnn_lite, cudnn_lite._C as c; \
assert cudnn_lite.__file__.startswith('$work/site'), cudnn_lite.__file__; \
assert c.cuda_emulated and c.with_cuda and cudnn_lite.cuda_available(); \
print('  ', cudnn_lite.build_info()['cuda_runtime'], c.emulator_options())")

echo "== emulated CUDA: the CUDA test cases, every launch under two schedules"
t0=$(date +%s)
set +e
PYTHONPATH="$work/site" OMP_NUM_THREADS=2 \
  pytest -q -p no:cacheprovider -rs -k "cuda or emulator" ${EMULATED_PYTEST_ARGS:-} \
    >"$work/logs/tests.log" 2>&1
rc=$?
set -e
grep -E "^(SKIPPED|FAILED|ERROR)" "$work/logs/tests.log" | head -40 || true
tail -1 "$work/logs/tests.log"
if [ $rc -ne 0 ]; then
  echo "emulated: FAILED: the CUDA test cases failed on the emulated device (exit $rc)" >&2
  EMULATED_KEEP=1
  exit $rc
fi
python - "$work/logs/tests.log" <<'EOF'
# at most 2% of the CUDA cases may skip, and each skip must say why
import re, sys
summary = open(sys.argv[1]).read().strip().splitlines()[-1]
count = lambda word: int((re.search(r"(\d+) " + word, summary) or [0, 0])[1])
passed, skipped = count("passed"), count("skipped")
print(f"   {passed} passed, {skipped} skipped ({100.0 * skipped / max(passed + skipped, 1):.1f}%)")
if passed < 2000 or skipped > 0.02 * (passed + skipped):
    sys.exit("emulated: FAILED: expected at least 2,000 CUDA cases passed and at most 2% skipped")
EOF
echo "   ($(( $(date +%s) - t0 )) s)"
echo "== emulated CUDA: OK in $(( $(date +%s) - start )) s"
