#!/usr/bin/env python3
"""Pruning and model-based search against full random search, and against Optuna, on real training.

The problem: Fashion-MNIST, 784-128-64-10 (experiments/fashion-mnist.yaml: relu, softmax,
SGD with momentum 0.9, batch 64, 10 % validation), 10 epochs, the learning rate loguniform over
[1e-4, 10]; each procedure run with 3 seeds (the seed of the draws and of the networks).
  random  N random draws, every trial trained 10 epochs (the baseline);
  asha    the same N draws, pruned on validation accuracy (min_epochs 1, reduction factor 3);
  tpe     N trials proposed by TPE (the first 4 random), every trial trained 10 epochs.
  optuna-tpe  N trials proposed by Optuna's TPESampler (the first 4 random), every trial trained 10 epochs;
  optuna-random  N random draws by Optuna's RandomSampler, every trial trained 10 epochs (its baseline);
  optuna-sha  the same N draws pruned by Optuna's SuccessiveHalvingPruner
              (min_resource 1, reduction factor 3: ASHA's settings) on each epoch's validation accuracy.
Optuna's objective launches `exprunner run` with its suggestion and reads the run's metrics.csv as
epochs end (reporting each epoch's validation accuracy to its pruner, and stopping the run when told
to prune), so ExpRunner trains for both sides and only the search and pruning algorithms differ.
Reported per procedure and seed: the best validation accuracy of a trial trained to the end and
the epochs trained. Targets: asha within 0.5 percentage points of random's best using at most 40 %
of its epochs (on average over the seeds); tpe at least as good as random on average; tpe and asha
at least as good as Optuna's TPE and successive halving: best accuracy no lower, and asha's epochs
no more, than Optuna's on average by more than the seeds' spread (the standard deviation of the
per-seed differences).
Everything runs two trials at a time (sweeps with --jobs 2; Optuna by ask and tell from two threads,
which keeps its seed: its optimize(n_jobs=2) reseeds the sampler every trial), one matrix thread per trial.

usage: search_bench.py CLI OUT [TRIALS]
"""
import csv, json, os, signal, statistics, subprocess, sys, tempfile, threading, time
from machine import cpu

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


