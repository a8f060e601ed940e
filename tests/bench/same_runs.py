"""Whether two runs directories hold the same sweep results, trial by trial: status, metrics (without
times), every step, weight checksums, initial and final weights (tensors, not the metadata naming the
run), summary. Prints one line; exit 1 when anything differs. Usage: same_runs.py RUNS_A RUNS_B"""
import csv, gzip, json, os, struct, sys


def trials(root):
    sweeps = os.path.join(root, "_sweeps")
    (sweep,) = os.listdir(sweeps)
    record = json.load(open(os.path.join(sweeps, sweep, "sweep.json")))
    return {t["index"]: (t["status"], os.path.join(root, t["run_dir"]) if t.get("run_dir") else None) for t in record["trials"]}


def tensors(path):
    data = open(path, "rb").read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    header.pop("__metadata__", None)
    return header, data[8 + n:]


def table(path):
    if not os.path.exists(path):
        return None
    with (gzip.open if path.endswith(".gz") else open)(path, "rt") as f:
        rows = list(csv.reader(f))
    keep = [i for i, c in enumerate(rows[0]) if c not in ("seconds", "timestamp")]
    return [[r[i] for i in keep if i < len(r)] for r in rows]


def main(a_root, b_root):
    a, b = trials(a_root), trials(b_root)
    differences = []
    for k in sorted(a):
        (sa, da), (sb, db) = a[k], b.get(k, (None, None))
        if sa != sb or da is None or db is None:
            differences.append(f"trial {k}: {sa} vs {sb}")
            continue
        for f in ("init.safetensors", "model.safetensors"):
            if tensors(os.path.join(da, f)) != tensors(os.path.join(db, f)):
                differences.append(f"trial {k}: {f}")
        for f in ("metrics.csv", "steps.csv.gz", "checksums.csv"):
            if table(os.path.join(da, f)) != table(os.path.join(db, f)):
                differences.append(f"trial {k}: {f}")
        ja, jb = (json.load(open(os.path.join(d, "summary.json"))) for d in (da, db))
        for key in ("status", "final", "epochs_run", "steps", "best", "weights_epoch", "best_epoch"):
            if ja.get(key) != jb.get(key):
                differences.append(f"trial {k}: summary {key}")
    print(f"{len(a)} trials, {'identical' if not differences else 'DIFFERENT: ' + '; '.join(differences[:5])}")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
