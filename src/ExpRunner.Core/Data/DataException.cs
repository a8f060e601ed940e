namespace ExpRunner.Data;

/// <summary>Bad or missing data input; the message says which file and what is wrong.</summary>
public sealed class DataException(string message) : Exception(message);

/// <summary>Data files are read only when they are regular files of a sane size (a FIFO would block a run forever, a device never ends).</summary>
internal static class DataFile
{
    public const long MaxBytes = 4L << 30;

    public static void Check(string path, string what)
    {
        try { IO.BoundedFile.Check(path, MaxBytes); }
        catch (FileNotFoundException) { throw new DataException(NotFound(path, what)); }
        catch (InvalidDataException e) { throw new DataException(e.Message); }
    }

    /// <summary>What a data file that is not there gets (checked here, or before a sweep starts).</summary>
    public static string NotFound(string path, string what) => $"{path}: {what} not found";
}
