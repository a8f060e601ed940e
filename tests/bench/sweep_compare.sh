#!/usr/bin/env bash
# Sweep and compare benchmarks, each against a baseline measured in the same invocation:
#  1. 8 trials of C1 (the thesis network on Fashion-MNIST, tests/bench/configs/c1.yaml, 4 epochs
#     each) with --jobs 2 vs --jobs 1 (medians of three alternating rounds): trials share the
#     2-core budget, one matrix thread each;
#  2. compare over 10,000 run folders (generated from one real run), table, grouped and filtered.
# Prints a table and writes it to $OUT (default tests/bench/results/sweep_compare.txt).
set -euo pipefail
cd "$(dirname "$0")/../.."
CLI=${CLI:-src/ExpRunner.Cli/bin/Release/net10.0/exprunner}
OUT=${OUT:-tests/bench/results/sweep_compare.txt}
WORK=$(mktemp -d /tmp/exprunner-bench-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$(dirname "$OUT")"

seconds() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null 2>&1; t1=$(date +%s.%N); echo "$t1 - $t0" | bc -l; }

sweep="--set training.learning_rate=0.001,0.003,0.01,0.03,0.1,0.3,1.0,3.0"
# Three rounds, alternating, so both settings see the same machine; medians.
median() { printf '%s\n' "$@" | sort -g | sed -n 2p; }
ones=(); twos=()
for round in 1 2 3; do
  ones+=("$(seconds "$CLI" sweep tests/bench/configs/c1.yaml $sweep --jobs 1 --no-fuse --runs "$WORK/j1-$round")")
  twos+=("$(seconds "$CLI" sweep tests/bench/configs/c1.yaml $sweep --jobs 2 --no-fuse --runs "$WORK/j2-$round")")
done
one=$(median "${ones[@]}")
two=$(median "${twos[@]}")

# 10,000 run folders: copies of one real run's run.json and summary.json with varied ids, params, metrics.
"$CLI" run experiments/xor.yaml -q --runs "$WORK/seed" --set training.epochs=2 >/dev/null
python3 - "$WORK/seed" "$WORK/many" <<'PY'
import json, os, random, sys, glob
seed_dir = glob.glob(os.path.join(sys.argv[1], "xor", "*"))[0]
record = json.load(open(os.path.join(seed_dir, "run.json")))
summary = json.load(open(os.path.join(seed_dir, "summary.json")))
rng = random.Random(1)
for i in range(10000):
    rid = f"20260101-000000-{i:06x}"
    d = os.path.join(sys.argv[2], "xor", rid)
    os.makedirs(d)
    record["id"] = summary["id"] = rid
    summary["params"]["training.learning_rate"] = str(rng.choice([0.001, 0.01, 0.1, 1.0]))
    summary["params"]["training.gradient_reduction"] = rng.choice(["mean", "sum"])
    summary["final"]["test_accuracy"] = rng.random()
    json.dump(record, open(os.path.join(d, "run.json"), "w"))
    json.dump(summary, open(os.path.join(d, "summary.json"), "w"))
PY
table=$(seconds "$CLI" compare "$WORK/many" --format csv)
grouped=$(seconds "$CLI" compare "$WORK/many" --group-by training.gradient_reduction,training.learning_rate)
filtered=$(seconds "$CLI" compare "$WORK/many" --filter "metrics.test_accuracy > 0.5 and params.training.gradient_reduction = 'sum'" --sort metrics.test_accuracy desc --format markdown)

{
  echo "ExpRunner sweep/compare benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores of $(python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); from machine import cpu; print(cpu())' "$(dirname "$0")")"
  printf '%-52s %10s %10s\n' "measurement" "seconds" "ratio"
  printf '%-52s %10.2f %10s\n' "sweep, 8 C1 trials, --jobs 1 (baseline, median of 3)" "$one" "1.00"
  printf '%-52s %10.2f %10.2f  (target <= 0.6)\n' "sweep, 8 C1 trials, --jobs 2 (median of 3)" "$two" "$(echo "$two / $one" | bc -l)"
  printf '%-52s %10.2f %10s  (target < 5 s)\n' "compare 10,000 runs, csv" "$table" "-"
  printf '%-52s %10.2f %10s  (target < 5 s)\n' "compare 10,000 runs, grouped" "$grouped" "-"
  printf '%-52s %10.2f %10s  (target < 5 s)\n' "compare 10,000 runs, filtered + sorted" "$filtered" "-"
} | tee "$OUT"
