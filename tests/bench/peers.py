"""Peer implementations of the ExpRunner training benchmark: the same networks, data, batch sizes
and epoch definition (shuffle + all batches) in PyTorch and in NumPy, plus a measured GEMM peak.

usage: python3 peers.py torch|numpy|torch-eval|numpy-eval|peak|blas CONFIG THREADS DATA_DIR
prints one line: samples_per_second=<median of the timed epochs> low=<slowest> high=<fastest> (or
gflops=<peak>); the eval kinds time batched inference over the 10k test set (batches of 1024,
output activation, loss and argmax, as `exprunner eval` does): cold=<first pass> warm=<median of
the next passes>; blas prints, as JSON, the BLAS each peer loaded (library, version, the CPU core
it chose) and the relative error of its float32 products against float64 ones.
"""
import ctypes, gzip, json, os, struct, sys, time
import numpy as np

CONFIGS = {  # name: (hidden widths, activation, loss, batch)
    "C1": ([20, 20], "sigmoid", "sse", 100),
    "C2": ([30], "sigmoid", "sse", 10),
    "C3": ([128, 64], "relu", "ce", 64),
    "C4": ([512, 512], "relu", "ce", 128),
}
WARMUP, TIMED = 1, 3


EVAL_BATCH, EVAL_PASSES = 1024, 6


def load(data_dir, split="train"):
    def read(name):
        with gzip.open(os.path.join(data_dir, name + ".gz"), "rb") as f:
            return f.read()
    prefix = "train" if split == "train" else "t10k"
    raw = read(prefix + "-images-idx3-ubyte")
    n, rows, cols = struct.unpack(">III", raw[4:16])
    x = np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(n, rows * cols)
    y = np.frombuffer(read(prefix + "-labels-idx1-ubyte"), dtype=np.uint8, offset=8).astype(np.int64)
    return x, y


def torch_net(cfg):
    import torch
    hidden, act, loss, batch = cfg
    widths = [784] + hidden + [10]
    layers = []
    for i in range(len(widths) - 1):
        layers.append(torch.nn.Linear(widths[i], widths[i + 1]))
        if i < len(widths) - 2:
            layers.append(torch.nn.Sigmoid() if act == "sigmoid" else torch.nn.ReLU())
    if loss == "sse":
        layers.append(torch.nn.Sigmoid())
    return torch.nn.Sequential(*layers)


def numpy_weights(cfg, rng):
    """Uniform ±0.5 for sigmoid nets; He-uniform for ReLU nets (as the ExpRunner configs), so training stays finite."""
    hidden, act, _, _ = cfg
    widths = [784] + hidden + [10]
    W = []
    for i in range(len(widths) - 1):
        limit = 0.5 if act == "sigmoid" else (6.0 / widths[i]) ** 0.5
        W.append(rng.uniform(-limit, limit, (widths[i + 1], widths[i])).astype(np.float32))
    return W, [np.zeros(w, np.float32) for w in widths[1:]]


def timed_passes(one_pass):
    times = []
    for _ in range(EVAL_PASSES):
        t0 = time.perf_counter()
        one_pass()
        times.append(time.perf_counter() - t0)
    return times[0], float(np.median(times[1:]))


def eval_torch(cfg, threads, x, y):
    import torch
    torch.set_num_threads(threads)
    net = torch_net(cfg).eval()
    xt, yt = torch.from_numpy(x.copy()), torch.from_numpy(y.copy())
    eye = torch.eye(10)

    def one_pass():
        with torch.no_grad():
            correct, total = 0, 0.0
            for s in range(0, len(xt), EVAL_BATCH):
                out = net(xt[s:s + EVAL_BATCH].float().div_(255))
                yb = yt[s:s + EVAL_BATCH]
                if cfg[2] == "sse":
                    total += float(0.5 * ((out - eye[yb]) ** 2).sum())
                else:
                    total += float(torch.nn.functional.cross_entropy(out, yb, reduction="sum"))
                correct += int((out.argmax(1) == yb).sum())
    return timed_passes(one_pass)


def eval_numpy(cfg, threads, x, y):
    W, b = numpy_weights(cfg, np.random.default_rng(1))
    eye = np.eye(10, dtype=np.float32)
    act, loss = cfg[1], cfg[2]

    def one_pass():
        correct, total = 0, 0.0
        for s in range(0, len(x), EVAL_BATCH):
            a = x[s:s + EVAL_BATCH].astype(np.float32) / np.float32(255)
            yb = y[s:s + EVAL_BATCH]
            for i in range(len(W)):
                z = a @ W[i].T + b[i]
                if i < len(W) - 1:
                    a = 1.0 / (1.0 + np.exp(-z)) if act == "sigmoid" else np.maximum(z, 0)
                elif loss == "sse":
                    a = 1.0 / (1.0 + np.exp(-z))
                    total += float(0.5 * ((a - eye[yb]) ** 2).sum())
                else:
                    m = z.max(axis=1, keepdims=True)
                    lse = m[:, 0] + np.log(np.exp(z - m).sum(axis=1))
                    total += float((lse - z[np.arange(len(yb)), yb]).sum())
                    a = z
            correct += int((a.argmax(axis=1) == yb).sum())
    return timed_passes(one_pass)


