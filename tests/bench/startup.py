#!/usr/bin/env python3
"""Start-up and many small trials.

1. Per-run overhead: `exprunner run experiments/xor.yaml --quiet` (100 epochs of a 2-8-1 network),
   wall time of the whole process minus the run's own duration (summary.json), median of 9 runs
   alternating between the shipped build (`make app`: self-contained, one composite ReadyToRun image) and the plain `dotnet build`
   output (the baseline, measured in the same invocation). Target: <= 100 ms for the shipped build.
2. A 64-trial xor sweep (learning rate × batch size) with --jobs 2, every trial its own process
   (--no-fuse; fused_bench.sh measures trials trained together): its wall time against half the
   sum of its trials' durations (each trial's process, start to end, as the sweep recorded it: what
   two perfectly packed workers would take). Target: <= 1.3x — what the sweep itself adds (planning,
   validating, starting and following processes, its records) stays small.

usage: startup.py SHIPPED_CLI BASELINE_CLI OUT
"""
import json, os, statistics, subprocess, sys, tempfile, time
from machine import cpu

shipped, baseline, out = sys.argv[1], sys.argv[2], sys.argv[3]
root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
xor = os.path.join(root, "experiments", "xor.yaml")


def one_run(cli, runs):
    t0 = time.perf_counter()
    p = subprocess.run([cli, "run", xor, "--quiet", "--runs", runs], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"{cli} run failed: {p.stderr[-2000:]}")
    folder = p.stdout.split()[1]
    duration = json.load(open(os.path.join(folder, "summary.json")))["duration_seconds"]
    return wall, duration


def main():
    lines = [f"Start-up, {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}, {os.cpu_count()} cores of {cpu()}"]
    with tempfile.TemporaryDirectory(prefix="exprunner-startup-") as work:
        results = {"shipped (composite R2R)": [], "plain build (baseline)": []}
        for cli in (shipped, baseline):  # warm the file cache once each
            one_run(cli, os.path.join(work, "warm"))
        for i in range(9):
            for name, cli in (("shipped (composite R2R)", shipped), ("plain build (baseline)", baseline)):
                results[name].append(one_run(cli, os.path.join(work, "runs")))
        lines.append(f"{'xor run (100 epochs)':<26}{'wall ms':>9}{'run ms':>8}{'overhead ms':>13}")
        overhead = {}
        for name, rs in results.items():
            wall = statistics.median(w for w, _ in rs)
            run = statistics.median(d for _, d in rs)
            overhead[name] = statistics.median(w - d for w, d in rs)
            lines.append(f"{name:<26}{1000 * wall:>9.0f}{1000 * run:>8.0f}{1000 * overhead[name]:>13.0f}")
        o = overhead["shipped (composite R2R)"]
        lines.append(f"per-run overhead: {1000 * o:.0f} ms ({overhead['plain build (baseline)'] / o:.2f}x less than the plain build)"
                     f"   target <= 100 ms   {'MET' if o <= 0.100 else 'MISSED'}")

        runs = os.path.join(work, "sweep")
        t0 = time.perf_counter()
        p = subprocess.run([shipped, "sweep", xor, "--runs", runs, "--jobs", "2", "--no-fuse",
                            "--set", "training.learning_rate=" + ",".join(str(v) for v in (0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5)),
                            "--set", "training.batch_size=" + ",".join(str(v) for v in (8, 16, 24, 32, 48, 64, 96, 128))],
                           capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if p.returncode != 0:
            sys.exit(f"sweep failed: {p.stderr[-2000:]}")
        sweeps = os.path.join(runs, "_sweeps")
        record = json.load(open(os.path.join(sweeps, sorted(os.listdir(sweeps))[-1], "sweep.json")))
        durations = [t["seconds"] for t in record["trials"]]
        own = sum(json.load(open(os.path.join(runs, t["run_dir"], "summary.json")))["duration_seconds"] for t in record["trials"])
        ideal = sum(durations) / 2
        lines.append(f"64-trial xor sweep, --jobs 2: {wall:.2f} s wall; its trials' processes took {sum(durations):.2f} s in all "
                     f"(half: {ideal:.2f} s; their training {own:.2f} s); ratio {wall / ideal:.2f}x   target <= 1.3x   "
                     f"{'MET' if wall / ideal <= 1.3 else 'MISSED'}")
    text = "\n".join(lines) + "\n"
    print(text, end="")
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    with open(out, "w") as f:
        f.write(text)


main()
