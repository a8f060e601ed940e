using System.Diagnostics;
using ExpRunner.Tests.Support;
using ExpRunner.Tracking;

namespace ExpRunner.Tests.Cli;

/// <summary>Inputs and faults that used to answer wrong without a word, run as a user meets them.</summary>
public class FaultTests(ToolCopy tool) : IClassFixture<ToolCopy>
{
    private const string Xor = """
        name: ft
        seed: 3
        dataset: { name: xor, samples: 200 }
        model: { layers: [ { units: 6, activation: tanh }, { units: 1, activation: sigmoid } ] }
        loss: bce
        training: { learning_rate: 0.5, batch_size: 16, epochs: 3 }
        """;

    private const string CsvConfig = """
        name: csvft
        dataset: { name: csv, path: data.csv, test_split: 0.25 }
        model: { layers: [ { units: 4, activation: tanh }, { units: 1, activation: sigmoid } ] }
        loss: bce
        training: { epochs: 2, batch_size: 8 }
        """;

    private static string Rows(int n) => "x,y,label\n" + string.Join("\n", Enumerable.Range(0, n).Select(i => $"{i % 7},{i % 5},{i % 2}")) + "\n";

    private static void Shell(string command)
    {
        using var p = Process.Start("bash", ["-c", command])!;
        p.WaitForExit();
    }

    [Fact]
    public void A_pipe_or_a_device_as_data_is_refused_not_read_forever()
    {
        using var dir = new TempDir();
        Shell($"mkfifo {dir.File("data.csv")}");
        var fifo = ExpRunnerProcess.Run(dir.Path, "run", dir.Write("c.yaml", CsvConfig), "-q");
        Assert.True(fifo.ExitCode == 2, fifo.ToString());
        Assert.Contains("data.csv: not a regular file", fifo.Stderr);
        var zero = ExpRunnerProcess.Run(dir.Path, "run", dir.Write("z.yaml", CsvConfig.Replace("path: data.csv", "path: /dev/zero")), "-q");
        Assert.True(zero.ExitCode == 2, zero.ToString());
        Assert.Contains("/dev/zero: not a regular file", zero.Stderr);
        Directory.CreateDirectory(dir.File("idx"));
        Shell($"mkfifo {dir.File("idx/train-images-idx3-ubyte")}; for f in train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do : > {dir.File("idx")}/$f; done");
        string mnist = dir.Write("m.yaml", File.ReadAllText(Repo.Experiments("mnist-sgd.yaml")).Replace("path: data/mnist", $"path: {dir.File("idx")}"));
        var idx = ExpRunnerProcess.Run(dir.Path, "run", mnist, "-q");
        Assert.True(idx.ExitCode == 2, idx.ToString());
        Assert.Contains("train-images-idx3-ubyte: not a regular file", idx.Stderr);
        Assert.False(Directory.Exists(dir.File("runs")));
    }

    [Fact]
    public void A_csv_label_must_be_a_class_index_below_a_sane_bound()
    {
        using var dir = new TempDir();
        dir.Write("data.csv", Rows(20).Replace("\n6,1,0\n", "\n6,1,2000000000\n"));
        var r = ExpRunnerProcess.Run(dir.Path, "run", dir.Write("c.yaml", CsvConfig), "-q");
        Assert.True(r.ExitCode == 2, r.ToString());
        Assert.Contains("data.csv:8:5: label 2000000000 is not a class index below 10000", r.Stderr);
    }

    [Fact]
    public void A_broken_run_folder_is_skipped_with_a_warning_naming_it_and_strict_makes_it_an_error()
    {
        using var dir = new TempDir();
        Assert.Equal(0, InProcess.Run("run", dir.Write("ft.yaml", Xor), "--runs", dir.File("runs"), "-q").ExitCode);
        string Broken(string name)
        {
            string d = dir.File($"runs/ft/{name}");
            Directory.CreateDirectory(d);
            return d;
        }
        // An empty run.json is a folder being created (see RunFolder.Create) — for a minute; after that it is broken.
        File.WriteAllText(Path.Combine(Broken("20200101-000000-empty0"), "run.json"), "");
        File.SetLastWriteTimeUtc(dir.File("runs/ft/20200101-000000-empty0/run.json"), DateTime.UtcNow.AddMinutes(-2));
        File.WriteAllText(Path.Combine(Broken("20200101-000000-fresh0"), "run.json"), "");
        File.WriteAllText(Path.Combine(Broken("20200101-000000-corrup"), "run.json"), "{ \"id\": ");
        File.CreateSymbolicLink(Path.Combine(Broken("20200101-000000-device"), "run.json"), "/dev/zero");
        var list = InProcess.Run("list", "--runs", dir.File("runs"));
        Assert.True(list.ExitCode == 0, list.ToString());
        Assert.Contains("FINISHED", list.Stdout);
        Assert.Equal(3, list.Stderr.Split('\n').Count(l => l.StartsWith("warning: skipped a broken run folder", StringComparison.Ordinal)));
        Assert.Contains("20200101-000000-device/run.json: not a regular file", list.Stderr);
        Assert.Contains("20200101-000000-corrup/run.json: not valid JSON", list.Stderr);
        var compare = InProcess.Run("compare", "--runs", dir.File("runs"), "--format", "csv");
        Assert.True(compare.ExitCode == 0, compare.ToString());
        Assert.Equal(2, compare.Stdout.Trim().Split('\n').Length);
        var strict = InProcess.Run("list", "--runs", dir.File("runs"), "--strict");
        Assert.Equal(2, strict.ExitCode);
        Assert.Contains("(--strict)", strict.Stderr);
    }

