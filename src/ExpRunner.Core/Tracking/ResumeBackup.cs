using System.Runtime.InteropServices;

namespace ExpRunner.Tracking;

/// <summary>
/// The files a resume replaces (metrics, summary, weights, curves, checkpoint), kept as they were
/// until it ends — as hard links, so keeping them costs no copy and no space: every one of these files
/// is replaced by a rename, never written in place. A resume that fails puts them back, so the folder's
/// weights, summary, metrics and checkpoint are again those of one state, the one before the resume.
/// A resume that dies leaves the links behind; the next resume of the folder drops them first.
/// </summary>
public sealed partial class ResumeBackup
{
    public const string DirName = ".before-resume";
    private static readonly string[] Files =
        [RunFolder.MetricsFile, StepLog.File, StepLog.HistogramsFile, WeightChecksums.File, RunFolder.SummaryFile, RunFolder.WeightsFile, RunFolder.CurvesFile, RunFolder.StepCurvesFile, RunFolder.CheckpointFile];

    private readonly RunFolder _folder;
    private readonly string _dir;

    private ResumeBackup(RunFolder folder, string dir) { _folder = folder; _dir = dir; }

    public static ResumeBackup Take(RunFolder folder)
    {
        string dir = folder.PathOf(DirName);
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        Directory.CreateDirectory(dir);
        foreach (var file in Files)
        {
            string from = folder.PathOf(file), to = Path.Combine(dir, file);
            if (!File.Exists(from)) continue;
            bool linked;
            try { linked = Link(from, to) == 0; }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { linked = false; }
            if (!linked) File.Copy(from, to); // a filesystem without hard links
        }
        return new ResumeBackup(folder, dir);
    }

    /// <summary>Puts every kept file back, and removes those the resume made that were not there before.</summary>
    public void Restore()
    {
        foreach (var file in Files)
        {
            string kept = Path.Combine(_dir, file), current = _folder.PathOf(file);
            if (File.Exists(kept)) File.Move(kept, current, overwrite: true);
            else if (File.Exists(current)) File.Delete(current);
        }
        Discard();
    }

    public void Discard()
    {
        try { Directory.Delete(_dir, recursive: true); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    [LibraryImport("libc", EntryPoint = "link", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Link(string oldPath, string newPath);
}
