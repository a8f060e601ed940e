using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using ExpRunner.Tracking;
using Microsoft.Data.Sqlite;

namespace ExpRunner.Compare;

/// <summary>
/// Runs read through the index: the rows (oldest first), each by its folder relative to the runs
/// directory with the modification time it was read at, and what bringing the index up to date did.
/// </summary>
public sealed record RunSet(List<RunRow> Rows, List<string> Dirs, Dictionary<string, long> Mtimes, IndexRefresh Refresh)
{
    /// <summary>False when an update found nothing new (the rows are the previous ones).</summary>
    public bool Changed { get; init; } = true;
}

/// <summary>The index file cannot be used as it is (damaged, of another version, unreadable).</summary>
public sealed class IndexDamagedException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>What refreshing the index did.</summary>
public sealed record IndexRefresh(int Runs, int Added, int Updated, int Removed, IReadOnlyList<string> Broken, double Seconds);

/// <summary>
/// A cache of the run folders' summaries in SQLite, so that `list`, `compare` and `ui` read 100,000
/// runs in well under a second. The run folders stay the truth: the index is brought up to date from
/// them on every use (a folder whose modification time changed is read again; new ones are added,
/// vanished ones dropped), and deleting it loses nothing. It lives in a per-user cache on a local disk
/// (not beside the runs, which are often on NFS where SQLite's locks are unreliable), one file per
/// runs directory; SQLite's own locking (WAL) keeps concurrent readers and writers consistent there.
/// </summary>
public sealed class RunIndex : IDisposable
{
    private const int Schema = 6; // 4: rows read as RunRow.Read reads a folder, fingerprints of run.json and summary.json; 5: and of meta.json (label, tags); 6: fingerprints the same in every process
    private readonly SqliteConnection _db;
    public string RunsRoot { get; }
    public string Path { get; }

    private RunIndex(string runsRoot, string path, SqliteConnection db) { RunsRoot = runsRoot; Path = path; _db = db; }

