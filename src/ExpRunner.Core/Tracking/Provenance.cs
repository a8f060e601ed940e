using System.Diagnostics;
using System.Reflection;

namespace ExpRunner.Tracking;

/// <summary>What a run records about where it ran: git commit, versions, process identity.</summary>
public static class Provenance
{
    /// <summary>The commit of a git working tree, and whether its tracked files differ from it.</summary>
    public sealed record GitState(string Commit, bool? Dirty);

    /// <summary>
    /// The commit checked out in the nearest enclosing git work tree (read from .git directly) and
    /// whether the tree is dirty (from `git status` when git is on the PATH; null when unknown).
    /// </summary>
    public static GitState? Git(string startDir)
    {
        string? commit = GitCommit(startDir, out string? root);
        if (commit is null || root is null) return null;
        bool? dirty = null;
        try
        {
            var psi = new ProcessStartInfo("git", ["-C", root, "status", "--porcelain", "--untracked-files=no"])
                { RedirectStandardOutput = true, RedirectStandardError = true };
            using var p = Process.Start(psi)!;
            _ = p.StandardError.ReadToEndAsync();
            string output = p.StandardOutput.ReadToEnd();
            if (p.WaitForExit(10_000) && p.ExitCode == 0) dirty = output.Trim().Length > 0;
        }
        catch (System.ComponentModel.Win32Exception) { } // no git on the PATH
        return new GitState(commit, dirty);
    }

    private static string? GitCommit(string startDir, out string? root)
    {
        root = null;
        try
        {
            for (var dir = new DirectoryInfo(startDir); dir is not null; dir = dir.Parent)
            {
                string git = Path.Combine(dir.FullName, ".git");
                if (!Directory.Exists(git)) continue;
                root = dir.FullName;
                string head = File.ReadAllText(Path.Combine(git, "HEAD")).Trim();
                if (!head.StartsWith("ref: ", StringComparison.Ordinal)) return head;
                string refName = head[5..];
                string refFile = Path.Combine(git, refName);
                if (File.Exists(refFile)) return File.ReadAllText(refFile).Trim();
                string packed = Path.Combine(git, "packed-refs");
                if (File.Exists(packed))
                    foreach (var line in File.ReadLines(packed))
                        if (line.EndsWith(" " + refName, StringComparison.Ordinal)) return line[..40];
                return null;
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return null;
    }

    /// <summary>ExpRunner's version (the package's, without build metadata).</summary>
    public static string Version { get; } =
        (typeof(Provenance).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown").Split('+')[0];

    public static Dictionary<string, string> Versions(int vectorBits = 0) => new()
    {
        ["exprunner"] = Version,
        ["dotnet"] = Environment.Version.ToString(),
        ["os"] = System.Runtime.InteropServices.RuntimeInformation.OSDescription,
        ["simd"] = Nn.Gemm.Family(vectorBits),
        ["cpu"] = Nn.Cpu.Description,
    };
}
