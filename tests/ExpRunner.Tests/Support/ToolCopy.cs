namespace ExpRunner.Tests.Support;

/// <summary>
/// A copy of the built tool that any user can run, for tests that run it as an unprivileged user: the
/// clone may live in a folder only its owner can enter (a `mktemp -d` folder, root's home), where
/// that user could not reach the tool beside the tests. The copy (the tool's assemblies and its
/// native libraries, not the test framework's) is made in the system's temporary folder, readable by
/// all, and deleted with the fixture.
/// </summary>
public sealed class ToolCopy : IDisposable
{
    public string Dir { get; }
    public string Dll => Path.Combine(Dir, "exprunner.dll");

    public ToolCopy()
    {
        Dir = Path.Combine(Path.GetTempPath(), $"exprunner-tool-{Environment.ProcessId}-{Guid.NewGuid():N}");
        string from = AppContext.BaseDirectory;
        var readable = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        var enterable = readable | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
        Directory.CreateDirectory(Dir);
        Mode(Dir, enterable);
        foreach (var file in Directory.GetFiles(from).Where(f => f.EndsWith(".dll", StringComparison.Ordinal) || f.EndsWith(".json", StringComparison.Ordinal)))
        {
            string to = Path.Combine(Dir, Path.GetFileName(file));
            File.Copy(file, to);
            Mode(to, readable);
        }
        string native = Path.Combine(from, "runtimes", "linux-x64");
        if (Directory.Exists(native))
            foreach (var file in Directory.GetFiles(native, "*", SearchOption.AllDirectories))
            {
                string to = Path.Combine(Dir, "runtimes", "linux-x64", Path.GetRelativePath(native, file));
                Directory.CreateDirectory(Path.GetDirectoryName(to)!);
                File.Copy(file, to);
                Mode(to, enterable);
            }
        foreach (var d in Directory.GetDirectories(Dir, "*", SearchOption.AllDirectories)) Mode(d, enterable); // whatever the umask
    }

    private static void Mode(string path, UnixFileMode mode)
    {
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, mode);
    }

    public void Dispose()
    {
        try { Directory.Delete(Dir, recursive: true); } catch (IOException) { }
    }
}