    /// <summary>
    /// The cache folder: $XDG_CACHE_HOME (else ~/.cache)/exprunner/index — unless that is on a network
    /// filesystem, then a folder of this user's under the system's temporary directory.
    /// </summary>
    public static string CacheDir(Func<string, string?> env, string? mounts = null)
    {
        string home = env("XDG_CACHE_HOME") ?? System.IO.Path.Combine(env("HOME") ?? System.IO.Path.GetTempPath(), ".cache");
        string dir = System.IO.Path.Combine(home, "exprunner", "index");
        return IsNetwork(home, mounts) ? System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"exprunner-{env("USER") ?? "user"}", "index") : dir;
    }

    /// <summary>Whether a path lies on a network filesystem (NFS, CIFS, Lustre, GPFS, ...), by the mount table (/proc/mounts unless given).</summary>
    public static bool IsNetwork(string path, string? mounts = null)
    {
        try
        {
            mounts ??= File.Exists("/proc/mounts") ? File.ReadAllText("/proc/mounts") : "";
            string full = System.IO.Path.GetFullPath(path);
            bool Under(string mountPoint) => mountPoint == "/" || full == mountPoint || full.StartsWith(mountPoint + "/", StringComparison.Ordinal);
            var mount = mounts.Split('\n').Select(l => l.Split(' ')).Where(f => f.Length > 2 && Under(f[1])).MaxBy(f => f[1].Length);
            return mount is not null && mount[2] is "nfs" or "nfs4" or "cifs" or "smb3" or "smbfs" or "lustre" or "gpfs" or "beegfs" or "fuse.sshfs" or "ceph" or "fuse.glusterfs" or "afs";
        }
        catch (IOException) { return false; }
    }

    /// <summary>
    /// Runs <paramref name="work"/> on the runs directory's index, whatever state the cache is in: an
    /// index file that is damaged is rebuilt; one that cannot be opened, read or written at all (its
    /// path a folder, a read-only cache, a cache directory that is a file) is replaced by an index in
    /// memory, read from the run folders this once. Either way the answer is the folders' own, and
    /// <paramref name="warn"/> is told once what happened to the cache.
    /// </summary>
    public static T Use<T>(string runsRoot, string cacheDir, Func<RunIndex, T> work, Action<string> warn)
    {
        string path = FileFor(runsRoot, cacheDir);
        try
        {
            using var index = Open(runsRoot, cacheDir);
            return work(index);
        }
        catch (Exception e) when (Unusable(e))
        {
            if (e is IndexDamagedException or SqliteException && TryDelete(path))
                try
                {
                    using var rebuilt = Open(runsRoot, cacheDir);
                    var answer = work(rebuilt);
                    warn($"the run index {path} was damaged ({Why(e)}); it was rebuilt from the run folders");
                    return answer;
                }
                catch (Exception again) when (Unusable(again)) { e = again; }
            warn($"the run index {path} cannot be used ({Why(e)}); the run folders were read directly");
            using var memory = OpenAt(runsRoot, ":memory:");
            return work(memory);
        }
    }

    private static bool Unusable(Exception e) => e is SqliteException or IndexDamagedException or IOException or UnauthorizedAccessException;

    private static string Why(Exception e) => e switch
    {
        SqliteException s => s.Message.Replace("SQLite Error ", "SQLite error ", StringComparison.Ordinal),
        IOException or UnauthorizedAccessException => IO.Atomic.Why(e),
        _ => e.Message,
    };

    private static bool TryDelete(string path)
    {
        SqliteConnection.ClearAllPools();
        try
        {
            foreach (var f in new[] { path, path + "-wal", path + "-shm" }) if (File.Exists(f)) File.Delete(f);
            return !File.Exists(path) && !Directory.Exists(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; }
    }

    /// <summary>The index file of a runs directory in a cache folder (one per runs directory, named by a hash of its full path).</summary>
    public static string FileFor(string runsRoot, string cacheDir)
    {
        string root = System.IO.Path.GetFullPath(runsRoot);
        string key = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(root)))[..16];
        return System.IO.Path.Combine(cacheDir, key + ".db");
    }

    /// <summary>
    /// The runs directory's index in the cache folder; one of another version is rebuilt (the cache of
    /// an older build). One that cannot be opened or is damaged throws: <see cref="Use{T}"/> deals with it.
    /// </summary>
    public static RunIndex Open(string runsRoot, string cacheDir)
    {
        Directory.CreateDirectory(cacheDir);
        string path = FileFor(runsRoot, cacheDir);
        try { return OpenAt(runsRoot, path); }
        catch (OutdatedIndexException) when (TryDelete(path)) { return OpenAt(runsRoot, path); }
    }

    private sealed class OutdatedIndexException() : Exception("an index of another version");

    private static RunIndex OpenAt(string runsRoot, string path)
    {
        string root = System.IO.Path.GetFullPath(runsRoot);
        var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        try
        {
            db.Open();
            if (path != ":memory:") Exec(db, "PRAGMA journal_mode=WAL; PRAGMA busy_timeout=10000; PRAGMA synchronous=NORMAL;");
            Exec(db, $"""
                CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
                CREATE TABLE IF NOT EXISTS runs (dir TEXT PRIMARY KEY, mtime INTEGER, id TEXT, experiment TEXT, status TEXT, host TEXT, pid INTEGER,
                    pstart INTEGER, started INTEGER, superseded INTEGER, pkeys INTEGER, pvals TEXT, mkeys INTEGER, mvals BLOB);
                CREATE INDEX IF NOT EXISTS runs_started ON runs (started, id);
                CREATE TABLE IF NOT EXISTS keysets (id INTEGER PRIMARY KEY, names TEXT UNIQUE);
                INSERT OR IGNORE INTO meta VALUES ('schema', '{Schema}'), ('root', '{root.Replace("'", "''")}');
                """);
            if (Scalar(db, "SELECT value FROM meta WHERE key='schema'") != Schema.ToString(CultureInfo.InvariantCulture))
                throw new OutdatedIndexException();
            return new RunIndex(root, path, db);
        }
        catch
        {
            db.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Every run under the runs directory, the index brought up to date first: what the index holds is
    /// read in one pass, the run folders are listed (one stat each), and only folders that are new or
    /// whose modification time changed are read, stored and put in place of what was held.
    /// A RUNNING run whose process is gone shows as CRASHED.
    /// </summary>
    public (List<RunRow> Rows, IndexRefresh Refresh) Load()
    {
        var set = LoadSet();
        return (set.Rows, set.Refresh);
    }

    /// <summary>As <see cref="Load"/>, keeping what a later <see cref="Update"/> needs.</summary>
    public RunSet LoadSet()
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        // The folders are listed on another thread while the index is read (on 100,000 runs the two take about as long).
        var listing = Task.Run(List);
        var rows = new List<RunRow>();
        var dirs = new List<string>();
        var mtimes = new Dictionary<string, long>(StringComparer.Ordinal);
        var keySets = KeySets();
        var pool = new ValuePool();
        using (var cmd = _db.CreateCommand())
        {
            cmd.CommandText = $"SELECT {Columns} FROM runs";
            using var r = cmd.ExecuteReader();
            while (r.Read())
            {
                rows.Add(RowOf(r, keySets, pool, out string dir));
                dirs.Add(dir);
                mtimes[dir] = r.GetInt64(1);
            }
        }
        return Merge(rows, dirs, mtimes, Sync(listing, mtimes, clock));
    }

    /// <summary>
    /// The runs of <paramref name="previous"/> brought up to date: only the folders that changed since
    /// are read (the index is not read again) — how a long-lived reader (the UI) follows the runs.
    /// </summary>
    public RunSet Update(RunSet previous)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var listing = Task.Run(List);
        var synced = Sync(listing, previous.Mtimes, clock);
        if (synced.Rows.Count == 0 && synced.Gone.Count == 0 && synced.Refresh.Broken.Count == previous.Refresh.Broken.Count)
            return previous with { Refresh = synced.Refresh, Changed = false };
        return Merge([.. previous.Rows], [.. previous.Dirs], new Dictionary<string, long>(previous.Mtimes), synced);
    }

    private static RunSet Merge(List<RunRow> rows, List<string> dirs, Dictionary<string, long> mtimes,
        (Dictionary<string, RunRow> Rows, HashSet<string> Gone, IndexRefresh Refresh, Dictionary<string, long> Mtimes) synced)
    {
        var entries = new List<(long Started, string Dir, RunRow Row)>(rows.Count + synced.Rows.Count);
        for (int i = 0; i < rows.Count; i++)
            if (!synced.Rows.ContainsKey(dirs[i]) && !synced.Gone.Contains(dirs[i])) entries.Add((rows[i].Started?.UtcTicks ?? long.MinValue, dirs[i], rows[i]));
        foreach (var (dir, row) in synced.Rows) entries.Add((row.Started?.UtcTicks ?? long.MinValue, dir, row));
        foreach (var dir in synced.Gone) mtimes.Remove(dir);
        foreach (var (dir, m) in synced.Mtimes) mtimes[dir] = m;
        // Oldest first, as the runs were made (ids begin with their start time).
        var sorted = entries.ToArray();
        Array.Sort(sorted, (a, b) => a.Started != b.Started ? a.Started.CompareTo(b.Started) : string.CompareOrdinal(a.Dir, b.Dir));
        return new RunSet(sorted.Select(e => e.Row).ToList(), sorted.Select(e => e.Dir).ToList(), mtimes, synced.Refresh);
    }

    /// <summary>Brings the index up to date with the run folders without reading what it holds.</summary>
    public IndexRefresh Refresh()
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var listing = Task.Run(List);
        var held = new Dictionary<string, long>(StringComparer.Ordinal);
        using (var cmd = _db.CreateCommand())
        {
            cmd.CommandText = "SELECT dir, mtime FROM runs";
            using var r = cmd.ExecuteReader();
            while (r.Read()) held[r.GetString(0)] = r.GetInt64(1);
        }
        return Sync(listing, held, clock).Refresh;
    }

    /// <summary>The newest runs (by start, then id), at most <paramref name="limit"/>, and how many there are — without reading the others.</summary>
    public (List<RunRow> Rows, int Total) Newest(int limit, string? experiment = null)
    {
        using var cmd = _db.CreateCommand();
        string where = experiment is null ? "" : " WHERE experiment = $e";
        cmd.CommandText = $"SELECT {Columns} FROM runs{where} ORDER BY started DESC, id DESC LIMIT $n; SELECT count(*) FROM runs{where}";
        cmd.Parameters.AddWithValue("$n", limit);
        if (experiment is not null) cmd.Parameters.AddWithValue("$e", experiment);
        var keySets = KeySets();
        var pool = new ValuePool();
        var rows = new List<RunRow>();
        using var r = cmd.ExecuteReader();
        while (r.Read()) rows.Add(RowOf(r, keySets, pool, out _));
        r.NextResult();
        r.Read();
        return (rows, r.GetInt32(0));
    }

    private const string Columns = "dir, mtime, id, experiment, status, host, pid, pstart, started, superseded, pkeys, pvals, mkeys, mvals";

    private RunRow RowOf(SqliteDataReader r, Dictionary<long, KeySet> keySets, ValuePool pool, out string dir)
    {
        try { return StoredRow(r, keySets, pool, out dir); }
        catch (Exception e) when (e is InvalidCastException or KeyNotFoundException or FormatException or ArgumentException or IndexOutOfRangeException)
        {
            throw new IndexDamagedException($"{Path}: a row cannot be read ({e.Message})", e);
        }
    }

    private RunRow StoredRow(SqliteDataReader r, Dictionary<long, KeySet> keySets, ValuePool pool, out string dir)
    {
        dir = r.GetString(0);
        var owner = new ProcessRef(r.GetString(5), r.GetInt32(6), r.IsDBNull(7) ? null : new DateTimeOffset(r.GetInt64(7), TimeSpan.Zero));
        var mkeys = keySets[r.GetInt64(12)];
        var mvals = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, double>(r.GetFieldValue<byte[]>(13)).ToArray();
        if (mvals.Length != mkeys.Names.Length) throw new IndexDamagedException($"{Path}: run {dir} is stored inconsistently");
        return new RunRow(r.GetString(2), pool.Get(r.GetString(3)), pool.Get(r.GetString(4)), System.IO.Path.Combine(RunsRoot, dir),
            new DateTimeOffset(r.GetInt64(8), TimeSpan.Zero), new PackedMap(keySets[r.GetInt64(10)], r.GetString(11), pool), new CompactMap<double>(mkeys, mvals))
            { Superseded = r.GetInt64(9) != 0, Owner = owner }.Shown();
    }

    /// <summary>
    /// Reads the folders that are new or changed since the index saw them (as <see cref="RunRow.Read"/>
    /// reads any folder), stores them, and drops from the index every folder that is gone, no longer
    /// holds a run.json, is broken or is still being created — so the index answers exactly what
    /// reading the folders answers, broken folders named every time as they are there.
    /// </summary>
    private (Dictionary<string, RunRow> Rows, HashSet<string> Gone, IndexRefresh Refresh, Dictionary<string, long> Mtimes) Sync(Task<(List<(string Rel, long Mtime)>, List<(string Rel, long Mtime)>, long?)> listing,
        Dictionary<string, long> held, System.Diagnostics.Stopwatch clock)
    {
        var present = Runs(listing.GetAwaiter().GetResult());
        var changed = present.Where(p => !held.TryGetValue(p.Dir, out long m) || m != p.Mtime || m == 0).ToList();
        var read = changed.AsParallel().Select(p =>
        {
            var folder = RunFolder.Open(System.IO.Path.Combine(RunsRoot, p.Dir));
            try { return (p.Dir, p.Mtime, Row: RunRow.Read(folder), Problem: (string?)null); }
            catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException) { return (p.Dir, p.Mtime, Row: (RunRow?)null, Problem: e.Message); }
        }).ToList();
        var presentDirs = present.Select(p => p.Dir).ToHashSet(StringComparer.Ordinal);
        var gone = held.Keys.Where(d => !presentDirs.Contains(d)).ToHashSet(StringComparer.Ordinal);
        // Broken folders and folders being created are not runs to show: whatever the index held of them goes.
        foreach (var r in read) if (r.Row is null) gone.Add(r.Dir);
        var broken = read.Where(r => r.Problem is not null).Select(r => r.Problem!).ToList();
        var rows = read.Where(r => r.Row is not null).ToDictionary(r => r.Dir, r => r.Row!, StringComparer.Ordinal);
        if (rows.Count > 0 || gone.Count > 0) Store(read.Where(r => r.Row is not null).Select(r => (r.Dir, r.Mtime, r.Row!)).ToList(), gone);
        int added = rows.Keys.Count(d => !held.ContainsKey(d));
        var stored = read.Where(c => c.Row is not null).ToDictionary(c => c.Dir, c => c.Mtime, StringComparer.Ordinal);
        var shown = rows.ToDictionary(r => r.Key, r => r.Value.Shown(), StringComparer.Ordinal);
        return (shown, gone, new IndexRefresh(present.Count, added, rows.Count - added, gone.Count(held.ContainsKey), broken, clock.Elapsed.TotalSeconds), stored);
    }

    private void Store(List<(string Dir, long Mtime, RunRow Row)> read, HashSet<string> gone)
    {
        using var tx = _db.BeginTransaction();
        var keySets = new Dictionary<string, long>(StringComparer.Ordinal);
        using (var cmd = _db.CreateCommand())
        {
            cmd.CommandText = "SELECT id, names FROM keysets";
            using var r = cmd.ExecuteReader();
            while (r.Read()) keySets[r.GetString(1)] = r.GetInt64(0);
        }
        using var addKeys = _db.CreateCommand();
        addKeys.CommandText = "INSERT INTO keysets (names) VALUES ($n) RETURNING id";
        var names = addKeys.Parameters.Add(new SqliteParameter("$n", ""));
        long KeySetId(IEnumerable<string> keys)
        {
            string text = string.Join(PackedMap.Separator, keys);
            if (keySets.TryGetValue(text, out long id)) return id;
            names.Value = text;
            return keySets[text] = (long)addKeys.ExecuteScalar()!;
        }
        using var upsert = _db.CreateCommand();
        upsert.CommandText = "INSERT OR REPLACE INTO runs VALUES ($dir, $mtime, $id, $experiment, $status, $host, $pid, $pstart, $started, $superseded, $pkeys, $pvals, $mkeys, $mvals)";
        var ps = new[] { "$dir", "$mtime", "$id", "$experiment", "$status", "$host", "$pid", "$pstart", "$started", "$superseded", "$pkeys", "$pvals", "$mkeys", "$mvals" }
            .Select(n => upsert.Parameters.Add(new SqliteParameter(n, null))).ToArray();
        foreach (var (dir, mtime, row) in read)
        {
            object?[] values =
            [
                dir, mtime, row.Id, row.Experiment, row.Status, row.Owner?.Host ?? "", row.Owner?.Pid ?? 0, row.Owner?.Started?.UtcTicks,
                row.Started?.UtcTicks ?? 0, row.Superseded ? 1 : 0,
                KeySetId(row.Params.Keys), string.Join(PackedMap.Separator, row.Params.Values.Select(v => v.Replace(PackedMap.Separator, '\uFFFD'))),
                KeySetId(row.Metrics.Keys), System.Runtime.InteropServices.MemoryMarshal.AsBytes(row.Metrics.Values.ToArray().AsSpan()).ToArray(),
            ];
            for (int i = 0; i < ps.Length; i++) ps[i].Value = values[i] ?? DBNull.Value;
            upsert.ExecuteNonQuery();
        }
        using var delete = _db.CreateCommand();
        delete.CommandText = "DELETE FROM runs WHERE dir = $dir";
        var d = delete.Parameters.Add(new SqliteParameter("$dir", ""));
        foreach (var dir in gone) { d.Value = dir; delete.ExecuteNonQuery(); }
        tx.Commit();
    }

    /// <summary>The runs directory's folders two levels deep (where run folders are: see <see cref="RunFolder.FindAll"/>) with their modification times.</summary>
    private (List<(string Rel, long Mtime)> Children, List<(string Rel, long Mtime)> Grandchildren, long? Root) List()
    {
        if (File.Exists(System.IO.Path.Combine(RunsRoot, RunFolder.RecordFile))) return ([], [], Directory.GetLastWriteTimeUtc(RunsRoot).Ticks);
        var children = Listing(RunsRoot, "").ToList();
        var grandchildren = children.SelectMany(c => Listing(System.IO.Path.Combine(RunsRoot, c.Rel), c.Rel)).ToList();
        return (children, grandchildren, null);
    }

    /// <summary>
    /// The run folders among those listed — those holding a run.json, as FindAll finds them: the root,
    /// else its children, else their children — each with its fingerprint: the folder's, run.json's and
    /// summary.json's modification times and sizes mixed into one number (a file rewritten in place
    /// does not move its folder's time). 0, "read again next time", while any of them changed within
    /// the last two seconds: a change within the filesystem's time resolution could go unseen.
    /// </summary>
    private List<(string Dir, long Mtime)> Runs((List<(string Rel, long Mtime)> Children, List<(string Rel, long Mtime)> Grandchildren, long? Root) listed)
    {
        long recent = (DateTime.UtcNow - TimeSpan.FromSeconds(2)).Ticks;
        (string Dir, long Mtime)? Fingerprint(string rel, long dirTicks)
        {
            var record = new FileInfo(System.IO.Path.Combine(RunsRoot, rel, RunFolder.RecordFile));
            if (!record.Exists) return null;
            var summary = new FileInfo(System.IO.Path.Combine(RunsRoot, rel, RunFolder.SummaryFile));
            var meta = new FileInfo(System.IO.Path.Combine(RunsRoot, rel, RunMeta.File));
            long recordTicks = record.LastWriteTimeUtc.Ticks, summaryTicks = summary.Exists ? summary.LastWriteTimeUtc.Ticks : 0, metaTicks = meta.Exists ? meta.LastWriteTimeUtc.Ticks : 0;
            if (dirTicks > recent || recordTicks > recent || summaryTicks > recent || metaTicks > recent) return (rel, 0);
            // A fixed mix (not HashCode, whose seed differs in every process: the next process would find every folder "changed").
            long print = Mix(dirTicks, recordTicks, record.Length, summaryTicks, summary.Exists ? summary.Length : -1, metaTicks, meta.Exists ? meta.Length : -1);
            return (rel, print == 0 ? 1 : print);
        }
        if (listed.Root is long root) return Fingerprint(".", root) is { } self ? [self] : [];
        var children = listed.Children.AsParallel().AsOrdered().Select(c => (c.Rel, Print: Fingerprint(c.Rel, c.Mtime))).ToList();
        var runNames = children.Where(c => c.Print is not null).Select(c => c.Rel).ToHashSet(StringComparer.Ordinal);
        var grandchildren = listed.Grandchildren.Where(g => !runNames.Contains(g.Rel[..g.Rel.IndexOf('/')])).AsParallel().AsOrdered()
            .Select(g => Fingerprint(g.Rel, g.Mtime));
        return children.Select(c => c.Print).Concat(grandchildren).OfType<(string, long)>().ToList();
    }

    /// <summary>A deterministic 64-bit mix of the values (FNV-1a over their bytes, then a final avalanche).</summary>
    internal static long Mix(params long[] values)
    {
        ulong h = 14695981039346656037UL;
        foreach (long v in values)
            for (int b = 0; b < 64; b += 8) { h ^= (byte)((ulong)v >> b); h *= 1099511628211UL; }
        h ^= h >> 33; h *= 0xff51afd7ed558ccdUL; h ^= h >> 33;
        return (long)h;
    }

    private static IEnumerable<(string Rel, long Mtime)> Listing(string dir, string prefix)
    {
        var options = new EnumerationOptions { IgnoreInaccessible = true, AttributesToSkip = FileAttributes.None };
        try
        {
            return new System.IO.Enumeration.FileSystemEnumerable<(string, long)>(dir,
                (ref System.IO.Enumeration.FileSystemEntry e) => (prefix.Length == 0 ? e.FileName.ToString() : prefix + "/" + e.FileName.ToString(), e.LastWriteTimeUtc.UtcTicks), options)
            { ShouldIncludePredicate = (ref System.IO.Enumeration.FileSystemEntry e) => e.IsDirectory }.ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return []; } // vanished meanwhile
    }

    private Dictionary<long, KeySet> KeySets()
    {
        var sets = new Dictionary<long, KeySet>();
        using var cmd = _db.CreateCommand();
        cmd.CommandText = "SELECT id, names FROM keysets";
        using var r = cmd.ExecuteReader();
        while (r.Read()) { string text = r.GetString(1); sets[r.GetInt64(0)] = new KeySet(text.Length == 0 ? [] : text.Split(PackedMap.Separator)); }
        return sets;
    }

    private static void Exec(SqliteConnection db, string sql)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    private static string? Scalar(SqliteConnection db, string sql)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        return cmd.ExecuteScalar()?.ToString();
    }

    public void Dispose() => _db.Dispose();
}
