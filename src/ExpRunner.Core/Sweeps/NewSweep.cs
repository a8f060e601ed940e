using System.Globalization;
using ExpRunner.Config;
using ExpRunner.Tracking;

namespace ExpRunner.Sweeps;

/// <summary>
/// A sweep before it exists: the config read once, --set split Hydra-style into plain overrides
/// and swept keys, the trials counted before they are expanded (a 10⁴ × 10⁴ grid is refused, not
/// built), expanded, and every distinct trial config checked — all before anything is written.
/// </summary>
public sealed class NewSweep
{
    public const long DefaultMaxTrials = 100_000;

    public required string ConfigFile { get; init; }
    public required string ConfigText { get; init; }
    public required LoadedConfig Loaded { get; init; }
    public required SweepSpec Spec { get; init; }
    /// <summary>The --set overrides that apply to every trial.</summary>
    public required IReadOnlyList<string> Plain { get; init; }
    public required IReadOnlyList<Trial> Trials { get; init; }
    /// <summary>The most matrix threads any trial asks for (training.threads may be swept).</summary>
    public required int MaxThreads { get; init; }
    /// <summary>The datasets the trials read (a sweep may sweep dataset keys), each once.</summary>
    public required IReadOnlyList<DatasetConfig> Datasets { get; init; }

    /// <summary>
    /// Why the trials' data is not there, one message per dataset whose files are missing (what each trial
    /// would fail with), found before anything is written; empty when it is all there.
    /// </summary>
    public IReadOnlyList<string> MissingData() => [.. Datasets.Select(Data.DatasetLoader.Missing).OfType<string>().Distinct()];

    /// <summary>Whether the config and --set sweep over anything at all.</summary>
    public bool Sweeps => !Spec.IsEmpty;

    public static NewSweep Plan(string configFile, IReadOnlyList<string> sets, long maxTrials = DefaultMaxTrials)
    {
        string text = ConfigLoader.ReadText(configFile);
        var (plain, swept) = SweepPlan.SplitOverrides(sets);
        var loaded = ConfigLoader.Parse(text, configFile, plain);
        var spec = loaded.Config.Sweep;
        if (spec.Search is not null && swept.Count > 0)
            throw new ConfigException([new ConfigError("--set", swept[0].Key,
                $"sweeps over {swept[0].Values.Count} values, but this sweep is a search (sweep.search): declare the key in sweep.search.params, or set one value")]);
        spec = spec with { Grid = spec.Grid.Where(a => swept.All(s => s.Key != a.Key)).Concat(swept).ToList() };

        var count = SweepPlan.Count(spec);
        if (count > maxTrials)
        {
            string where = swept.Count > 0 ? "--set" : loaded.Locate("sweep");
            throw new ConfigException([new ConfigError(where, "sweep",
                $"{count.ToString("N0", CultureInfo.InvariantCulture)} trials ({SweepPlan.Shape(spec)}); a sweep may have at most " +
                $"{maxTrials.ToString("N0", CultureInfo.InvariantCulture)} (--max-trials raises the limit)")]);
        }
        var trials = SweepPlan.Expand(spec, loaded.Config.Seed);
        var (threads, datasets) = Validate(text, configFile, plain, spec.Search is { } search ? SweepPlan.Probes(search, loaded.Config.Seed) : trials);
        return new NewSweep
        {
            ConfigFile = configFile, ConfigText = text, Loaded = loaded, Spec = spec, Plain = plain, Trials = trials, MaxThreads = threads,
            Datasets = datasets.Count > 0 ? datasets : [loaded.Config.Dataset],
        };
    }

