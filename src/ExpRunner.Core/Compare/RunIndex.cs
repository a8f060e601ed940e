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
    private const int Schema = 3;
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

    public static RunIndex Open(string runsRoot, string cacheDir)
    {
        string root = System.IO.Path.GetFullPath(runsRoot);
        string key = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(root)))[..16];
        Directory.CreateDirectory(cacheDir);
        string path = System.IO.Path.Combine(cacheDir, key + ".db");
        for (int attempt = 0; ; attempt++)
        {
            var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
            try
            {
                db.Open();
                Exec(db, "PRAGMA journal_mode=WAL; PRAGMA busy_timeout=10000; PRAGMA synchronous=NORMAL;");
                Exec(db, $"""
                    CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
                    CREATE TABLE IF NOT EXISTS runs (dir TEXT PRIMARY KEY, mtime INTEGER, id TEXT, experiment TEXT, status TEXT, host TEXT, pid INTEGER,
                        pstart INTEGER, started INTEGER, superseded INTEGER, pkeys INTEGER, pvals TEXT, mkeys INTEGER, mvals BLOB);
                    CREATE INDEX IF NOT EXISTS runs_started ON runs (started, id);
                    CREATE TABLE IF NOT EXISTS keysets (id INTEGER PRIMARY KEY, names TEXT UNIQUE);
                    INSERT OR IGNORE INTO meta VALUES ('schema', '{Schema}'), ('root', '{root.Replace("'", "''")}');
                    """);
                if (Scalar(db, "SELECT value FROM meta WHERE key='schema'") != Schema.ToString(CultureInfo.InvariantCulture))
                    throw new SqliteException("index of another version", 0);
                return new RunIndex(root, path, db);
            }
            catch (SqliteException) when (attempt == 0)
            {
                // A cache: a broken or outdated one is rebuilt from the run folders.
                db.Dispose();
                SqliteConnection.ClearAllPools();
                foreach (var f in new[] { path, path + "-wal", path + "-shm" }) if (File.Exists(f)) File.Delete(f);
            }
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
        dir = r.GetString(0);
        string status = pool.Get(r.GetString(4));
        if (status == RunStatus.Running && new ProcessRef(r.GetString(5), r.GetInt32(6), r.IsDBNull(7) ? null : new DateTimeOffset(r.GetInt64(7), TimeSpan.Zero)).IsAlive() == false)
            status = RunStatus.Crashed;
        var mkeys = keySets[r.GetInt64(12)];
        var mvals = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, double>(r.GetFieldValue<byte[]>(13)).ToArray();
        if (mvals.Length != mkeys.Names.Length) throw new InvalidDataException($"{Path}: run {dir} is stored inconsistently; delete the index to rebuild it");
        return new RunRow(r.GetString(2), pool.Get(r.GetString(3)), status, System.IO.Path.Combine(RunsRoot, dir), new DateTimeOffset(r.GetInt64(8), TimeSpan.Zero),
            new PackedMap(keySets[r.GetInt64(10)], r.GetString(11), pool), new CompactMap<double>(mkeys, mvals)) { Superseded = r.GetInt64(9) != 0 };
    }

    /// <summary>Reads the folders that are new or changed since the index saw them, stores them and drops vanished ones.</summary>
    private (Dictionary<string, RunRow> Rows, HashSet<string> Gone, IndexRefresh Refresh, Dictionary<string, long> Mtimes) Sync(Task<(List<(string Rel, long Mtime)>, List<(string Rel, long Mtime)>, long?)> listing,
        Dictionary<string, long> held, System.Diagnostics.Stopwatch clock)
    {
        var present = Runs(listing.GetAwaiter().GetResult(), held);
        var changed = present.Where(p => !held.TryGetValue(p.Dir, out long m) || m != p.Mtime).ToList();
        var broken = new List<string>();
        // A folder changed within the last two seconds may change again within the filesystem's time
        // resolution without its time moving: it is stored as unknown (read again next time).
        long recent = (DateTime.UtcNow - TimeSpan.FromSeconds(2)).Ticks;
        var read = changed.AsParallel().Select(p =>
        {
            var folder = RunFolder.Open(System.IO.Path.Combine(RunsRoot, p.Dir));
            try { return (p.Dir, Mtime: p.Mtime > recent ? 0 : p.Mtime, Record: folder.ReadRecord(), Summary: folder.ReadSummary(), Problem: (string?)null); }
            catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException) { return (p.Dir, Mtime: 0L, Record: null, Summary: null, Problem: e.Message); }
        }).ToList();
        var presentDirs = present.Select(p => p.Dir).ToHashSet(StringComparer.Ordinal);
        var gone = held.Keys.Where(d => !presentDirs.Contains(d)).ToHashSet(StringComparer.Ordinal);
        var rows = new Dictionary<string, RunRow>(StringComparer.Ordinal);
        if (read.Count > 0 || gone.Count > 0) Store(read, gone, rows, broken);
        int added = read.Count(c => !held.ContainsKey(c.Dir));
        var stored = read.Where(c => rows.ContainsKey(c.Dir)).ToDictionary(c => c.Dir, c => c.Mtime, StringComparer.Ordinal);
        return (rows, gone, new IndexRefresh(present.Count, added, read.Count - added, gone.Count, broken, clock.Elapsed.TotalSeconds), stored);
    }

    private void Store(List<(string Dir, long Mtime, RunRecord? Record, RunSummary? Summary, string? Problem)> read, HashSet<string> gone,
        Dictionary<string, RunRow> rows, List<string> broken)
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
        foreach (var (dir, mtime, record, summary, problem) in read)
        {
            if (problem is not null) { broken.Add(problem); continue; }
            if (record is null) continue; // a folder being created
            var metrics = summary is null ? new Dictionary<string, double>() : new Dictionary<string, double>(summary.Final)
            {
                ["epochs_run"] = summary.EpochsRun, ["duration"] = summary.DurationSeconds,
            };
            if (summary?.BestEpoch is int best) metrics["best_epoch"] = best;
            var parameters = summary?.Params ?? new Dictionary<string, string>();
            bool superseded = record.SupersededBy is not null || summary?.SupersededBy is not null;
            string status = summary?.Status ?? record.Status;
            object?[] values =
            [
                dir, mtime, record.Id, record.Experiment, status, record.Host, record.Pid, record.ProcessStart?.UtcTicks, record.Started.UtcTicks, superseded ? 1 : 0,
                KeySetId(parameters.Keys), string.Join(PackedMap.Separator, parameters.Values.Select(v => v.Replace(PackedMap.Separator, '\uFFFD'))),
                KeySetId(metrics.Keys), System.Runtime.InteropServices.MemoryMarshal.AsBytes(metrics.Values.ToArray().AsSpan()).ToArray(),
            ];
            for (int i = 0; i < ps.Length; i++) ps[i].Value = values[i] ?? DBNull.Value;
            upsert.ExecuteNonQuery();
            if (status == RunStatus.Running && new ProcessRef(record.Host, record.Pid, record.ProcessStart).IsAlive() == false) status = RunStatus.Crashed;
            rows[dir] = new RunRow(record.Id, record.Experiment, status, System.IO.Path.Combine(RunsRoot, dir), record.Started, parameters, metrics) { Superseded = superseded };
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
    /// The run folders among those listed: those the index knows, and new ones holding a run.json (as
    /// FindAll finds them: the root, else its children, else their children).
    /// </summary>
    private List<(string Dir, long Mtime)> Runs((List<(string Rel, long Mtime)> Children, List<(string Rel, long Mtime)> Grandchildren, long? Root) listed,
        Dictionary<string, long> known)
    {
        if (listed.Root is long root) return [(".", root)];
        bool IsRun(string rel) => known.ContainsKey(rel) || File.Exists(System.IO.Path.Combine(RunsRoot, rel, RunFolder.RecordFile));
        var runChildren = listed.Children.Where(c => IsRun(c.Rel)).ToList();
        var runNames = runChildren.Select(c => c.Rel).ToHashSet(StringComparer.Ordinal);
        return runChildren.Concat(listed.Grandchildren.Where(g => !runNames.Contains(g.Rel[..g.Rel.IndexOf('/')]) && IsRun(g.Rel))).ToList();
    }

    private static IEnumerable<(string Rel, long Mtime)> Listing(string dir, string prefix)
    {
        var options = new EnumerationOptions { IgnoreInaccessible = true, AttributesToSkip = 0 };
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