def optuna_run(work, name, seed):
    """Optuna's search (TPE) or pruning (successive halving) over the same problem, each trial an `exprunner run`."""
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    config = os.path.join(work, f"{name}-{seed}.yaml")
    with open(config, "w") as f:
        f.write(base.replace("seed: 1", f"seed: {seed}"))
    prune = name == "optuna-sha"
    sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=4) if name == "optuna-tpe" else optuna.samplers.RandomSampler(seed=seed)
    pruner = optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3, min_early_stopping_rate=0) if prune else optuna.pruners.NopPruner()
    study = optuna.create_study(direction="maximize", sampler=sampler, pruner=pruner)
    env = dict(os.environ, EXPRUNNER_MAX_THREADS="1")
    lock, tally_lock = threading.Lock(), threading.Lock()
    tally = {"epochs": 0, "pruned": 0, "diverged": 0, "best": None}

    def objective(trial):
        lr = trial.suggest_float("lr", 1e-4, 10, log=True)
        runs = os.path.join(work, f"runs-{name}-{seed}", str(trial.number))
        p = subprocess.Popen([cli, "run", config, "--runs", runs, "-q", "--set", f"training.learning_rate={lr!r}"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, text=True)
        seen, epochs, pruned = 0, 0, False
        while True:
            done = p.poll() is not None
            rows = []
            for path in glob_metrics(runs):
                with open(path) as f:
                    lines = f.read().split("\n")[:-1]  # whole lines only: the last may be being written
                rows = list(csv.DictReader(lines))
            epochs = sum(r["split"] == "train" for r in rows)
            val = [float(r["accuracy"]) for r in rows if r["split"] == "validation"]
            while seen < len(val) and not pruned:
                with lock:
                    trial.report(val[seen], seen + 1)
                    pruned = prune and trial.should_prune()
                seen += 1
            if pruned or done:
                break
            time.sleep(0.05)
        if pruned:
            p.send_signal(signal.SIGTERM)
            p.wait()
            epochs = seen  # the epochs whose results were reported: the next one was cut short
        else:
            p.wait()
        summary_path = next(iter(glob_metrics(runs, "summary.json")), None)
        summary = json.load(open(summary_path)) if summary_path else {}
        with tally_lock:
            tally["epochs"] += epochs
            if pruned:
                tally["pruned"] += 1
            elif summary.get("status") == "DIVERGED":
                tally["diverged"] += 1
        if pruned:
            raise optuna.TrialPruned()
        if summary.get("status") != "FINISHED":
            if summary.get("status") == "DIVERGED":
                return 0.0  # as a sweep scores a diverged trial: below every finished one
            raise RuntimeError(f"{name} seed {seed}: a run ended {summary.get('status')}: {p.stderr.read()[-2000:]}")
        acc = summary["final"]["validation_accuracy"]
        with tally_lock:
            tally["best"] = acc if tally["best"] is None else max(tally["best"], acc)
        return acc

    # Two trials at a time by ask and tell from two threads (study.optimize(n_jobs=2) would reseed the
    # sampler for every trial, so its seed would not fix its draws); asked and told under one lock.
    t0 = time.time()
    asked = [0]
    failures = []

    def worker():
        while not failures:
            with lock:
                if asked[0] >= trials:
                    return
                asked[0] += 1
                trial = study.ask()
            try:
                value = objective(trial)
                with lock:
                    study.tell(trial, value)
            except optuna.TrialPruned:
                with lock:
                    study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            except Exception as e:  # raised once the other worker has stopped
                failures.append(e)
                with lock:
                    study.tell(trial, state=optuna.trial.TrialState.FAIL)

    workers = [threading.Thread(target=worker) for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    if failures:
        raise failures[0]
    return {"best": tally["best"], "epochs": tally["epochs"], "pruned": tally["pruned"], "diverged": tally["diverged"], "seconds": time.time() - t0}


def glob_metrics(runs, name="metrics.csv"):
    import glob
    return glob.glob(os.path.join(runs, "*", "*", name))


def main():
    seeds = list(range(1, int(os.environ.get("SEEDS", "5")) + 1))
    names = list(procedures) + ["optuna-tpe", "optuna-random", "optuna-sha"]
    results = {name: [] for name in names}
    with tempfile.TemporaryDirectory(prefix="exprunner-search-") as work:
        for seed in seeds:
            for name in names:
                r = optuna_run(work, name, seed) if name.startswith("optuna") else run(work, name, seed)
                results[name].append(r)
                print(f"  {name:13} seed {seed}: best val acc {r['best']:.4f}, {r['epochs']} epochs, "
                      f"{r['pruned']} pruned, {r['diverged']} diverged, {r['seconds']:.0f} s", file=sys.stderr, flush=True)
    mean = lambda xs: sum(xs) / len(xs)
    rnd, asha, tpe = results["random"], results["asha"], results["tpe"]
    import optuna
    lines = [f"Search on Fashion-MNIST 784-128-64-10, 10 epochs, lr loguniform [1e-4, 10], {trials} trials, seeds {seeds}, two at a time, "
             f"{os.cpu_count()} cores of {cpu()}; Optuna {optuna.__version__}",
             f"{'procedure':<15}{'seed':>5}{'best val acc':>14}{'epochs':>8}{'pruned':>8}{'diverged':>10}{'seconds':>9}"]
    for name in names:
        for seed, r in zip(seeds, results[name]):
            lines.append(f"{name:<15}{seed:>5}{r['best']:>14.4f}{r['epochs']:>8}{r['pruned']:>8}{r['diverged']:>10}{r['seconds']:>9.0f}")
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
    sd = lambda xs: statistics.stdev(xs) if len(xs) > 1 else 0.0
    for ours, theirs, label in (("tpe", "optuna-tpe", "tpe vs Optuna's TPESampler"), ("asha", "optuna-sha", "asha vs Optuna's SuccessiveHalvingPruner")):
        diff = [100 * (a["best"] - b["best"]) for a, b in zip(results[ours], results[theirs])]
        ok = mean(diff) >= -sd(diff)
        line = (f"{label}: best {mean(diff):+.2f} pp on average (per seed: {', '.join(f'{d:+.2f}' for d in diff)}; spread {sd(diff):.2f} pp)")
        if ours == "asha":
            extra = [a["epochs"] - b["epochs"] for a, b in zip(results[ours], results[theirs])]
            ok = ok and mean(extra) <= sd(extra)
            line += (f", epochs {mean([a['epochs'] for a in results[ours]]):.0f} vs {mean([b['epochs'] for b in results[theirs]]):.0f} "
                     f"(per seed: {', '.join(f'{e:+d}' for e in extra)}; spread {sd(extra):.0f})")
        lines.append(f"{line}   target: at least as good, within the spread   {'MET' if ok else 'MISSED'}")
    # The two pruners draw different learning rates: each against its own draws trained to the end separates the pruning from the draws' luck.
    own = [100 * (r["best"] - a["best"]) for r, a in zip(rnd, asha)]
    theirs = [100 * (r["best"] - a["best"]) for r, a in zip(results["optuna-random"], results["optuna-sha"])]
    lines.append(f"pruning's cost against its own draws trained to the end: asha {mean(own):+.2f} pp behind with "
                 f"{100 * share:.0f} % of the epochs; Optuna's successive halving {mean(theirs):+.2f} pp behind with "
                 f"{100 * sum(a['epochs'] for a in results['optuna-sha']) / sum(r['epochs'] for r in results['optuna-random']):.0f} % "
                 f"(draws: random {mean([r['best'] for r in rnd]):.4f}, Optuna's random {mean([r['best'] for r in results['optuna-random']]):.4f})")
    text = "\n".join(lines) + "\n"
    print(text, end="")
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    with open(out, "w") as f:
        f.write(text)


main()