    /// <summary>
    /// Every distinct trial config (repeats differ only in the seed) is checked, on every core; each
    /// error is reported once, in trial order. Returns the most matrix threads a trial asks for, and the
    /// datasets the trials read.
    /// </summary>
    private static (int Threads, List<DatasetConfig> Datasets) Validate(string text, string file, IReadOnlyList<string> plain, IReadOnlyList<Trial> trials)
    {
        var checkedTrials = trials.Where(t => t.Repeat == 0).AsParallel().AsOrdered().Select(t =>
        {
            try
            {
                var config = ConfigLoader.Parse(text, file, [.. plain, .. t.Overrides]).Config;
                return (Trial: t, Threads: config.Training.Threads, Dataset: config.Dataset, Errors: (IReadOnlyList<ConfigError>)[]);
            }
            catch (ConfigException e) { return (Trial: t, Threads: 1, Dataset: (DatasetConfig?)null, Errors: e.Errors); }
        }).ToList();
        var errors = new List<ConfigError>();
        var seen = new HashSet<string>();
        foreach (var (t, _, _, trialErrors) in checkedTrials)
            foreach (var error in trialErrors)
                if (seen.Add(error.ToString())) errors.Add(error with { Message = $"{error.Message} (trial {t.Index}: {t.Label})" });
        if (errors.Count > 0) throw new ConfigException(errors);
        return (checkedTrials.Select(c => c.Threads).DefaultIfEmpty(1).Max(), [.. checkedTrials.Select(c => c.Dataset).OfType<DatasetConfig>().Distinct()]);
    }

    /// <summary>
    /// Trials that are one configuration run twice (<see cref="Config.Equivalence"/>): classes of trial indexes, in
    /// order; none for a search (its trials are proposed as it goes) or when the training set's size cannot be told
    /// without loading the data.
    /// </summary>
    public List<List<int>> Equivalent()
    {
        if (Spec.Search is not null || Trials.Count < 2) return [];
        var configs = Trials.AsParallel().AsOrdered().Select(t =>
        {
            try { return ConfigLoader.Parse(ConfigText, ConfigFile, [.. Plain, .. t.Overrides]).Config; }
            catch (ConfigException) { return null; }
        }).ToList();
        var counts = new Dictionary<DatasetConfig, int?>();
        var items = configs.Select(c =>
        {
            if (c is null) return ((IReadOnlyDictionary<string, string>)new Dictionary<string, string>(), (int?)null);
            if (!counts.TryGetValue(c.Dataset, out var n)) counts[c.Dataset] = n = Data.DatasetLoader.TrainCount(c.Dataset);
            return ((IReadOnlyDictionary<string, string>)ConfigWriter.Flatten(c).ToDictionary(kv => kv.Key, kv => kv.Value), n);
        }).ToList();
        return [.. Config.Equivalence.Classes(items).Select(c => c.Select(i => Trials[i].Index).ToList())];
    }

    /// <summary>Writes the sweep folder (config copy, sweep.json with every trial PENDING); nothing runs yet.</summary>
    public SweepRecord Create(SweepStore store, string executor, SlurmOptions? slurm, DateTimeOffset now, string? label = null, IReadOnlyDictionary<string, string>? tags = null)
    {
        string source = Path.GetFullPath(ConfigFile);
        var git = File.Exists(source) ? Provenance.Git(Path.GetDirectoryName(source)!) : null;
        var record = new SweepRecord
        {
            Id = "", Experiment = Loaded.Config.Name, ConfigFile = SweepStore.ConfigFile, SourceConfig = source,
            GitCommit = git?.Commit, GitDirty = git?.Dirty,
            Overrides = [$"name={Loaded.Config.Name}", .. Plain], SweptKeys = Spec.SweptKeys.ToList(), Repeats = Spec.Repeats,
            Created = now, Executor = executor, Slurm = executor == "slurm" ? slurm : null, Prune = Spec.Prune, Search = Spec.Search,
            Label = label, Tags = tags is { Count: > 0 } ? tags : null,
            Trials = Trials.Select(t => new TrialRecord { Index = t.Index, Overrides = t.Overrides, Seed = t.Seed, Repeat = t.Repeat }).ToList(),
        };
        // The copy must stand alone: a config that extends others is kept composed.
        return store.Create(record, ConfigLoader.SelfContained(ConfigText, ConfigFile), now);
    }
}