def run_torch(cfg, threads, x, y):
    import torch
    torch.set_num_threads(threads)
    hidden, act, loss, batch = cfg
    net = torch_net(cfg)
    opt = torch.optim.SGD(net.parameters(), lr=0.01)
    xt = torch.from_numpy(x.copy())  # bytes, scaled per batch like ExpRunner
    yt = torch.from_numpy(y.copy())
    eye = torch.eye(10)
    times = []
    for epoch in range(WARMUP + TIMED):
        t0 = time.perf_counter()
        perm = torch.randperm(len(xt))
        for s in range(0, len(xt), batch):
            idx = perm[s:s + batch]
            xb = xt[idx].float().div_(255)
            out = net(xb)
            if loss == "sse":
                l = 0.5 * ((out - eye[yt[idx]]) ** 2).sum()
            else:
                l = torch.nn.functional.cross_entropy(out, yt[idx])
            opt.zero_grad(set_to_none=True)
            l.backward()
            opt.step()
        times.append(time.perf_counter() - t0)
    return rates(len(xt), times)


def rates(n, times):
    timed = times[WARMUP:]
    return n / float(np.median(timed)), n / max(timed), n / min(timed)


def run_numpy(cfg, threads, x, y):
    hidden, act, loss, batch = cfg
    rng = np.random.default_rng(1)
    W, b = numpy_weights(cfg, rng)
    eye = np.eye(10, dtype=np.float32)
    sig = lambda z: 1.0 / (1.0 + np.exp(-z))
    lr = np.float32(0.01)
    times = []
    for epoch in range(WARMUP + TIMED):
        t0 = time.perf_counter()
        perm = rng.permutation(len(x))
        for s in range(0, len(x), batch):
            idx = perm[s:s + batch]
            a = [x[idx].astype(np.float32) / np.float32(255)]
            zs = []
            for i in range(len(W)):
                z = a[-1] @ W[i].T + b[i]
                zs.append(z)
                last = i == len(W) - 1
                if last and loss == "ce":
                    e = np.exp(z - z.max(axis=1, keepdims=True))
                    a.append(e / e.sum(axis=1, keepdims=True))
                elif act == "sigmoid" or (last and loss == "sse"):
                    a.append(sig(z))
                else:
                    a.append(np.maximum(z, 0))
            t = eye[y[idx]]
            d = a[-1] - t
            if loss == "sse":
                d *= a[-1] * (1 - a[-1])
            for i in reversed(range(len(W))):
                dW = d.T @ a[i]
                db = d.sum(axis=0)
                if i > 0:
                    da = d @ W[i]
                    d = da * (a[i] * (1 - a[i]) if act == "sigmoid" else (zs[i - 1] > 0))
                W[i] -= lr * dW
                b[i] -= lr * db
        times.append(time.perf_counter() - t0)
    return rates(len(x), times)


def blas_libraries():
    """The BLAS libraries this process loaded: OpenBLAS with its build config and the core it runs on, or what else it is."""
    found = []
    with open("/proc/self/maps") as maps:
        paths = sorted({line.split()[-1] for line in maps if "blas" in line.lower() and line.split()[-1].startswith("/")})
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
            lib.openblas_get_config.restype = ctypes.c_char_p
            lib.openblas_get_corename.restype = ctypes.c_char_p
            found.append({"library": path, "config": lib.openblas_get_config().decode().strip(), "core": lib.openblas_get_corename().decode()})
        except AttributeError:
            found.append({"library": path, "config": "not OpenBLAS (the reference BLAS? install libopenblas0)", "core": "-"})
        except OSError:
            found.append({"library": path})
    return found


def blas():
    """What each peer's BLAS is, and whether its float32 products are right (against float64 ones)."""
    rng = np.random.default_rng(7)
    shapes = [(128, 784, 512), (128, 512, 512), (100, 784, 20), (1000, 333, 77)]
    def error(mm32, mm64):
        worst = 0.0
        for m, k, n in shapes:
            a, b = rng.standard_normal((m, k)).astype(np.float32), rng.standard_normal((k, n)).astype(np.float32)
            exact = mm64(a.astype(np.float64), b.astype(np.float64))
            worst = max(worst, float(np.linalg.norm(mm32(a, b).astype(np.float64) - exact) / np.linalg.norm(exact)))
        return worst
    info = {"numpy": {"version": np.__version__, "error": error(lambda a, b: a @ b, lambda a, b: a @ b)}}
    import torch
    import re
    torch_blas = [f"{k}={v}" for k, v in re.findall(r"\b(BLAS_INFO|LAPACK_INFO|USE_MKLDNN|USE_OPENMP)=(\w+)", torch.__config__.show())]
    info["torch"] = {"version": torch.__version__, "blas": torch_blas,
                     "error": error(lambda a, b: torch.from_numpy(a).mm(torch.from_numpy(b)).numpy(), lambda a, b: a @ b)}
    info["libraries"] = blas_libraries()
    return info


def peak(threads):
    n = 2048
    a = np.random.default_rng(0).random((n, n), dtype=np.float32)
    bm = np.random.default_rng(1).random((n, n), dtype=np.float32)
    a @ bm
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        a @ bm
        best = min(best, time.perf_counter() - t0)
    return 2.0 * n ** 3 / best / 1e9


if __name__ == "__main__":
    kind, name, threads, data_dir = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    if kind == "peak":
        print(f"gflops={peak(threads):.1f}")
        sys.exit(0)
    if kind == "blas":
        print(json.dumps(blas()))
        sys.exit(0)
    if kind.endswith("-eval"):
        x, y = load(data_dir, "test")
        cold, warm = (eval_torch if kind == "torch-eval" else eval_numpy)(CONFIGS[name], threads, x, y)
        print(f"cold={len(x) / cold:.0f} warm={len(x) / warm:.0f}")
        sys.exit(0)
    x, y = load(data_dir)
    rate, low, high = (run_torch if kind == "torch" else run_numpy)(CONFIGS[name], threads, x, y)
    print(f"samples_per_second={rate:.0f} low={low:.0f} high={high:.0f}")
