#!/usr/bin/env bash
# The run index and the UI at 100,000 runs, against baselines measured in the same invocation:
#  1. indexing 100,000 run folders from scratch (the first list), then warm list / compare, each
#     beside the same compare reading every folder (a folder given as input bypasses the index);
#  2. `exprunner ui`: from start to the first rows, and filters answered (server time and wall time).
#  3. the index alone at $INDEX_N (default 1,000,000) generated rows (no folders behind them: the listing
#     of folders is part 1's): the newest 20 runs and a grouped compare, each from a fresh process.
# Targets: warm list (every run, piped) and compare --format csv < 1 s in bounded memory, grouped compare
# < 0.5 s, UI first rows < 1 s, a filter/sort/group < 0.2 s, the index < 1 KB a run; at 1,000,000 rows
# newest 20 < 0.5 s and a grouped compare < 2 s.
# Prints a table and writes it to $OUT (default tests/bench/results/index_ui.txt).
set -euo pipefail
cd "$(dirname "$0")/../.."
CLI=${CLI:-src/ExpRunner.Cli/bin/Release/net10.0/exprunner}
OUT=${OUT:-tests/bench/results/index_ui.txt}
N=${N:-100000}
INDEX_N=${INDEX_N:-1000000}
BENCH=(dotnet tests/bench/ExpRunner.Bench/bin/Release/net10.0/ExpRunner.Bench.dll)
CPU=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
WORK=$(mktemp -d /tmp/exprunner-bench-XXXXXX)
UI_PID=
cleanup() { [ -n "$UI_PID" ] && kill "$UI_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
mkdir -p "$(dirname "$OUT")"
export XDG_CACHE_HOME=$WORK/cache   # a cold index, and nothing left in the user's cache

seconds() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null 2>&1; t1=$(date +%s.%N); echo "$t1 - $t0" | bc -l; }
median3() { local a b c; a=$(seconds "$@"); b=$(seconds "$@"); c=$(seconds "$@"); printf '%s\n' "$a" "$b" "$c" | sort -g | sed -n 2p; }

# $N run folders: copies of one real run's run.json and summary.json with varied ids, params, metrics,
# in 20 experiments' folders (as a busy runs directory has them).
"$CLI" run experiments/xor.yaml -q --runs "$WORK/seed" --set training.epochs=2 >/dev/null
python3 - "$WORK/seed" "$WORK/runs" "$N" <<'PY'
import json, os, random, sys, glob
seed_dir = glob.glob(os.path.join(sys.argv[1], "xor", "*"))[0]
record = json.load(open(os.path.join(seed_dir, "run.json")))
summary = json.load(open(os.path.join(seed_dir, "summary.json")))
rng = random.Random(1)
for i in range(int(sys.argv[3])):
    rid = f"2026{i // 86400 % 12 + 1:02d}01-{i // 3600 % 24:02d}{i // 60 % 60:02d}{i % 60:02d}-{i:06x}"
    exp = f"exp{i % 20}"
    d = os.path.join(sys.argv[2], exp, rid)
    os.makedirs(d)
    record["id"] = summary["id"] = rid
    record["experiment"] = summary["experiment"] = exp
    record["started"] = f"2026-{i // 86400 % 12 + 1:02d}-01T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}+00:00"
    summary["params"]["training.learning_rate"] = str(rng.choice([0.001, 0.01, 0.1, 1.0]))
    summary["params"]["training.gradient_reduction"] = rng.choice(["mean", "sum"])
    summary["params"]["seed"] = str(i)
    summary["final"]["test_accuracy"] = rng.random()
    with open(os.path.join(d, "run.json"), "w") as f: json.dump(record, f)
    with open(os.path.join(d, "summary.json"), "w") as f: json.dump(summary, f)
PY

group="--group-by training.gradient_reduction,training.learning_rate"
filter="metrics.test_accuracy > 0.9 and params.training.gradient_reduction = 'sum'"
build=$(seconds "$CLI" list --runs "$WORK/runs" --limit 20)
list=$(median3 "$CLI" list --runs "$WORK/runs" --limit 20)
listall=$(median3 "$CLI" list --runs "$WORK/runs" --json)
listpiped=$(median3 "$CLI" list --runs "$WORK/runs")
csvall=$(median3 "$CLI" compare --runs "$WORK/runs" --format csv)
# Peak memory of the two (KB, as /usr/bin/time reports it).
mem() { /usr/bin/time -f '%M' "$@" 2>&1 >/dev/null | tail -1; }
listmem=$(mem "$CLI" list --runs "$WORK/runs")
csvmem=$(mem "$CLI" compare --runs "$WORK/runs" --format csv)
dbsize=$(du -b "$XDG_CACHE_HOME"/exprunner/index/*.db | awk '{s += $1} END {print s}')
grouped=$(median3 "$CLI" compare --runs "$WORK/runs" $group)
filtered=$(median3 "$CLI" compare --runs "$WORK/runs" --filter "$filter" --sort "metrics.test_accuracy desc" --format csv)
# Baselines: the same comparisons reading every folder (the runs directory given as a folder of runs; once each).
walk_grouped=$(seconds "$CLI" compare "$WORK/runs" $group)
walk_filtered=$(seconds "$CLI" compare "$WORK/runs" --filter "$filter" --sort "metrics.test_accuracy desc" --format csv)

# The UI: from start to the first rows answered, then filters (the server says how long it took).
t0=$(date +%s.%N)
"$CLI" ui --runs "$WORK/runs" --port 0 > "$WORK/ui.out" 2>&1 &
UI_PID=$!
for _ in $(seq 600); do grep -q "ExpRunner UI: http" "$WORK/ui.out" && break; sleep 0.05; done
url=$(grep -o 'http://[0-9.:]*/' "$WORK/ui.out" | head -1)
curl -sf "${url}api/runs?limit=200" -o "$WORK/first.json"
t1=$(date +%s.%N)
first=$(echo "$t1 - $t0" | bc -l)
# Once the server holds every run (a query other than the opening page waits for them): a sort, the request alone.
curl -sf -o /dev/null "${url}api/runs?limit=1&filter=metrics.test_accuracy%20%3E%202"
again=$(curl -sf -o /dev/null -w '%{time_total}' "${url}api/runs?limit=200&sort=attributes.run_id")
filters=("metrics.test_accuracy > 0.95" "params.training.learning_rate = '0.1' and metrics.test_accuracy > 0.5"
  "attributes.experiment = 'exp3'" "params.training.gradient_reduction = 'sum' or metrics.test_accuracy < 0.01"
  "params.seed LIKE '%777%'")
walls=(); servers=()
for f in "${filters[@]}"; do
  enc=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$f")
  w=$(curl -sf -o "$WORK/f.json" -w '%{time_total}' "${url}api/runs?limit=200&filter=$enc")
  walls+=("$w"); servers+=("$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ms"] / 1000)' "$WORK/f.json")")
