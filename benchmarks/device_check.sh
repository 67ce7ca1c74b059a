#!/usr/bin/env bash
# device_check.sh: the one-shot verification of the CUDA path on a GPU machine (H100/H200, no
# internet), in under 8 minutes. Run from anywhere; everything is logged to $OUT (default
# benchmarks/results/device), one log per step, and summarised in $OUT/summary.md.
#
#   OUT=/some/dir CUDNN_LITE_COMMIT=<hash> bash benchmarks/device_check.sh
#
# Steps (each with a timeout, each continues after a failure; exit status 1 if any failed):
#   env        nvidia-smi, nvcc --version, python / torch / cupy / cudnn_lite-to-be versions
#   build      pip install --no-build-isolation --no-deps . with CUDNN_LITE_CUDA=ON, sm_90 ONLY
#              (CMAKE_CUDA_ARCHITECTURES=90: H100 and H200 are sm_90; halves the nvcc time)
#   tests      pytest tests/test_ops*.py tests/test_cuda_paths.py tests/test_bad_inputs.py
#   simple     the op tests' CUDA cases again with CUDNN_LITE_CUDA_SIMPLE=1 (the *_kernel1 kernels)
#   nccl       benchmarks/nccl_smoke.py: cudnn_lite.distribute's NCCL engine on 1 rank (allreduce,
#              bcast, 4 data-parallel steps of mnist_cnn vs a plain fit)
#   memcheck   compute-sanitizer --tool memcheck  over pytest tests/test_cuda_paths.py -k small
#   racecheck  compute-sanitizer --tool racecheck over the same subset
#   bench      python benchmarks/bench_cuda.py (ops vs cuDNN / cuBLAS)
#   train      python benchmarks/bench_cuda.py --train-only (mnist_cnn, cifar10_improved epochs vs PyTorch)
# A global deadline (DEADLINE_S, default 465 s) caps every step's timeout so the whole run ends in
# time; a step with under 20 s left is skipped and recorded as SKIPPED (counts as a failure).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
OUT="${OUT:-$ROOT/benchmarks/results/device}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
DEADLINE_S="${DEADLINE_S:-465}"
PYTHON="${PYTHON:-python}"
export PATH="/usr/local/cuda/bin:$PATH"
export PIP_BREAK_SYSTEM_PACKAGES=1 PIP_NO_INPUT=1 PIP_DISABLE_PIP_VERSION_CHECK=1
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc 2>/dev/null || echo 8)}"
export NVIDIA_TF32_OVERRIDE=0
export PYTHONUNBUFFERED=1
unset CUDNN_LITE_CUDA_SIMPLE || true
# steps to run (a space-separated subset, for reruns): STEPS="tests bench" bash benchmarks/device_check.sh
STEPS="${STEPS:-env build tests simple nccl memcheck racecheck bench train}"

