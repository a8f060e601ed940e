"""The CPU a benchmark ran on, as its output names it beside every figure: the model, its microarchitecture
(under a hypervisor the model name is often only "AMD EPYC", and which Zen it is decides how fast each
kernel family runs), the widest vector extension it has and its L1 data and L2 caches, e.g.
"AMD EPYC (Zen 2, avx2; L1d 32 KB, L2 512 KB)". The same table as the tool's own (src/ExpRunner.Core/Nn/Cpu.cs),
which each run records in run.json."""


def microarchitecture(vendor, family, model, stepping):
    if vendor == "AuthenticAMD":
        if family == 0x17:
            return "Zen 2" if model >= 0x30 else "Zen/Zen+"
        if family == 0x19:
            return "Zen 4" if 0x10 <= model <= 0x1f or 0x60 <= model <= 0x7f or 0xa0 <= model <= 0xaf else "Zen 3"
        if family == 0x1a:
            return "Zen 5"
    if vendor == "GenuineIntel" and family == 6:
        if model == 0x55:
            return "Cooper Lake" if stepping >= 10 else "Cascade Lake" if stepping >= 5 else "Skylake-SP"
        return {0x6a: "Ice Lake-SP", 0x6c: "Ice Lake-SP", 0x8f: "Sapphire Rapids", 0xcf: "Emerald Rapids",
                0xad: "Granite Rapids", 0xae: "Granite Rapids"}.get(model)
    return None


def cache(level, kind):
    import glob
    for d in sorted(glob.glob("/sys/devices/system/cpu/cpu0/cache/index*")):
        try:
            read = lambda f: open(f"{d}/{f}").read().strip()
            if read("level") == str(level) and read("type") == kind:
                size = read("size")
                return int(size[:-1]) * (1024 if size[-1] == "K" else 1 << 20) if size[-1] in "KM" else int(size)
        except (OSError, ValueError):
            pass
    return 0


def size(b):
    return f"{b >> 20} MB" if b >= 1 << 20 and b % (1 << 20) == 0 else f"{b >> 10} KB"


def cpu():
    info, flags = {}, set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if not line.strip():
                    break  # the first processor's block
                key, _, value = line.partition(":")
                info.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    flags = set(info.get("flags", "").split())
    model = info.get("model name", "unknown CPU")
    number = lambda k: int(info[k]) if info.get(k, "").isdigit() else -1
    arch = microarchitecture(info.get("vendor_id", ""), number("cpu family"), number("model"), number("stepping"))
    widest = next((x for x in ("avx512f", "avx2", "avx", "sse4_2") if x in flags), None)
    first = ", ".join(x for x in (arch if arch and arch not in model else None, widest) if x)
    l1, l2 = cache(1, "Data"), cache(2, "Unified")
    parts = [p for p in (first, f"L1d {size(l1)}, L2 {size(l2)}" if l1 and l2 else "") if p]
    return f"{model} ({'; '.join(parts)})" if parts else model


if __name__ == "__main__":
    print(cpu())