done
median5() { printf '%s\n' "$@" | sort -g | sed -n 3p; }
max5() { printf '%s\n' "$@" | sort -g | tail -1; }
grouped_ui=$(curl -sf -o "$WORK/g.json" -w '%{time_total}' "${url}api/runs?limit=200&group=training.gradient_reduction,training.learning_rate")
kill "$UI_PID" 2>/dev/null; wait "$UI_PID" 2>/dev/null || true; UI_PID=

# The index alone at $INDEX_N rows.
mkdir -p "$WORK/m"
made=$("${BENCH[@]}" index make "$WORK/m" "$INDEX_N")
bytes_m=$(echo "$made" | sed -n 's/.*bytes_per_run=\([0-9]*\).*/\1/p')
secs() { "${BENCH[@]}" index "$1" "$WORK/m" | sed -n 's/.*seconds=\([0-9.]*\).*/\1/p'; }
med3() { local a b c; a=$(secs "$1"); b=$(secs "$1"); c=$(secs "$1"); printf '%s\n' "$a" "$b" "$c" | sort -g | sed -n 2p; }
newest_m=$(med3 newest)
grouped_m=$(med3 grouped)
grouped_rows_m=$(secs grouped-rows)

{
  echo "ExpRunner run index and UI benchmark, $N runs, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores of $CPU"
  printf '%-58s %9s %9s\n' "measurement" "seconds" "ratio"
  printf '%-58s %9.2f %9s\n' "index $N run folders from scratch (first list)" "$build" "-"
  printf '%-58s %9.2f %9s  (target < 1 s)\n' "list, newest 20 (warm, median of 3)" "$list" "-"
  printf '%-58s %9.2f %9s\n' "list --json, every run (warm)" "$listall" "-"
  printf '%-58s %9.2f %9s  (target < 1 s; peak %s MB)\n' "list, every run, piped (warm)" "$listpiped" "-" "$((listmem / 1024))"
  printf '%-58s %9.2f %9s  (target < 1 s; peak %s MB)\n' "compare --format csv, every run (warm)" "$csvall" "-" "$((csvmem / 1024))"
  printf '%-58s %9d %9s  (target < 1024)\n' "index on disk, bytes a run" "$((dbsize / N))" "-"
  printf '%-58s %9.2f %9s\n' "compare grouped, reading every folder (baseline, once)" "$walk_grouped" "1.00"
  printf '%-58s %9.2f %9.3f  (target < 0.5 s)\n' "compare grouped, through the index (warm)" "$grouped" "$(echo "$grouped / $walk_grouped" | bc -l)"
  printf '%-58s %9.2f %9s\n' "compare filtered + sorted, every folder (baseline, once)" "$walk_filtered" "1.00"
  printf '%-58s %9.2f %9.3f  (target < 1 s)\n' "compare filtered + sorted, through the index (warm)" "$filtered" "$(echo "$filtered / $walk_filtered" | bc -l)"
  printf '%-58s %9.2f %9s  (target < 1 s after indexing)\n' "ui: start to first 200 rows (index warm)" "$first" "-"
  printf '%-58s %9.3f %9s  (target < 0.2 s)\n' "ui: a filter, wall time (median of 5)" "$(median5 "${walls[@]}")" "-"
  printf '%-58s %9.3f %9s\n' "ui: a filter, wall time (slowest of 5)" "$(max5 "${walls[@]}")" "-"
  printf '%-58s %9.3f %9s\n' "ui: a filter, server time (median of 5)" "$(median5 "${servers[@]}")" "-"
  printf '%-58s %9.3f %9s  (target < 0.2 s)\n' "ui: sorted anew, wall time (runs held)" "$again" "-"
  printf '%-58s %9.3f %9s  (target < 0.2 s)\n' "ui: grouped by 2 params, wall time" "$grouped_ui" "-"
  printf '%-58s %9d %9s  (target < 1024)\n' "index alone, $INDEX_N rows: bytes a run" "$bytes_m" "-"
  printf '%-58s %9.2f %9s  (target < 0.5 s)\n' "index alone, $INDEX_N rows: newest 20 (process start to answer)" "$newest_m" "-"
  printf '%-58s %9.2f %9s\n' "index alone, $INDEX_N rows: grouped from every row (baseline)" "$grouped_rows_m" "1.00"
  printf '%-58s %9.2f %9.3f  (target < 2 s)\n' "index alone, $INDEX_N rows: grouped, added up in the index" "$grouped_m" "$(echo "$grouped_m / $grouped_rows_m" | bc -l)"
} | tee "$OUT"
