#!/usr/bin/env bash
# Sweeps whose trials train together (the default) against the same sweeps with --no-fuse (every
# trial its own process) at the same --jobs, medians of alternating rounds, and a check that both
# leave the same results bit for bit (tests/bench/same_runs.py):
#  1. experiments/mnist-mean-vs-sum.yaml, 12 trials (the headline sweep), --jobs 2, 3 rounds;
#  2. a 16-trial learning-rate sweep of C1 on Fashion-MNIST (tests/bench/configs/c1.yaml), --jobs 2, 3 rounds;
#  3. a 64-trial learning-rate sweep of experiments/xor.yaml, --jobs 2, 3 rounds;
#  4. the same with 1 epoch a trial: what a trial of a sweep of tiny trials costs besides its training.
# Target for 1-3: fused <= 0.5x; for 4: <= 50 ms of machine time a trial, fused. Prints a table and writes it to $OUT (default tests/bench/results/fused.txt).
set -euo pipefail
cd "$(dirname "$0")/../.."
CLI=${CLI:-src/ExpRunner.Cli/bin/Release/net10.0/exprunner}
OUT=${OUT:-tests/bench/results/fused.txt}
ROUNDS=${ROUNDS:-3}
WORK=$(mktemp -d /tmp/exprunner-bench-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$(dirname "$OUT")"

seconds() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }; t1=$(date +%s.%N); echo "$t1 - $t0" | bc -l; }
median() { printf '%s\n' "$@" | sort -g | sed -n "$(( ($# + 1) / 2 ))p"; }
lrs() { python3 -c "import sys; n=int(sys.argv[1]); print(','.join(f'{10 ** (-4 + 4 * i / (n - 1)):.6g}' for i in range(n)))" "$1"; }

rows=()
bench() { # name, then the sweep's arguments
  local name=$1; shift
  local fused=() alone=()
  for round in $(seq 1 "$ROUNDS"); do
    alone+=("$(seconds "$CLI" sweep "$@" --jobs 2 --no-fuse --runs "$WORK/$name-alone-$round")")
    fused+=("$(seconds "$CLI" sweep "$@" --jobs 2 --runs "$WORK/$name-fused-$round")")
  done
  local same
  same=$(python3 tests/bench/same_runs.py "$WORK/$name-alone-1" "$WORK/$name-fused-1") || { echo "$name: fused and --no-fuse results differ: $same" >&2; exit 1; }
  local a f
  a=$(median "${alone[@]}"); f=$(median "${fused[@]}")
  # Machine time a trial costs, its training included: 2 jobs x wall / trials.
  local n
  n=$(python3 -c "import sys; print(sys.argv[1].split()[0])" "$same")
  rows+=("$(printf '%-44s %8.2f %8.2f %6.2f  %s %9.0f %9.0f  (%s)' "$name" "$a" "$f" "$(echo "$f / $a" | bc -l)" \
    "$(awk -v r="$(echo "$f / $a" | bc -l)" 'BEGIN { print (r <= 0.5 ? "ok  " : "MISS") }')" "$(echo "2000 * $a / $n" | bc -l)" "$(echo "2000 * $f / $n" | bc -l)" "$same")")
  last_ms=$(echo "2000 * $f / $n" | bc -l)
  rm -rf "$WORK"/"$name"-*
}

bench "mnist-mean-vs-sum, 12 trials" experiments/mnist-mean-vs-sum.yaml
bench "C1 on Fashion-MNIST, 16 learning rates" tests/bench/configs/c1.yaml --set "training.learning_rate=$(lrs 16)"
bench "xor, 64 learning rates" experiments/xor.yaml --set "training.learning_rate=$(lrs 64)"
# One epoch each: what a trial costs besides its training (the per-trial overhead of a sweep of tiny trials).
bench "xor, 64 learning rates, 1 epoch each" experiments/xor.yaml --set training.epochs=1 --set "training.learning_rate=$(lrs 64)"
tiny=$last_ms

{
  echo "ExpRunner fused sweeps, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores of $(python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); from machine import cpu; print(cpu())' tests/bench)"
  echo "wall seconds of the whole sweep, --jobs 2, median of $ROUNDS alternating rounds; ratio = fused / --no-fuse, target <= 0.5;"
  echo "ms/trial: machine time a trial costs, its training included (2 jobs x wall / trials)"
  printf '%-44s %8s %8s %6s  %4s %9s %9s\n' "sweep" "no-fuse" "fused" "ratio" "" "ms/trial" "ms/trial"
  printf '%-44s %8s %8s %6s  %4s %9s %9s\n' "" "" "" "" "" "no-fuse" "fused"
  printf '%s\n' "${rows[@]}"
  printf 'per-trial overhead of a sweep of tiny trials (1 epoch of xor), fused: %.0f ms   target <= 50 ms   %s\n' "$tiny" \
    "$(awk -v m="$tiny" 'BEGIN { print (m <= 50 ? "ok" : "MISS") }')"
} | tee "$OUT"
