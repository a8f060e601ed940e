using System.Diagnostics;
using ExpRunner.Sweeps;
using ExpRunner.Tests.Support;
using ExpRunner.Tracking;

namespace ExpRunner.Tests.Tracking;

/// <summary>What a run records about where it came from.</summary>
public class ProvenanceTests
{
    private const string Xor = """
        name: prov
        dataset: { name: xor, samples: 100 }
        model: { layers: [ { units: 4, activation: tanh }, { units: 1, activation: sigmoid } ] }
        loss: bce
        training: { epochs: 2 }
        """;

    private static string Git(string dir, params string[] args)
    {
        var psi = new ProcessStartInfo("git", ["-C", dir, "-c", "user.name=t", "-c", "user.email=t@t", .. args]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"git {string.Join(' ', args)}: {p.StandardError.ReadToEnd()}");
        return output.Trim();
    }

    private static RunRecord OnlyRun(string runs, string experiment = "prov") =>
        RunFolder.Open(Directory.GetDirectories(Path.Combine(runs, experiment)).Single()).ReadRecord()!;

    [Fact]
    public void A_run_records_the_commit_of_its_configs_working_tree_and_whether_it_was_dirty()
    {
        using var dir = new TempDir();
        Git(dir.Path, "init", "-q");
        string config = dir.Write("prov.yaml", Xor);
        Git(dir.Path, "add", "prov.yaml");
        Git(dir.Path, "commit", "-q", "-m", "config");
        string head = Git(dir.Path, "rev-parse", "HEAD");

        var first = InProcess.Run("run", config, "--runs", dir.File("clean"), "-q");
        Assert.True(first.ExitCode == 0, first.ToString());
        var clean = OnlyRun(dir.File("clean"));
        Assert.Equal((head, (bool?)false), (clean.GitCommit, clean.GitDirty));
        Assert.Equal(ExpRunner.Nn.Gemm.Family(), clean.Versions["simd"]);
        // The CPU it ran on, as the benchmarks name it: the model name /proc/cpuinfo gives, then what Cpu.cs adds.
        string model = File.ReadLines("/proc/cpuinfo").First(l => l.StartsWith("model name", StringComparison.Ordinal)).Split(':', 2)[1].Trim();
        Assert.StartsWith(model, clean.Versions["cpu"], StringComparison.Ordinal);
        Assert.Equal(ExpRunner.Nn.Cpu.Description, clean.Versions["cpu"]);
        // The kernels' width is an option of the run (EXPRUNNER_VECTOR_BITS), recorded as the kernel family it ran on.
        var scalar = InProcess.Run(new Dictionary<string, string> { ["EXPRUNNER_VECTOR_BITS"] = "128" }, "run", config, "--runs", dir.File("scalar"), "-q");
        Assert.True(scalar.ExitCode == 0, scalar.ToString());
        Assert.Equal("scalar", OnlyRun(dir.File("scalar")).Versions["simd"]);
        Assert.Equal(Provenance.Version, clean.Versions["exprunner"]);

        File.AppendAllText(config, "\nseed: 5\n");
        var second = InProcess.Run("run", config, "--runs", dir.File("dirty"), "-q");
        Assert.True(second.ExitCode == 0, second.ToString());
        Assert.Equal((head, (bool?)true), (OnlyRun(dir.File("dirty")).GitCommit, OnlyRun(dir.File("dirty")).GitDirty));

        // A sweep's trials run a copy of the config outside the tree: they record the sweep's source and commit.
        var sweep = InProcess.Run("sweep", config, "--set", "training.epochs=1,2", "--runs", "/tmp/" + Path.GetFileName(dir.Path) + "-sweep");
        try
        {
            Assert.True(sweep.ExitCode == 0, sweep.ToString());
            var store = new SweepStore("/tmp/" + Path.GetFileName(dir.Path) + "-sweep");
            Assert.All(store.Read("latest").Trials, t =>
            {
                var record = RunFolder.Open(store.RunDirOf(t)!).ReadRecord()!;
                Assert.Equal((head, (bool?)true, config), (record.GitCommit, record.GitDirty, record.SourceConfig));
            });
        }
        finally { Directory.Delete("/tmp/" + Path.GetFileName(dir.Path) + "-sweep", recursive: true); }
    }
}
