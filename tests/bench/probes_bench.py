"""What probes cost: C1 and C4 on Fashion-MNIST through `exprunner run`, 1 thread, float32, the same
config with probes off and with every probe on at every step (norms, activations, histograms),
runs interleaved (off, on, off, on, ...). Each run's rate is the median of its epochs after the
first; the figure is the median "on" time over the median "off" time, beside the spread of the
"off" runs (the noise any difference must stand out of).

usage: python3 probes_bench.py CLI OUT_FILE
"""
import csv, os, shutil, statistics, subprocess, sys, tempfile, time
from machine import cpu

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TARGET = {"C1": 1.25, "C4": 1.10}
REPEATS = 3


def epoch_seconds(cli, name, runs, probes):
    cmd = [cli, "run", os.path.join(HERE, "configs", name.lower() + ".yaml"), "--quiet", "--runs", runs, "--set", "training.threads=1",
           "--set", f"name=probes-{name.lower()}-{'on' if probes else 'off'}"]
    if probes:
        cmd += ["--set", "probes.every_steps=1", "--set", "probes.histograms=true"]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True).stdout
    folder = out.split()[1]
    with open(os.path.join(folder, "metrics.csv")) as f:
        secs = [float(r["seconds"]) for r in csv.DictReader(f) if r["split"] == "train"]
    return statistics.median(secs[1:])


def main():
    cli, out_file = sys.argv[1], sys.argv[2]
    runs = tempfile.mkdtemp(prefix="exprunner-bench-")
    lines = [f"ExpRunner probes benchmark, {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}, {os.cpu_count()} cores of {cpu()}, "
             f"Fashion-MNIST 60k, float32, 1 thread, {REPEATS} runs each way, interleaved"]
    header = f"{'config':6} {'off s/epoch':>11} {'off spread':>10} {'on s/epoch':>10} {'on/off':>7} {'target':>7}"
    lines += ["", header, "-" * len(header)]
    print("\n".join(lines), flush=True)
    try:
        for name in ("C1", "C4"):
            off, on = [], []
            for _ in range(REPEATS):
                off.append(epoch_seconds(cli, name, runs, False))
                on.append(epoch_seconds(cli, name, runs, True))
            ratio = statistics.median(on) / statistics.median(off)
            spread = (max(off) - min(off)) / statistics.median(off)
            line = (f"{name:6} {statistics.median(off):11.4f} {100 * spread:9.1f}% {statistics.median(on):10.4f} {ratio:6.2f}x "
                    f"{'<= %.2fx' % TARGET[name]:>7} {'ok' if ratio <= TARGET[name] else 'MISS'}")
            lines.append(line)
            print(line, flush=True)
    finally:
        shutil.rmtree(runs, ignore_errors=True)
    lines += ["", "off: no probes block (the trainer's probe hooks are one null check a step); on: probes {every_steps: 1, histograms: true}."]
    os.makedirs(os.path.dirname(out_file), exist_ok=True)
    with open(out_file, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(lines[-1])


if __name__ == "__main__":
    main()
