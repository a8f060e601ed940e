using System.Diagnostics;
using System.Reflection;

namespace ExpRunner;

/// <summary>What a run records about where it ran: git commit, versions, process identity.</summary>
public static class Provenance
{
    /// <summary>The commit checked out in the nearest enclosing git work tree, read from .git directly.</summary>
    public static string? GitCommit(string startDir)
    {
        try
        {
            for (var dir = new DirectoryInfo(startDir); dir is not null; dir = dir.Parent)
            {
                string git = Path.Combine(dir.FullName, ".git");
                if (!Directory.Exists(git)) continue;
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

    public static Dictionary<string, string> Versions() => new()
    {
        ["exprunner"] = typeof(Provenance).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown",
        ["dotnet"] = Environment.Version.ToString(),
        ["os"] = System.Runtime.InteropServices.RuntimeInformation.OSDescription,
        ["simd"] = System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated ? "avx2" : "scalar",
    };

    public static DateTimeOffset? ProcessStart()
    {
        try { return Process.GetCurrentProcess().StartTime.ToUniversalTime(); }
        catch (InvalidOperationException) { return null; }
    }
}
