#!/usr/bin/env bash
# cuda_resource_check.sh: compile every csrc/cuda/*.cu for sm_80 and sm_90 with
# ptxas verbose output and print registers / spills / shared memory per kernel
# (demangled, namespaces and argument lists trimmed).
# Exits 1 if any kernel spills (spill stores or loads > 0 bytes) or a file
# fails to compile. All our kernels count as hot.
# Usage: benchmarks/cuda_resource_check.sh [nvcc]     (from any directory)
#        JOBS=N to set the number of parallel compiles (default: nproc)
set -u
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NVCC="${1:-${NVCC:-nvcc}}"
command -v "$NVCC" >/dev/null 2>&1 || NVCC=/usr/local/cuda/bin/nvcc
FILT="$(dirname "$(command -v "$NVCC")")/cu++filt"
[ -x "$FILT" ] || FILT="$(command -v cu++filt || command -v c++filt || echo cat)"
JOBS="${JOBS:-$(nproc 2>/dev/null || echo 2)}"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

# 1. compile (in parallel): one log per (file, arch)
compile() {  # $1 = .cu file, $2 = arch number
  local name; name="$(basename "$1")"
  if "$NVCC" -std=c++17 -O3 -I"$ROOT/csrc" -gencode "arch=compute_$2,code=sm_$2" \
      --resource-usage -Xptxas=-v -Xptxas=-warn-spills -Werror=all-warnings \
      -c "$1" -o "$TMP/$name.$2.o" >"$TMP/$name.$2.log" 2>&1; then
    : > "$TMP/$name.$2.ok"
  fi
}
export -f compile; export NVCC ROOT TMP
for arch in 80 90; do for f in "$ROOT"/csrc/cuda/*.cu; do echo "$f $arch"; done; done |
  xargs -P "$JOBS" -n 2 bash -c 'compile "$0" "$1"'

# 2. report
status=0
printf '%-6s %-14s %5s %9s %9s %7s  %s\n' arch file regs spill_st spill_ld smem kernel
for arch in 80 90; do
  for f in "$ROOT"/csrc/cuda/*.cu; do
    name="$(basename "$f")"
    log="$TMP/$name.$arch.log"
    if [ ! -e "$TMP/$name.$arch.ok" ]; then
      echo "FAILED to compile $name for sm_$arch:"; cat "$log"; status=1; continue
    fi
    # ptxas prints per kernel: "Compiling entry function 'X' for 'sm_NN'",
    # "N bytes stack frame, S bytes spill stores, L bytes spill loads",
    # "Used R registers, ..., B bytes smem, ..."
    awk -v arch="sm_$arch" -v file="$name" '
      /Compiling entry function/ { k = $0; sub(/.*function \047/, "", k); sub(/\047 for .*/, "", k); st = 0; ld = 0 }
      /bytes spill stores/ { for (i = 1; i + 3 <= NF; i++) {
          if ($(i+1) == "bytes" && $(i+2) == "spill" && $(i+3) ~ /^stores/) st = $i
          if ($(i+1) == "bytes" && $(i+2) == "spill" && $(i+3) ~ /^loads/) ld = $i } }
      /Used [0-9]+ registers/ {
        regs = 0; smem = 0
        for (i = 1; i + 2 <= NF; i++) { if ($i == "Used") regs = $(i+1); if ($(i+1) == "bytes" && $(i+2) ~ /^smem/) smem = $i }
        printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", arch, file, regs, st, ld, smem, k
      }' "$log" > "$TMP/rows"
    while IFS=$'\t' read -r a fl regs st ld smem k; do
      pretty="$(echo "$k" | "$FILT" | sed -e 's/cudnn_lite::cuda:://g' -e 's/(anonymous namespace):://g' \
        -e 's/^void //' -e 's/([^()]*)$//')"
      printf '%-6s %-14s %5s %9s %9s %7s  %s\n' "$a" "$fl" "$regs" "$st" "$ld" "$smem" "$pretty"
      if [ "${st:-0}" -gt 0 ] || [ "${ld:-0}" -gt 0 ]; then
        echo "SPILL in $fl ($a): $pretty" >&2; status=1
      fi
    done < "$TMP/rows"
  done
done
if [ "$status" -ne 0 ]; then echo "cuda_resource_check: FAILED (spills or compile errors)"
else echo "cuda_resource_check: OK, no kernel spills"; fi
exit "$status"