START=$(date +%s)
RESULTS="$OUT/steps.tsv"
: > "$RESULTS"
rm -f "$OUT"/*.note
echo "device_check started $(date -u +%FT%TZ) in $ROOT, logs in $OUT, deadline ${DEADLINE_S}s" | tee "$OUT/device_check.log"

log() { echo "[$(date -u +%T) +$(( $(date +%s) - START ))s] $*" | tee -a "$OUT/device_check.log"; }

# run_step NAME CAP_SECONDS COMMAND...: runs COMMAND under `timeout`, output to $OUT/NAME.log;
# records name, status, seconds and the note the step leaves in $OUT/NAME.note (if any)
run_step() {
  local name="$1" cap="$2"; shift 2
  case " $STEPS " in *" $name "*) ;; *) return 0 ;; esac
  local left=$(( DEADLINE_S - ( $(date +%s) - START ) ))
  local limit=$(( cap < left - 5 ? cap : left - 5 ))
  if (( limit < 20 )); then
    log "SKIP  $name (only ${left}s left before the deadline)"
    printf '%s\tSKIPPED\t0\tno time left\n' "$name" >> "$RESULTS"
    return 0
  fi
  log "START $name (timeout ${limit}s): $*"
  local t0 rc=0
  t0=$(date +%s)
  timeout --signal=TERM --kill-after=10 "$limit" "$@" > "$OUT/$name.log" 2>&1 || rc=$?
  local dt=$(( $(date +%s) - t0 )) status=PASS
  if (( rc == 124 || rc == 137 )); then status=TIMEOUT; elif (( rc != 0 )); then status=FAIL; fi
  local note=""
  [[ -f "$OUT/$name.note" ]] && note="$(tr '\n\t' '  ' < "$OUT/$name.note")"
  printf '%s\t%s\t%s\t%s\n' "$name" "$status" "$dt" "${note:-rc=$rc}" >> "$RESULTS"
  log "END   $name: $status (rc=$rc, ${dt}s) ${note}"
  tail -n 5 "$OUT/$name.log" | sed 's/^/    | /' | tee -a "$OUT/device_check.log"
}

step_env() {
  set +e
  echo "== nvidia-smi"; nvidia-smi
  echo "== nvcc"; nvcc --version
  echo "== compute-sanitizer"; command -v compute-sanitizer || echo "not found"
  echo "== python"; "$PYTHON" --version; command -v pytest
  "$PYTHON" - <<'EOF'
import importlib
for m in ("numpy", "torch", "cupy", "pybind11", "scikit_build_core", "pytest", "hypothesis", "cmake", "ninja"):
    try:
        mod = importlib.import_module(m)
        print(f"{m:18} {getattr(mod, '__version__', '?')}")
    except Exception as exc:
        print(f"{m:18} MISSING ({type(exc).__name__}: {exc})")
try:
    import torch
    print("torch cuda", torch.version.cuda, "cudnn", torch.backends.cudnn.version(),
          "device", torch.cuda.get_device_name(0) if torch.cuda.is_available() else None)
    import cupy
    print("cupy runtime", cupy.cuda.runtime.runtimeGetVersion(), "driver", cupy.cuda.runtime.driverGetVersion())
except Exception as exc:
    print("torch/cupy probe failed:", exc)
EOF
  echo "== commit"; git -C "$ROOT" rev-parse HEAD 2>/dev/null || echo "${CUDNN_LITE_COMMIT:-unknown (no .git; set CUDNN_LITE_COMMIT)}"
  return 0
}

step_build() {
  set -e
  "$PYTHON" -m pip install --no-build-isolation --no-deps -v . \
    -Ccmake.define.CUDNN_LITE_CUDA=ON -Ccmake.define.CMAKE_CUDA_ARCHITECTURES=90 -Cbuild-dir=/tmp/cl-build
  cd /tmp && "$PYTHON" -c "import cudnn_lite as cl; print(cl.build_info()); \
print('with_cuda', cl.with_cuda, 'cuda_available', cl.cuda_available()); \
assert cl.with_cuda and cl.cuda_available(), 'the build has no usable CUDA path'"
}

# pytest with a junit report; writes the counts line to $OUT/<name>.note
step_pytest() {
  local name="$1"; shift
  local rc=0
  pytest -q -p no:cacheprovider --maxfail="${MAXFAIL:-30}" --junitxml="$OUT/$name.xml" "$@" || rc=$?
  "$PYTHON" - "$OUT/$name.xml" > "$OUT/$name.note" <<'EOF' || true
import sys, xml.etree.ElementTree as ET
r = ET.parse(sys.argv[1]).getroot()
s = r if r.tag == "testsuite" else r.find("testsuite")
print(f"tests {s.get('tests')} failures {s.get('failures')} errors {s.get('errors')} skipped {s.get('skipped')}")
EOF
  return $rc
}

step_tests() {
  step_pytest tests tests/test_ops*.py tests/test_cuda_paths.py tests/test_bad_inputs.py
}

step_simple() {
  export CUDNN_LITE_CUDA_SIMPLE=1
  step_pytest simple tests/test_ops*.py -k cuda
}

# compute-sanitizer over the 'small' CUDA tests; counts errors into $OUT/<tool>.note
step_sanitizer() {
  local tool="$1"
  local cs
  cs="$(command -v compute-sanitizer || true)"
  [[ -z "$cs" && -x /usr/local/cuda/bin/compute-sanitizer ]] && cs=/usr/local/cuda/bin/compute-sanitizer
  if [[ -z "$cs" ]]; then
    echo "compute-sanitizer not found: step skipped" | tee "$OUT/$tool.note"
    return 0
  fi
  local rc=0
  CUDNN_LITE_TEST_NO_CUPY_POOL=1 "$cs" --tool "$tool" --print-limit 50 --error-exitcode 86 \
    "$(command -v pytest)" -q -p no:cacheprovider tests/test_cuda_paths.py -k small || rc=$?
  return $rc
}

step_sanitizer_note() {  # summarise a sanitizer log after the step ran
  local tool="$1" f="$OUT/$1.log"
  [[ -f "$f" ]] || return 0
  [[ -f "$OUT/$tool.note" ]] && return 0
  local errs hazards passed
  errs=$( (grep -Eo 'ERROR SUMMARY: [0-9]+' "$f" || true) | awk '{s += $3} END {print s + 0}')
  hazards=$( (grep -Eo 'RACECHECK SUMMARY: [0-9]+ hazard' "$f" || true) | awk '{s += $3} END {print s + 0}')
  passed=$( (grep -Eo '[0-9]+ (passed|failed)' "$f" || true) | tail -2 | tr '\n' ' ')
  echo "errors $errs hazards $hazards; pytest: ${passed:-no pass count}" > "$OUT/$tool.note"
}

export -f step_env step_build step_pytest step_tests step_simple step_sanitizer
export ROOT OUT PYTHON

run_step env 30 bash -c step_env
run_step build 240 bash -c step_build
run_step tests 150 bash -c step_tests
run_step simple 60 bash -c step_simple
run_step nccl 40 "$PYTHON" benchmarks/nccl_smoke.py "$OUT"
rm -f "$OUT/memcheck.note" "$OUT/racecheck.note"
run_step memcheck 75 bash -c "step_sanitizer memcheck"
step_sanitizer_note memcheck
# the notes are read by run_step before step_sanitizer_note writes them: patch the table
run_step racecheck 75 bash -c "step_sanitizer racecheck"
step_sanitizer_note racecheck
for t in memcheck racecheck; do
  if [[ -f "$OUT/$t.note" ]]; then
    note="$(tr '\n\t' '  ' < "$OUT/$t.note")"
    awk -F'\t' -v OFS='\t' -v t="$t" -v n="$note" '$1 == t {$4 = n} {print}' "$RESULTS" > "$RESULTS.tmp" && mv "$RESULTS.tmp" "$RESULTS"
  fi
done
left=$(( DEADLINE_S - ( $(date +%s) - START ) ))
# the op benchmark stops starting new cases after its budget; keep ~70 s for the training epochs
bench_budget=$(( left - 110 )); (( bench_budget > 170 )) && bench_budget=170; (( bench_budget < 20 )) && bench_budget=20
run_step bench 200 "$PYTHON" benchmarks/bench_cuda.py --out "$OUT" --time-budget "$bench_budget"
run_step train 90 "$PYTHON" benchmarks/bench_cuda.py --out "$OUT" --train-only --time-budget 45

# ------------------------------------------------------------------ summary
{
  echo "# device_check summary"
  echo
  echo "- date: $(date -u +%FT%TZ), total $(( $(date +%s) - START )) s (deadline ${DEADLINE_S} s)"
  echo "- card: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -1 || echo unknown)"
  echo "- CUDA: $(nvcc --version 2>/dev/null | grep -Eo 'release [0-9.]+' || echo unknown); build: sm_90 only"
  echo "- commit: $(git -C "$ROOT" rev-parse HEAD 2>/dev/null || echo "${CUDNN_LITE_COMMIT:-unknown}")"
  echo
  echo "| step | status | seconds | detail |"
  echo "|---|---|---|---|"
  while IFS=$'\t' read -r name status secs note; do
    echo "| $name | $status | $secs | $note |"
  done < "$RESULTS"
  echo
  if [[ -f "$OUT/tests.log" ]]; then
    echo "## Failing tests (first 40)"; echo; echo '```'
    grep -E '^(FAILED|ERROR) ' "$OUT/tests.log" "$OUT/simple.log" 2>/dev/null | head -40 || true
    echo '```'
  fi
  "$PYTHON" - "$OUT" <<'EOF' || true
import json, os, sys
out = sys.argv[1]
p = os.path.join(out, "bench_cuda.json")
if os.path.exists(p):
    r = json.load(open(p))
    print("\n## Targets (bench_cuda.json; full table in bench_cuda.md)\n")
    print("| target | value | goal | met |\n|---|---|---|---|")
    for k, t in (r.get("targets") or {}).items():
        v = t["value"]
        print(f"| {k} | {v:.3g} | {t['target']} | {'yes' if t['met'] else '**NO**'} |" if isinstance(v, float)
              else f"| {k} | {v} | {t['target']} | {'yes' if t['met'] else '**NO**'} |")
    bw = r.get("bandwidth") or {}
    print(f"\nmeasured bandwidth {bw.get('bytes_per_s', 0) / 1e9:.0f} GB/s; {len(r.get('results', []))} cases, "
          f"{len(r.get('skipped', []))} skipped for time")
p = os.path.join(out, "bench_train.json")
if os.path.exists(p):
    r = json.load(open(p))
    print("\n## Training epoch vs PyTorch eager + cuDNN (bench_train.md)\n")
    print("| model | batch | ours s | PyTorch s | ratio | ours loss | torch loss |\n|---|---|---|---|---|---|---|")
    for t in r["results"]:
        print(f"| {t['model']} | {t['batch']} | {t['ours_epoch_s']:.2f} | {t['torch_epoch_s']:.2f} | {t['ratio']:.2f} "
              f"| {t['ours_loss']:.4f} | {t['torch_loss']:.4f} |")
    for f in r.get("failed", []):
        print(f"\nFAILED: {f}")
EOF
} > "$OUT/summary.md"
cat "$OUT/summary.md" | tee -a "$OUT/device_check.log"

if awk -F'\t' '$2 != "PASS" {bad = 1} END {exit bad ? 0 : 1}' "$RESULTS"; then
  log "device_check: SOME STEPS FAILED (see $OUT/summary.md)"
  exit 1
fi
log "device_check: all steps passed"
