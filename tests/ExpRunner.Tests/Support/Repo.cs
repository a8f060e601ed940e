using System.Diagnostics;
using System.Text;

namespace ExpRunner.Tests.Support;

/// <summary>Paths of the repository and the data `make data` installs.</summary>
public static class Repo
{
    public static string Root { get; } = FindRoot();

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "ExpRunner.sln"))) return dir.FullName;
        throw new InvalidOperationException("cannot find the repository root (ExpRunner.sln) above " + AppContext.BaseDirectory);
    }

    public static string Experiments(string file) => Path.Combine(Root, "experiments", file);

    /// <summary>A data folder installed by `make data`; a test needing it fails loudly if it is missing.</summary>
    public static string Data(string name)
    {
        string dir = Path.Combine(Root, "data", name);
        if (!ExpRunner.Data.DataFetcher.IsComplete(dir))
            throw new InvalidOperationException($"{dir} is missing: run `make data` (make test does it first)");
        return dir;
    }
}

/// <summary>A temporary folder deleted when disposed.</summary>
public sealed class TempDir : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("exprunner-test-").FullName;
    public string File(string name) => System.IO.Path.Combine(Path, name);
    public string Write(string name, string text) { System.IO.File.WriteAllText(File(name), text); return File(name); }
    public void Dispose() { try { Directory.Delete(Path, recursive: true); } catch (IOException) { } }
}

public sealed record CliResult(int ExitCode, string Stdout, string Stderr)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}";
}

/// <summary>Runs the real `exprunner` (the CLI assembly beside the tests) as a child process.</summary>
public static class ExpRunnerProcess
{
    public static string Dll => System.IO.Path.Combine(AppContext.BaseDirectory, "exprunner.dll");

    public static Process Start(string workDir, IDictionary<string, string>? env, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { WorkingDirectory = workDir, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["NO_COLOR"] = "1";
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        if (env is not null) foreach (var (k, v) in env) psi.Environment[k] = v;
        return Process.Start(psi)!;
    }

    public static CliResult Run(string workDir, params string[] args) => Run(workDir, null, args);

    public static CliResult Run(string workDir, IDictionary<string, string>? env, params string[] args)
    {
        using var p = Start(workDir, env, args);
        return Wait(p, TimeSpan.FromMinutes(3));
    }

    public static CliResult Wait(Process p, TimeSpan timeout)
    {
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"exprunner did not finish within {timeout}");
        }
        return new CliResult(p.ExitCode, stdout.Result, stderr.Result);
    }
}
