#!/usr/bin/env python3
"""Pruning and model-based search against full random search, on real training.

The problem: Fashion-MNIST, 784-128-64-10 (experiments/fashion-mnist.yaml: relu, softmax,
SGD with momentum 0.9, batch 64, 10 % validation), 10 epochs, the learning rate loguniform over
[1e-4, 10]; each procedure run with 3 seeds (the seed of the draws and of the networks).
  random  N random draws, every trial trained 10 epochs (the baseline);
  asha    the same N draws, pruned on validation accuracy (min_epochs 1, reduction factor 3);
  tpe     N trials proposed by TPE (the first 4 random), every trial trained 10 epochs.
Reported per procedure and seed: the best validation accuracy of a trial trained to the end and
the epochs trained. Targets: asha within 0.5 percentage points of random's best using at most 40 %
of its epochs (on average over the seeds); tpe at least as good as random on average.
All sweeps run with --jobs 2 (one matrix thread per trial).

usage: search_bench.py CLI OUT [TRIALS]
"""
import json, os, subprocess, sys, tempfile, time

cli, out = sys.argv[1], sys.argv[2]
trials = int(sys.argv[3]) if len(sys.argv) > 3 else 16
repo = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
base = open(os.path.join(repo, "experiments", "fashion-mnist.yaml")).read().replace(
    "path: data/fashion-mnist", "path: " + os.path.join(repo, "data", "fashion-mnist"))
lr = "{ training.learning_rate: { loguniform: [1e-4, 10] } }"
procedures = {
    "random": f"sweep:\n  random: {{ trials: {trials}, seed: SEED, params: {lr} }}\n",
    "asha": f"sweep:\n  random: {{ trials: {trials}, seed: SEED, params: {lr} }}\n"
            "  prune: { metric: validation_accuracy, mode: max, min_epochs: 1, reduction_factor: 3 }\n",
    "tpe": f"sweep:\n  search: {{ method: tpe, trials: {trials}, seed: SEED, startup_trials: 4, metric: validation_accuracy, mode: max, params: {lr} }}\n",
}


def run(work, name, seed):
    config = os.path.join(work, f"{name}-{seed}.yaml")
    with open(config, "w") as f:
        f.write(base.replace("seed: 1", f"seed: {seed}") + procedures[name].replace("SEED", str(seed)))
    runs = os.path.join(work, f"runs-{name}-{seed}")
    t0 = time.time()
    p = subprocess.run([cli, "sweep", config, "--runs", runs, "--jobs", "2"], capture_output=True, text=True)
    seconds = time.time() - t0
    if p.returncode != 0:
        sys.exit(f"{name} seed {seed}: exit {p.returncode}\n{p.stderr[-2000:]}")
    sweep_dir = os.path.join(runs, "_sweeps")
    sweep_id = sorted(os.listdir(sweep_dir))[-1]
    best, epochs, pruned, diverged = None, 0, 0, 0
    record = json.load(open(os.path.join(sweep_dir, sweep_id, "sweep.json")))
    for t in record["trials"]:
        summary = json.load(open(os.path.join(runs, t["run_dir"], "summary.json")))
        epochs += summary["epochs_run"]
        pruned += summary["status"] == "PRUNED"
        diverged += summary["status"] == "DIVERGED"
        acc = summary["final"].get("validation_accuracy")
        if summary["status"] == "FINISHED" and acc is not None and (best is None or acc > best):
            best = acc
    return {"best": best, "epochs": epochs, "pruned": pruned, "diverged": diverged, "seconds": seconds}


def main():
    seeds = [1, 2, 3]
    results = {name: [] for name in procedures}
    with tempfile.TemporaryDirectory(prefix="exprunner-search-") as work:
        for seed in seeds:
            for name in procedures:
                r = run(work, name, seed)
                results[name].append(r)
                print(f"  {name:6} seed {seed}: best val acc {r['best']:.4f}, {r['epochs']} epochs, "
                      f"{r['pruned']} pruned, {r['diverged']} diverged, {r['seconds']:.0f} s", file=sys.stderr, flush=True)
    mean = lambda xs: sum(xs) / len(xs)
    rnd, asha, tpe = results["random"], results["asha"], results["tpe"]
    lines = [f"Search on Fashion-MNIST 784-128-64-10, 10 epochs, lr loguniform [1e-4, 10], {trials} trials, seeds {seeds}, --jobs 2",
             f"{'procedure':<10}{'seed':>5}{'best val acc':>14}{'epochs':>8}{'pruned':>8}{'diverged':>10}{'seconds':>9}"]
    for name in procedures:
        for seed, r in zip(seeds, results[name]):
            lines.append(f"{name:<10}{seed:>5}{r['best']:>14.4f}{r['epochs']:>8}{r['pruned']:>8}{r['diverged']:>10}{r['seconds']:>9.0f}")
    gap = [100 * (r["best"] - a["best"]) for r, a in zip(rnd, asha)]
    share = sum(a["epochs"] for a in asha) / sum(r["epochs"] for r in rnd)
    tpe_gain = 100 * (mean([t["best"] for t in tpe]) - mean([r["best"] for r in rnd]))
    lines += [
        f"asha vs random: best {mean(gap):+.2f} pp behind on average (per seed: {', '.join(f'{g:+.2f}' for g in gap)}), "
        f"{100 * share:.0f} % of the epochs   target: within 0.5 pp using <= 40 %   "
        f"{'MET' if mean(gap) <= 0.5 and share <= 0.40 else 'MISSED'}",
        f"tpe vs random: {tpe_gain:+.2f} pp on average (tpe {mean([t['best'] for t in tpe]):.4f}, random {mean([r['best'] for r in rnd]):.4f})   "
        f"target: >= 0   {'MET' if tpe_gain >= 0 else 'MISSED'}",
    ]
    text = "\n".join(lines) + "\n"
    print(text, end="")
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    with open(out, "w") as f:
        f.write(text)


main()
