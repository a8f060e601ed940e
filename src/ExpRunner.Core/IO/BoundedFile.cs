using System.Runtime.InteropServices;
using System.Text;

namespace ExpRunner.IO;

/// <summary>
/// Reading files that may be anything: a path is checked to be a regular file (a FIFO would block
/// forever, a device never ends) and its size against a cap before a byte is read, and text must be
/// valid UTF-8 (invalid bytes are an error, not silently replaced). Messages name the file.
/// </summary>
public static partial class BoundedFile
{
    public enum Kind { Missing, Regular, Directory, Other }

    public static Kind KindOf(string path)
    {
        try
        {
            if (Stat(path, out var st) != 0) return File.Exists(path) ? Kind.Regular : Directory.Exists(path) ? Kind.Directory : Kind.Missing;
            return (st.Mode & 0xF000) switch { 0x8000 => Kind.Regular, 0x4000 => Kind.Directory, _ => Kind.Other };
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return File.Exists(path) ? Kind.Regular : Directory.Exists(path) ? Kind.Directory : Kind.Missing;
        }
    }

    /// <summary>The inode number of a path (null where it cannot be had).</summary>
    public static long? Inode(string path)
    {
        try { return Stat(path, out var st) == 0 ? st.Ino : null; }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { return null; }
    }

    /// <summary>Throws unless <paramref name="path"/> is a regular file of at most <paramref name="maxBytes"/> bytes; returns its size.</summary>
    public static long Check(string path, long maxBytes)
    {
        switch (KindOf(path))
        {
            case Kind.Missing: throw new FileNotFoundException($"{path}: no such file", path);
            case Kind.Directory: throw new InvalidDataException($"{path}: is a directory, not a file");
            case Kind.Other: throw new InvalidDataException($"{path}: not a regular file (a pipe, socket or device cannot be read as one)");
        }
        long length = new FileInfo(path).Length;
        if (length > maxBytes) throw new InvalidDataException($"{path}: {length:N0} bytes; at most {maxBytes:N0} are read");
        return length;
    }

    public static byte[] ReadBytes(string path, long maxBytes)
    {
        Check(path, maxBytes);
        try { return File.ReadAllBytes(path); }
        catch (UnauthorizedAccessException) { throw new InvalidDataException($"{path}: permission denied"); }
    }

    /// <summary>The file's text (UTF-8, a byte-order mark skipped); invalid UTF-8 is an error naming the byte.</summary>
    public static string ReadText(string path, long maxBytes) => Decode(ReadBytes(path, maxBytes), path);

    private static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static string Decode(byte[] bytes, string path)
    {
        int start = bytes.Length >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF ? 3 : 0;
        try { return Strict.GetString(bytes, start, bytes.Length - start); }
        catch (DecoderFallbackException e)
        {
            throw new InvalidDataException($"{path}: not UTF-8 text (invalid byte{(e.BytesUnknown?.Length == 1 ? "" : "s")} at offset {start + e.Index})");
        }
    }

    /// <summary>The path with every link, "." and ".." resolved (the file it names in the end), or null when it does not exist.</summary>
    public static string? RealPath(string path)
    {
        IntPtr p;
        try { p = Realpath(path, IntPtr.Zero); }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { return File.Exists(path) || Directory.Exists(path) ? Path.GetFullPath(path) : null; }
        if (p == IntPtr.Zero) return null;
        try { return Marshal.PtrToStringUTF8(p); }
        finally { Free(p); }
    }

    /// <summary>Whether <paramref name="path"/>, its links resolved, lies inside <paramref name="root"/> (resolved too) or is it.</summary>
    public static bool Inside(string path, string root) =>
        RealPath(path) is { } real && RealPath(root) is { } top && (real == top || real.StartsWith(top.TrimEnd('/') + "/", StringComparison.Ordinal));

    [LibraryImport("libc", EntryPoint = "realpath", StringMarshalling = StringMarshalling.Utf8)]
    private static partial IntPtr Realpath(string path, IntPtr resolved);

    [LibraryImport("libc", EntryPoint = "free")]
    private static partial void Free(IntPtr p);

    /// <summary>The offset of the first byte that is not valid UTF-8 (a byte-order mark allowed), or -1.</summary>
    public static int InvalidUtf8At(byte[] bytes)
    {
        int start = bytes.Length >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF ? 3 : 0;
        var status = System.Text.Unicode.Utf8.ToUtf16(bytes.AsSpan(start), new char[bytes.Length], out int read, out _, replaceInvalidSequences: false);
        return status == System.Buffers.OperationStatus.Done ? -1 : start + read;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct FileStatus
    {
        public int Flags, Mode;
        public uint Uid, Gid;
        public long Size, ATime, ATimeNsec, MTime, MTimeNsec, CTime, CTimeNsec, BirthTime, BirthTimeNsec, Dev, RDev, Ino;
        public uint UserFlags;
    }

    // The runtime's own stat (its FileStatus layout is the same on every platform .NET runs on).
    [LibraryImport("libSystem.Native", EntryPoint = "SystemNative_Stat", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Stat(string path, out FileStatus output);
}
