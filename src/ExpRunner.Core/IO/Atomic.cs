using System.Text;

namespace ExpRunner.IO;

/// <summary>Files appear whole or not at all: written to a temporary name, then renamed.</summary>
public static class Atomic
{
    public static void Write(string path, Action<Stream> write)
    {
        string tmp = $"{path}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write))
            {
                write(fs);
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }

    public static void WriteText(string path, string text) =>
        Write(path, s => s.Write(Encoding.UTF8.GetBytes(text)));
}