    [Fact]
    public void A_corrupt_sweep_record_is_named()
    {
        using var dir = new TempDir();
        var sweep = InProcess.Run("sweep", dir.Write("ft.yaml", Xor), "--set", "seed=1,2", "--runs", dir.File("runs"));
        Assert.True(sweep.ExitCode == 0, sweep.ToString());
        string record = Directory.GetFiles(dir.File("runs/_sweeps"), "sweep.json", SearchOption.AllDirectories).Single();
        File.WriteAllText(record, "[1, 2");
        var r = InProcess.Run("compare", "--sweep", "latest", "--runs", dir.File("runs"));
        Assert.Equal(2, r.ExitCode);
        Assert.Contains($"{record}: not a readable sweep record", r.Stderr);
    }

    [Fact]
    public void Output_that_cannot_be_written_ends_in_one_line_and_exit_code_one()
    {
        using var dir = new TempDir();
        string config = dir.Write("ft.yaml", Xor);
        using var p = Process.Start(new ProcessStartInfo("bash", ["-c", $"dotnet {ExpRunnerProcess.Dll} run {config} --runs {dir.File("runs")} --json > /dev/full"])
            { RedirectStandardError = true })!;
        string stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 1, $"exit {p.ExitCode}: {stderr}");
        Assert.Equal("error: cannot write to standard output: no space left on device", stderr.Trim());
    }

    /// <summary>Runs exprunner as the unprivileged user `nobody` (root ignores file permissions, so a test of them must not be root).</summary>
    /// <summary>The tool run as the unprivileged user nobody (from a copy it can reach wherever the clone lives).</summary>
    private Process AsNobody(TempDir dir, params string[] args)
    {
        Shell($"chmod 755 {dir.Path}");
        bool root = Environment.UserName == "root";
        var psi = new ProcessStartInfo(root ? "setpriv" : "dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        if (root) foreach (var a in new[] { "--reuid=65534", "--regid=65534", "--clear-groups", "dotnet" }) psi.ArgumentList.Add(a);
        psi.ArgumentList.Add(root ? tool.Dll : ExpRunnerProcess.Dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["HOME"] = dir.Path;
        psi.Environment["DOTNET_CLI_HOME"] = dir.Path;
        psi.Environment["NO_COLOR"] = "1";
        return Process.Start(psi)!;
    }

    [Fact]
    public void A_runs_directory_that_cannot_be_written_is_a_clear_error_that_leaves_nothing_behind()
    {
        using var dir = new TempDir();
        string config = dir.Write("ft.yaml", Xor);
        Directory.CreateDirectory(dir.File("runs"));
        Shell($"chmod 555 {dir.File("runs")}");
        using var p = AsNobody(dir, "run", config, "--runs", dir.File("runs"), "-q");
        var r = ExpRunnerProcess.Wait(p, TimeSpan.FromMinutes(2));
        Assert.True(r.ExitCode == 2, r.ToString());
        Assert.Contains($"error: cannot create a run folder under '{dir.File("runs")}'", r.Stderr);
        Assert.Empty(Directory.GetFileSystemEntries(dir.File("runs")));
    }

    [Fact]
    public void A_run_folder_that_stops_being_writable_mid_run_ends_failed_with_the_reason()
    {
        using var dir = new TempDir();
        string config = dir.Write("ft.yaml", Xor.Replace("epochs: 3", "epochs: 1000000"));
        Directory.CreateDirectory(dir.File("runs"));
        Shell($"chmod 777 {dir.File("runs")}");
        using var p = AsNobody(dir, "run", config, "--runs", dir.File("runs"), "-q");
        string? run = null;
        Eventually.Reach(() => (run = Directory.Exists(dir.File("runs/ft")) ? Directory.GetDirectories(dir.File("runs/ft")).FirstOrDefault() : null) is not null
            && File.Exists(Path.Combine(run, "metrics.csv")) && File.ReadAllLines(Path.Combine(run, "metrics.csv")).Length > 3, "the run training");
        Shell($"chmod 555 {run}");                 // no file can be created or replaced in the folder any more
        Shell($"kill -TERM {p.Id}");               // end the run: it must say how it ended all the same
        var r = ExpRunnerProcess.Wait(p, TimeSpan.FromMinutes(2));
        Assert.True(r.ExitCode == 1, r.ToString());
        var record = RunFolder.Open(run!).ReadRecord()!;
        Assert.Equal(RunStatus.Failed, record.Status);
        Assert.Contains("permission denied", record.Reason);
        Assert.Contains("cannot write", record.Reason);
        Assert.Contains("FAILED ", r.Stdout);
        Assert.Contains(" reason: ", r.Stdout); // --quiet's one line says why, as the folder does
        Shell($"chmod 755 {run}");
    }
}
