"""The CPU a benchmark ran on, as its output names it beside every figure: the model and the widest
vector extension it has (the kernels' speed depends on it), e.g. "AMD EPYC (avx512f)"."""


def cpu():
    model, flags = "unknown CPU", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and model == "unknown CPU":
                    model = value.strip()
                elif key.strip() == "flags" and not flags:
                    flags = set(value.split())
    except OSError:
        pass
    widest = next((x for x in ("avx512f", "avx2", "avx", "sse4_2") if x in flags), None)
    return f"{model} ({widest})" if widest else model
