using System.Text;

namespace ExpRunner.IO;

/// <summary>Files appear whole or not at all: written to a temporary name, then renamed.</summary>
public static class Atomic
{
    /// <summary>
    /// Writes <paramref name="path"/> whole; a failure is an IOException naming the file and why (not
    /// the temporary name). <paramref name="durable"/>: flushed to the disk before the rename (survives
    /// a power cut); without it the file is still whole or absent to every process.
    /// </summary>
    public static void Write(string path, Action<Stream> write, bool durable = true)
    {
        string tmp = $"{path}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write))
            {
                write(fs);
                fs.Flush(flushToDisk: durable);
            }
            File.Move(tmp, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"cannot write {path}: {Why(e)}", e);
        }
        finally
        {
            try { if (File.Exists(tmp)) File.Delete(tmp); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
    }

    public static void WriteText(string path, string text) =>
        Write(path, s => s.Write(Encoding.UTF8.GetBytes(text)));

    /// <summary>Why a file operation failed, in a few words (the exception's message names the path itself, often a temporary one).</summary>
    public static string Why(Exception e) => e switch
    {
        UnauthorizedAccessException => "permission denied",
        IOException when (e.HResult & 0xFFFF) == 28 || e.Message.Contains("No space left", StringComparison.OrdinalIgnoreCase) => "no space left on device",
        IOException when e.Message.Contains("Read-only file system", StringComparison.OrdinalIgnoreCase) => "read-only file system",
        _ => e.Message,
    };
}
