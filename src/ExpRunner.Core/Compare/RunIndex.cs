using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using ExpRunner.IO;
using ExpRunner.Tracking;
using Microsoft.Data.Sqlite;

namespace ExpRunner.Compare;

/// <summary>
/// Runs read through the index: the rows (oldest first), each by its folder (the hash of its path
/// relative to the runs directory, <see cref="RunIndex.FolderKey(string)"/>) with the fingerprint it was
/// read at, and what bringing the index up to date did.
/// </summary>
public sealed record RunSet(List<RunRow> Rows, List<long> Folders, Dictionary<long, FolderPrint> Prints, IndexRefresh Refresh)
{
    /// <summary>False when an update found nothing new (the rows are the previous ones).</summary>
    public bool Changed { get; init; } = true;
}

/// <summary>
/// What the index knows a run folder by: the folder's modification time, and its files' (run.json,
/// summary.json, meta.json: times and sizes mixed into one number). 0 in either: read again next time.
/// </summary>
public readonly record struct FolderPrint(long Folder, long Files)
{
    public bool Settled => Folder != 0 && Files != 0;
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
public sealed partial class RunIndex : IDisposable
{
    private const int Schema = 8; // 4: rows read as RunRow.Read reads a folder, fingerprints of run.json and summary.json; 5: and of meta.json (label, tags); 6: fingerprints the same in every process; 7: a folder's fingerprint is its own time (files are renamed into place); 8: folders known by the hash of their path
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
            if (path != ":memory:") Exec(db, "PRAGMA journal_mode=WAL; PRAGMA busy_timeout=10000; PRAGMA synchronous=NORMAL; PRAGMA mmap_size=1073741824;");
            Exec(db, $"""
                CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
                CREATE TABLE IF NOT EXISTS runs (dir TEXT PRIMARY KEY, mtime INTEGER, id TEXT, experiment TEXT, status TEXT, host TEXT, pid INTEGER,
                    pstart INTEGER, started INTEGER, superseded INTEGER, pkeys INTEGER, pvals TEXT, mkeys INTEGER, mvals BLOB, files INTEGER, dirhash INTEGER);
                CREATE INDEX IF NOT EXISTS runs_started ON runs (started, id);
                CREATE INDEX IF NOT EXISTS runs_folders ON runs (dirhash, mtime, files, superseded);
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
    public RunSet LoadSet() => LoadRows(Columns, (r, keySets, pool, arena) => RowOf(r, keySets, pool, arena));

    /// <summary>
    /// Every run held, as <paramref name="read"/> makes a row of the columns selected (the first three
    /// are dirhash, mtime, files), brought up to date with the folders: they are listed on another
    /// thread while the index is read — in parts on several connections, each a range of rows — and
    /// only folders that are new or changed are read (whole).
    /// </summary>
    private RunSet LoadRows(string columns, Func<StoredRow, Dictionary<long, KeySet>, ValuePool, Arena, RunRow> read, bool sync = true)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var listing = sync ? Task.Run(List) : null;
        var keySets = KeySets();
        var pool = new ValuePool();
        var parts = ReadParts($"SELECT {columns} FROM runs", (r, arena) => (Folder: r.Int64(0), Print: new FolderPrint(r.Int64(1), r.Int64(2)), Row: read(r, keySets, pool, arena)));
        int count = parts.Sum(p => p.Count);
        var rows = new List<RunRow>(count);
        var folders = new List<long>(count);
        var prints = new Dictionary<long, FolderPrint>(count);
        foreach (var part in parts)
            foreach (var (folder, print, row) in part)
                if (prints.TryAdd(folder, print)) { rows.Add(row); folders.Add(folder); } // a row stored again while the parts were read could come twice
        return Merge(rows, folders, prints, listing is null ? ([], [], new IndexRefresh(rows.Count, 0, 0, 0, [], 0), []) : Sync(listing, prints, clock));
    }

    /// <summary>What the index holds, as it holds it, without looking at the folders (the benchmark of the index alone).</summary>
    internal RunSet Held() => LoadRows(Columns, (r, keySets, pool, arena) => RowOf(r, keySets, pool, arena), sync: false);

    /// <summary>Stores rows as if their folders had been read (the benchmark of the index alone: no folders behind them).</summary>
    internal void Put(IReadOnlyList<(string Dir, RunRow Row)> rows) => Store([.. rows.Select(r => (r.Dir, new FolderPrint(1, 1), r.Row))], []);

    /// <summary>
    /// The rows a query gives, read in parts of the table (by rowid) on as many connections as there
    /// are cores (up to 4), in the table's order. The parts are read at slightly different moments:
    /// what another process stores meanwhile may be missing or seen twice — callers bring what they
    /// read up to date with the folders afterwards, which settles both.
    /// </summary>
    private List<T>[] ReadParts<T>(string select, Func<StoredRow, Arena, T> map) =>
        ScanParts(select, _ => (List: new List<T>(), Arena: new Arena()), (part, r) => part.List.Add(map(r, part.Arena))).Select(p => p.List).ToArray();

    /// <summary>
    /// As <see cref="ReadParts{T}"/>, each part's rows handed to <paramref name="row"/> with that part's own state
    /// (made by <paramref name="start"/> from the part's number): the parts' states, in the table's order.
    /// </summary>
    private TState[] ScanParts<TState>(string select, Func<int, TState> start, Action<TState, StoredRow> row)
    {
        long low, high;
        using (var bounds = _db.CreateCommand())
        {
            bounds.CommandText = "SELECT min(rowid), max(rowid) FROM runs";
            using var b = bounds.ExecuteReader();
            b.Read();
            if (b.IsDBNull(0)) return [start(0)];
            (low, high) = (b.GetInt64(0), b.GetInt64(1));
        }
        int n = Path == ":memory:" || high - low < PartRows ? 1 : Parts;
        long span = (high - low) / n + 1;
        var states = new TState[n];
        var tasks = Enumerable.Range(0, n).Select(p => Task.Factory.StartNew(() =>
        {
            // A file's parts each on a connection of its own; an index in memory has one connection (and one part).
            var db = Path == ":memory:" ? null : StoredRow.Reader(Path);
            try
            {
                var state = start(p);
                StoredRow.Each(db ?? _db.Handle!, $"{select} WHERE rowid BETWEEN ?1 AND ?2", [low + p * span, Math.Min(high, low + (p + 1) * span - 1)], r => row(state, r));
                states[p] = state;
            }
            finally
            {
                db?.Dispose();
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)).ToArray();
        foreach (var t in tasks) t.GetAwaiter().GetResult(); // the first failure as it was thrown (a damaged index, an unreadable file)
        return states;
    }

    /// <summary>
    /// The runs of <paramref name="previous"/> brought up to date: only the folders that changed since
    /// are read (the index is not read again) — how a long-lived reader (the UI) follows the runs.
    /// </summary>
    public RunSet Update(RunSet previous)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var listing = Task.Run(List);
        var synced = Sync(listing, previous.Prints, clock);
        if (synced.Rows.Count == 0 && synced.Gone.Count == 0 && synced.Refresh.Broken.Count == previous.Refresh.Broken.Count)
            return previous with { Refresh = synced.Refresh, Changed = false };
        return Merge([.. previous.Rows], [.. previous.Folders], new Dictionary<long, FolderPrint>(previous.Prints), synced);
    }

    private static RunSet Merge(List<RunRow> rows, List<long> folders, Dictionary<long, FolderPrint> prints,
        (Dictionary<long, RunRow> Rows, HashSet<long> Gone, IndexRefresh Refresh, Dictionary<long, FolderPrint> Prints) synced)
    {
        var entries = new List<(long Started, long Folder, RunRow Row)>(rows.Count + synced.Rows.Count);
        bool changed = synced.Rows.Count > 0 || synced.Gone.Count > 0;
        for (int i = 0; i < rows.Count; i++)
            if (!changed || (!synced.Rows.ContainsKey(folders[i]) && !synced.Gone.Contains(folders[i]))) entries.Add((rows[i].Started?.UtcTicks ?? long.MinValue, folders[i], rows[i]));
        foreach (var (folder, row) in synced.Rows) entries.Add((row.Started?.UtcTicks ?? long.MinValue, folder, row));
        foreach (var folder in synced.Gone) prints.Remove(folder);
        foreach (var (folder, m) in synced.Prints) prints[folder] = m;
        // Oldest first, as the runs were made (ids begin with their start time); runs started at one moment by id, then folder.
        var sorted = entries.ToArray();
        Array.Sort(sorted, (a, b) => a.Started != b.Started ? a.Started.CompareTo(b.Started)
            : string.CompareOrdinal(a.Row.Id, b.Row.Id) is int byId && byId != 0 ? byId : string.CompareOrdinal(a.Row.Dir, b.Row.Dir));
        return new RunSet(sorted.Select(e => e.Row).ToList(), sorted.Select(e => e.Folder).ToList(), prints, synced.Refresh);
    }

    /// <summary>Brings the index up to date with the run folders without reading what it holds.</summary>
    public IndexRefresh Refresh()
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var listing = Task.Run(List);
        var held = new Dictionary<long, FolderPrint>();
        StoredRow.Each(_db, "SELECT dirhash, mtime, files FROM runs", [], r => held[r.Int64(0)] = new FolderPrint(r.Int64(1), r.Int64(2)));
        return Sync(listing, held, clock).Refresh;
    }

    /// <summary>The newest runs (by start, then id), at most <paramref name="limit"/>, and how many there are — without reading the others.</summary>
    public (List<RunRow> Rows, int Total) Newest(int limit, string? experiment = null)
    {
        var keySets = KeySets();
        var pool = new ValuePool();
        var rows = new List<RunRow>();
        var arena = new Arena();
        string where = experiment is null ? "" : " WHERE experiment = ?2";
        object[] args = experiment is null ? [(long)limit] : [(long)limit, experiment];
        StoredRow.Each(_db, $"SELECT {Columns} FROM runs{where} ORDER BY started DESC, id DESC LIMIT ?1", args, r => rows.Add(RowOf(r, keySets, pool, arena)));
        int total = 0;
        StoredRow.Each(_db, $"SELECT count(*) FROM runs{where.Replace("?2", "?1", StringComparison.Ordinal)}", experiment is null ? [] : [experiment], r => total = (int)r.Int64(0));
        return (rows, total);
    }

    /// <summary>
    /// Every run (of one experiment, when given), newest first, as a listing shows them: identity,
    /// status, start and final metrics — and of the params only the label (<see cref="RunMeta.LabelKey"/>),
    /// so the rest is never read — brought up to date with the folders as <see cref="LoadSet"/> is.
    /// </summary>
    public (List<RunRow> Rows, IndexRefresh Refresh) Listing(string? experiment = null)
    {
        var keySets = KeySets();
        // The label's place in each set of param keys that has one.
        var labelSlot = keySets.Where(k => k.Value.TryGetSlot(RunMeta.LabelKey, out _)).ToDictionary(k => k.Key, k => { k.Value.TryGetSlot(RunMeta.LabelKey, out int slot); return slot; });
        string labelled = labelSlot.Count == 0 ? "0" : $"pkeys IN ({string.Join(",", labelSlot.Keys)})";
        var none = new Dictionary<string, string>();
        var set = LoadRows($"dirhash, mtime, files, id, experiment, status, host, pid, pstart, started, superseded, mkeys, mvals, pkeys, CASE WHEN {labelled} THEN pvals END", (r, sets, pool, arena) =>
        {
            try
            {
                var mkeys = sets[r.Int64(11)];
                var mvals = r.Doubles(12, arena);
                if (mvals.Length != mkeys.Names.Length) throw new IndexDamagedException($"{Path}: a row is stored inconsistently");
                IReadOnlyDictionary<string, string> label = none;
                if (!r.IsNull(14) && labelSlot.ContainsKey(r.Int64(13)))
                    label = new Dictionary<string, string> { [RunMeta.LabelKey] = new PackedMap(sets[r.Int64(13)], r.Bytes(14).ToArray(), pool)[RunMeta.LabelKey] };
                var owner = new ProcessRef(r.Pooled(6, pool), (int)r.Int64(7), r.IsNull(8) ? null : new DateTimeOffset(r.Int64(8), TimeSpan.Zero));
                return new RunRow(r.Text(3), r.Pooled(4, pool), r.Pooled(5, pool), "", new DateTimeOffset(r.Int64(9), TimeSpan.Zero), label,
                    new CompactMap<double>(mkeys, mvals)) { Superseded = r.Int64(10) != 0, Owner = owner }.Shown();
            }
            catch (Exception e) when (e is InvalidCastException or KeyNotFoundException or FormatException or ArgumentException or IndexOutOfRangeException or InvalidDataException)
            {
                throw new IndexDamagedException($"{Path}: a row cannot be read ({e.Message})", e);
            }
        });
        var order = (experiment is null ? set.Rows : set.Rows.Where(r => r.Experiment == experiment)).ToArray();
        Array.Sort(order, (a, b) => a.Started != b.Started ? Nullable.Compare(b.Started, a.Started) : string.CompareOrdinal(b.Id, a.Id));
        return ([.. order], set.Refresh);
    }

    /// <summary>The param and metric names the runs held have (each set of names once, in the order they were first stored).</summary>
    public (List<string> Params, List<string> Metrics) KeyNames()
    {
        var sets = KeySets();
        List<string> Names(string column)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = $"SELECT DISTINCT {column} FROM runs ORDER BY {column}";
            var names = new List<string>();
            var known = new HashSet<string>(StringComparer.Ordinal);
            using var r = cmd.ExecuteReader();
            while (r.Read())
            {
                if (!sets.TryGetValue(r.GetInt64(0), out var set)) throw new IndexDamagedException($"{Path}: a row names a set of keys that is not there");
                foreach (var k in set.Names) if (known.Add(k)) names.Add(k);
            }
            return names;
        }
        return (Names("pkeys"), Names("mkeys"));
    }

    private const string Columns = "dirhash, mtime, files, dir, id, experiment, status, host, pid, pstart, started, superseded, pkeys, pvals, mkeys, mvals";

    private RunRow RowOf(StoredRow r, Dictionary<long, KeySet> keySets, ValuePool pool, Arena arena)
    {
        try
        {
            var owner = new ProcessRef(r.Pooled(7, pool), (int)r.Int64(8), r.IsNull(9) ? null : new DateTimeOffset(r.Int64(9), TimeSpan.Zero));
            var mkeys = keySets[r.Int64(14)];
            var mvals = r.Doubles(15, arena);
            string dir = r.Text(3);
            if (mvals.Length != mkeys.Names.Length) throw new IndexDamagedException($"{Path}: run {dir} is stored inconsistently");
            return new RunRow(r.Text(4), r.Pooled(5, pool), r.Pooled(6, pool), System.IO.Path.Combine(RunsRoot, dir),
                new DateTimeOffset(r.Int64(10), TimeSpan.Zero), new PackedMap(keySets[r.Int64(12)], arena.Add(r.Bytes(13)), pool), new CompactMap<double>(mkeys, mvals))
                { Superseded = r.Int64(11) != 0, Owner = owner }.Shown();
        }
        catch (Exception e) when (e is InvalidCastException or KeyNotFoundException or FormatException or ArgumentException or IndexOutOfRangeException)
        {
            throw new IndexDamagedException($"{Path}: a row cannot be read ({e.Message})", e);
        }
    }

    /// <summary>
    /// Reads the folders that are new or changed since the index saw them (as <see cref="RunRow.Read"/>
    /// reads any folder), stores them, and drops from the index every folder that is gone, no longer
    /// holds a run.json, is broken or is still being created — so the index answers exactly what
    /// reading the folders answers, broken folders named every time as they are there.
    /// </summary>
    private (Dictionary<long, RunRow> Rows, HashSet<long> Gone, IndexRefresh Refresh, Dictionary<long, FolderPrint> Prints) Sync(Task<Listed> listing,
        Dictionary<long, FolderPrint> held, System.Diagnostics.Stopwatch clock)
    {
        var present = Runs(listing.GetAwaiter().GetResult(), held);
        var changed = present.Where(p => !p.Unchanged).ToList();
        var read = changed.Count == 0 ? [] : changed.AsParallel().Select(p =>
        {
            var folder = RunFolder.Open(System.IO.Path.Combine(RunsRoot, p.Rel!));
            // The files' fingerprint is taken before they are read: a change while reading is seen next time.
            var print = p.Print with { Files = FilesPrint(p.Rel!) };
            try { return (p.Folder, Dir: p.Rel!, Print: print, Row: RunRow.Read(folder), Problem: (string?)null); }
            catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException) { return (p.Folder, Dir: p.Rel!, Print: print, Row: (RunRow?)null, Problem: e.Message); }
        }).ToList();
        // Every folder held is still there when as many of the present ones are held as the index holds (the usual case: no set of every folder made).
        int heldPresent = 0;
        foreach (var p in present) if (held.ContainsKey(p.Folder)) heldPresent++;
        HashSet<long> gone;
        if (heldPresent == held.Count) gone = [];
        else
        {
            var presentFolders = present.Select(p => p.Folder).ToHashSet();
            gone = held.Keys.Where(d => !presentFolders.Contains(d)).ToHashSet();
        }
        // Broken folders and folders being created are not runs to show: whatever the index held of them goes.
        foreach (var r in read) if (r.Row is null) gone.Add(r.Folder);
        var broken = read.Where(r => r.Problem is not null).Select(r => r.Problem!).ToList();
        var rows = read.Where(r => r.Row is not null).ToDictionary(r => r.Folder, r => r.Row!);
        if (rows.Count > 0 || gone.Count > 0) Store(read.Where(r => r.Row is not null).Select(r => (r.Dir, r.Print, r.Row!)).ToList(), gone);
        int added = rows.Keys.Count(d => !held.ContainsKey(d));
        var stored = read.Where(c => c.Row is not null).ToDictionary(c => c.Folder, c => c.Print);
        var shown = rows.ToDictionary(r => r.Key, r => r.Value.Shown());
        return (shown, gone, new IndexRefresh(present.Count, added, rows.Count - added, gone.Count(held.ContainsKey), broken, clock.Elapsed.TotalSeconds), stored);
    }

    private void Store(List<(string Dir, FolderPrint Print, RunRow Row)> read, HashSet<long> gone)
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
        upsert.CommandText = "INSERT OR REPLACE INTO runs VALUES ($dir, $mtime, $id, $experiment, $status, $host, $pid, $pstart, $started, $superseded, $pkeys, $pvals, $mkeys, $mvals, $files, $dirhash)";
        var ps = new[] { "$dir", "$mtime", "$id", "$experiment", "$status", "$host", "$pid", "$pstart", "$started", "$superseded", "$pkeys", "$pvals", "$mkeys", "$mvals", "$files", "$dirhash" }
            .Select(n => upsert.Parameters.Add(new SqliteParameter(n, null))).ToArray();
        foreach (var (dir, print, row) in read)
        {
            object?[] values =
            [
                dir, print.Folder, row.Id, row.Experiment, row.Status, row.Owner?.Host ?? "", row.Owner?.Pid ?? 0, row.Owner?.Started?.UtcTicks,
                row.Started?.UtcTicks ?? 0, row.Superseded ? 1 : 0,
                KeySetId(row.Params.Keys), string.Join(PackedMap.Separator, row.Params.Values.Select(v => v.Replace(PackedMap.Separator, '\uFFFD'))),
                KeySetId(row.Metrics.Keys), System.Runtime.InteropServices.MemoryMarshal.AsBytes(row.Metrics.Values.ToArray().AsSpan()).ToArray(),
                print.Files, FolderKey(dir),
            ];
            for (int i = 0; i < ps.Length; i++) ps[i].Value = values[i] ?? DBNull.Value;
            upsert.ExecuteNonQuery();
        }
        using var delete = _db.CreateCommand();
        delete.CommandText = "DELETE FROM runs WHERE dirhash = $h";
        var d = delete.Parameters.Add(new SqliteParameter("$h", SqliteType.Integer));
        foreach (var folder in gone) { d.Value = folder; delete.ExecuteNonQuery(); }
        tx.Commit();
    }

    /// <summary>A folder listed: its parent's path relative to the runs directory ("" at the top), its name, its key (<see cref="FolderKey(string)"/>) and time.</summary>
    private readonly record struct Entry(string Parent, string Name, long Folder, long Mtime)
    {
        public string Rel => Parent.Length == 0 ? Name : Parent + "/" + Name;
    }

    /// <summary>What a listing found: the runs directory's children and their children, or the runs directory itself being a run (its time).</summary>
    private sealed record Listed(List<Entry> Children, List<Entry> Grandchildren, long? Root);

    /// <summary>The runs directory's folders two levels deep (where run folders are: see <see cref="RunFolder.FindAll"/>) with their modification times.</summary>
    private Listed List()
    {
        if (File.Exists(System.IO.Path.Combine(RunsRoot, RunFolder.RecordFile))) return new([], [], Directory.GetLastWriteTimeUtc(RunsRoot).Ticks);
        var children = Listing(RunsRoot, "");
        // The experiments' folders listed on every core (a listing is a stat a folder), each into its own place: no ordered merge.
        var lists = new List<Entry>[children.Count];
        Parallel.For(0, children.Count, new ParallelOptions { MaxDegreeOfParallelism = Math.Clamp(Environment.ProcessorCount, 1, 8) },
            i => lists[i] = Listing(System.IO.Path.Combine(RunsRoot, children[i].Name), children[i].Name));
        var grandchildren = new List<Entry>(lists.Sum(l => l.Count));
        foreach (var list in lists) grandchildren.AddRange(list);
        return new(children, grandchildren, null);
    }

    /// <summary>
    /// A folder's key in the index: a 64-bit hash of its path relative to the runs directory (FNV-1a
    /// over its characters, then mixed), the same in every process — so that following 100,000
    /// folders compares numbers, not names. Two folders of one runs directory sharing a key is a
    /// chance of about 1 in 10¹⁰ at a million runs.
    /// </summary>
    public static long FolderKey(string rel) => Finish(Fnv(Basis, rel));

    private static long FolderKey(string parent, ReadOnlySpan<char> name) =>
        parent.Length == 0 ? Finish(Fnv(Basis, name)) : Finish(Fnv(Fnv(Fnv(Basis, parent), "/"), name));

    private const ulong Basis = 14695981039346656037UL;

    private static ulong Fnv(ulong h, ReadOnlySpan<char> text)
    {
        foreach (char c in text) { h ^= c; h *= 1099511628211UL; }
        return h;
    }

    private static long Finish(ulong h)
    {
        h ^= h >> 33; h *= 0xff51afd7ed558ccdUL; h ^= h >> 33; h *= 0xc4ceb9fe1a85ec53UL; h ^= h >> 33;
        return (long)h;
    }

    /// <summary>At most this many folders a use have their files looked at although their folder's time has not moved (all of them below it).</summary>
    internal int VerifyBudget { get; set; } = 5_000;

    /// <summary>How many connections read the index's rows at once (one part of the table each), and the fewest rows worth splitting.</summary>
    internal int Parts { get; set; } = Math.Clamp(Environment.ProcessorCount, 1, 4);
    internal int PartRows { get; set; } = 20_000;

    /// <summary>
    /// The run folders among those listed — those holding a run.json, as FindAll finds them: the root,
    /// else its children, else their children — each with its fingerprint and whether it is the one
    /// held. Every file ExpRunner writes in a run folder is written whole under a temporary name and
    /// renamed into place (run.json's in-place fallback touches the folder), as editors save files,
    /// and a rename moves the folder's time: a folder whose time is the one held is taken as unchanged
    /// without looking into it — except that a slice of them (all, up to <see cref="VerifyBudget"/>
    /// folders; beyond, the next slice each use, in turn) has its files' times and sizes compared too,
    /// so a file overwritten in place is still seen: at once below 5,000 runs, within a few uses
    /// above (100,000 runs: 20). 0, "read again next time", while the folder changed within the last two seconds: a change
    /// within the filesystem's time resolution could go unseen.
    /// </summary>
    private List<(long Folder, string? Rel, FolderPrint Print, bool Unchanged)> Runs(Listed listed, Dictionary<long, FolderPrint> held)
    {
        long recent = (DateTime.UtcNow - TimeSpan.FromSeconds(2)).Ticks;
        int slices = Math.Max(1, (held.Count + VerifyBudget - 1) / VerifyBudget);
        long slice = slices == 1 ? 0 : NextSlice() % slices;
        // Unchanged folders are known by their key alone; a folder's path is made when it must be looked into.
        (long, string?, FolderPrint, bool)? Fingerprint(Entry e)
        {
            long folder = e.Mtime > recent ? 0 : Math.Max(1, e.Mtime);
            string? rel = null;
            if (folder != 0 && held.TryGetValue(e.Folder, out var known) && known.Settled && known.Folder == folder)
            {
                if (slices > 1 && (ulong)e.Folder % (ulong)slices != (ulong)slice) return (e.Folder, null, known, true);
                long files = FilesPrint(rel = e.Rel);
                if (files == known.Files) return (e.Folder, null, known, true);
                if (files == -1) return null; // run.json gone
            }
            rel ??= e.Rel;
            return File.Exists(System.IO.Path.Combine(RunsRoot, rel, RunFolder.RecordFile)) ? (e.Folder, rel, new FolderPrint(folder, 0), false) : null;
        }
        if (listed.Root is long root) return Fingerprint(new Entry("", ".", FolderKey("."), root)) is { } self ? [self] : [];
        var children = listed.Children.Select(c => (c.Name, Print: Fingerprint(c))).ToList();
        var runNames = children.Where(c => c.Print is not null).Select(c => c.Name).ToHashSet(StringComparer.Ordinal);
        var candidates = runNames.Count == 0 ? listed.Grandchildren : [.. listed.Grandchildren.Where(g => !runNames.Contains(g.Parent))];
        // In as many contiguous parts as there are cores, each filling its share of one array (no ordered merge of 100,000 items).
        var prints = new (long, string?, FolderPrint, bool)?[candidates.Count];
        int parts = Math.Clamp(Math.Min(Environment.ProcessorCount, candidates.Count / 2_000), 1, 8);
        Parallel.For(0, parts, new ParallelOptions { MaxDegreeOfParallelism = parts }, p =>
        {
            int from = (int)((long)candidates.Count * p / parts), to = (int)((long)candidates.Count * (p + 1) / parts);
            for (int i = from; i < to; i++) prints[i] = Fingerprint(candidates[i]);
        });
        var present = new List<(long, string?, FolderPrint, bool)>(children.Count + prints.Length);
        foreach (var c in children) if (c.Print is { } print) present.Add(print);
        foreach (var print in prints) if (print is { } p) present.Add(p);
        return present;
    }

    /// <summary>
    /// run.json's, summary.json's and meta.json's times and sizes mixed into one number (a file rewritten
    /// in place does not move its folder's time); 0 when one changed within the last two seconds; -1 when
    /// there is no run.json.
    /// </summary>
    private long FilesPrint(string rel)
    {
        long recent = (DateTime.UtcNow - TimeSpan.FromSeconds(2)).Ticks;
        string folder = System.IO.Path.Combine(RunsRoot, rel);
        if (FolderListing.File(System.IO.Path.Combine(folder, RunFolder.RecordFile)) is not var (recordTicks, recordSize)) return -1;
        var summary = FolderListing.File(System.IO.Path.Combine(folder, RunFolder.SummaryFile));
        var meta = FolderListing.File(System.IO.Path.Combine(folder, RunMeta.File));
        long summaryTicks = summary?.WriteTicks ?? 0, metaTicks = meta?.WriteTicks ?? 0;
        if (recordTicks > recent || summaryTicks > recent || metaTicks > recent) return 0;
        long print = Mix(recordTicks, recordSize, summaryTicks, summary?.Size ?? -1, metaTicks, meta?.Size ?? -1);
        return print is 0 or -1 ? 1 : print;
    }

    /// <summary>The slice of held folders whose files this use compares: a counter kept in the index, one up each use.</summary>
    private long NextSlice()
    {
        try
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "INSERT INTO meta VALUES ('slice', '1') ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1 RETURNING CAST(value AS INTEGER)";
            return Convert.ToInt64(cmd.ExecuteScalar(), CultureInfo.InvariantCulture);
        }
        catch (SqliteException) { return Environment.TickCount64 / 1000; } // a read-only index: any slice
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

    private static List<Entry> Listing(string dir, string parent) =>
        FolderListing.Of(dir).ConvertAll(f => new Entry(parent, f.Name, FolderKey(parent, f.Name), f.WriteTicks));

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

/// <summary>
/// A row of a query on the index, read straight from SQLite's statement: 100,000 rows of 15 columns in
/// about a third of the time of a data reader, whose every value goes through type checks and
/// conversions. The columns are read by calling SQLite's library itself with the statement's pointer
/// (not through SQLitePCL's provider, which takes a reference on the statement's handle and
/// dispatches through an interface for every value); the statement stays alive and is finalised by
/// <see cref="Each"/>, which alone hands rows out. Text is read as its UTF-8 bytes; the few distinct
/// values (experiments, statuses, hosts) come from a <see cref="ValuePool"/> without a string made for each row.
/// </summary>
internal readonly unsafe partial struct StoredRow(IntPtr statement)
{
    public long Int64(int column) => ColumnInt64(statement, column);
    public bool IsNull(int column) => ColumnType(statement, column) == SQLitePCL.raw.SQLITE_NULL;
    public ReadOnlySpan<byte> Bytes(int column)
    {
        byte* data = ColumnBlob(statement, column); // before its length: SQLite's rule for the pair
        int length = ColumnBytes(statement, column);
        return data is null ? [] : new ReadOnlySpan<byte>(data, length);
    }
    public string Text(int column) => Encoding.UTF8.GetString(Bytes(column));
    public string Pooled(int column, ValuePool pool) => pool.Get(Bytes(column));

    /// <summary>A blob of doubles (the metrics' values as stored), copied into the arena; one that is not whole doubles is a damaged row.</summary>
    public ReadOnlyMemory<double> Doubles(int column, Arena arena)
    {
        var bytes = Bytes(column);
        if (bytes.Length % sizeof(double) != 0) throw new ArgumentException($"a metrics blob of {bytes.Length} bytes");
        return arena.AddDoubles(bytes);
    }

    /// <summary>Runs <paramref name="sql"/> on the connection with its arguments (?1, ?2, …: whole numbers or text), each row handed to <paramref name="row"/>.</summary>
    public static void Each(SqliteConnection db, string sql, object[] args, Action<StoredRow> row) =>
        Each(db.Handle ?? throw new InvalidOperationException("the index connection is closed"), sql, args, row);

    /// <summary>As above, on a connection's handle.</summary>
    public static void Each(SQLitePCL.sqlite3 handle, string sql, object[] args, Action<StoredRow> row)
    {
        Check(handle, SQLitePCL.raw.sqlite3_prepare_v2(handle, sql, out var statement));
        using (statement)
        {
            for (int i = 0; i < args.Length; i++)
                Check(handle, args[i] switch
                {
                    long n => SQLitePCL.raw.sqlite3_bind_int64(statement, i + 1, n),
                    string t => SQLitePCL.raw.sqlite3_bind_text(statement, i + 1, t),
                    _ => throw new ArgumentException($"an argument of type {args[i].GetType().Name}"),
                });
            bool added = false;
            statement.DangerousAddRef(ref added);
            try
            {
                IntPtr stmt = statement.DangerousGetHandle();
                int rc;
                while ((rc = Step(stmt)) == SQLitePCL.raw.SQLITE_ROW) row(new StoredRow(stmt));
                if (rc != SQLitePCL.raw.SQLITE_DONE) Check(handle, rc);
            }
            finally { if (added) statement.DangerousRelease(); }
        }
    }

    /// <summary>
    /// A read-only connection to the index file for one thread's scan, opened without SQLite's lock
    /// around every call (SQLITE_OPEN_NOMUTEX: it is used by one thread only).
    /// </summary>
    public static SQLitePCL.sqlite3 Reader(string path)
    {
        int rc = SQLitePCL.raw.sqlite3_open_v2(path, out var db, SQLitePCL.raw.SQLITE_OPEN_READONLY | SQLitePCL.raw.SQLITE_OPEN_NOMUTEX, null);
        if (rc != SQLitePCL.raw.SQLITE_OK)
        {
            string message = db is null ? $"SQLite Error {rc}" : SQLitePCL.raw.sqlite3_errmsg(db).utf8_to_string();
            db?.Dispose();
            throw new SqliteException($"SQLite Error {rc}: '{message}'.", rc);
        }
        Check(db, SQLitePCL.raw.sqlite3_busy_timeout(db, 10_000));
        Check(db, SQLitePCL.raw.sqlite3_exec(db, "PRAGMA mmap_size=1073741824;"));
        return db;
    }

    private static void Check(SQLitePCL.sqlite3 handle, int rc)
    {
        if (rc is not (SQLitePCL.raw.SQLITE_OK or SQLitePCL.raw.SQLITE_ROW or SQLitePCL.raw.SQLITE_DONE))
            throw new SqliteException($"SQLite Error {rc}: '{SQLitePCL.raw.sqlite3_errmsg(handle).utf8_to_string()}'.", rc);
    }

    // SQLite's own functions, from the library SQLitePCL loads (e_sqlite3).
    [LibraryImport("e_sqlite3", EntryPoint = "sqlite3_step")]
    private static partial int Step(IntPtr statement);
    [LibraryImport("e_sqlite3", EntryPoint = "sqlite3_column_int64")]
    private static partial long ColumnInt64(IntPtr statement, int column);
    [LibraryImport("e_sqlite3", EntryPoint = "sqlite3_column_type")]
    private static partial int ColumnType(IntPtr statement, int column);
    [LibraryImport("e_sqlite3", EntryPoint = "sqlite3_column_blob")]
    private static partial byte* ColumnBlob(IntPtr statement, int column);
    [LibraryImport("e_sqlite3", EntryPoint = "sqlite3_column_bytes")]
    private static partial int ColumnBytes(IntPtr statement, int column);
}
