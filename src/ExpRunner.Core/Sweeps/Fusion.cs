using ExpRunner.Config;

namespace ExpRunner.Sweeps;

/// <summary>
/// Which trials of a sweep train together in one process (<see cref="Training.TrialGroup{T}"/>): those
/// that see the same training data in the same order in batches of the same size — same dataset
/// settings, same batch size, no shuffling or the same shuffle seed, the same generated data — and
/// the same precision and output width. Everything else (learning rate, reduction, optimizer and its settings, schedule,
/// epochs, early stopping, network, initial weights) may differ.
/// </summary>
public static class Fusion
{
    /// <summary>The smallest group worth training together.</summary>
    public const int MinGroup = 2;

    /// <summary>What trials must share to train together, as text (equal keys: compatible trials).</summary>
    public static string Key(ExperimentConfig c)
    {
        // The experiment's seed orders the data when it is shuffled, and makes generated data that has no seed of its own.
        bool seedMatters = c.Training.Shuffle || c.Dataset is SyntheticDataset { Seed: null };
        var shared = c with
        {
            Name = "-", Seed = seedMatters ? c.Seed : 0,
            // The labels' rows are as wide as the output layer.
            Model = new ModelConfig { Layers = [c.Model.Layers[^1] with { Activation = default }] }, Loss = default,
            Training = new TrainingConfig { BatchSize = c.Training.BatchSize, Shuffle = c.Training.Shuffle },
            Tracking = new TrackingConfig(), Probes = null, Sweep = new SweepSpec(),
        };
        return ConfigWriter.ToYaml(shared);
    }

    /// <summary>
    /// The keys of a sweep's trials about to start: a trial that continues an earlier attempt (its
    /// marker names the folder) goes with those continuing from the same point.
    /// </summary>
    public static List<string?> Keys(SweepStore store, SweepRecord sweep, IReadOnlyList<TrialRecord> trials)
    {
        string file = store.PathOf(sweep.Id, sweep.ConfigFile), text = ConfigLoader.ReadText(file);
        return [.. trials.Select(t => store.ReadMarker(sweep.Id, t.Index) is { } m
            ? ResumeKey(Path.Combine(store.RunsRoot, m.RunDir))
            : Key(ConfigLoader.Parse(text, file, [.. sweep.Overrides, .. t.Overrides]).Config))];
    }

    /// <summary>How many sets of compatible trials (and trials alone) <paramref name="keys"/> make.</summary>
    public static int Sets(IReadOnlyList<string?> keys) => keys.Count(k => k is null) + keys.Where(k => k is not null).Distinct(StringComparer.Ordinal).Count();

    /// <summary>
    /// The key of a trial continuing from the checkpoint in <paramref name="runDir"/> (its own config,
    /// and the epoch it continues after: trials continue together only from the same point); null when
    /// the folder has no readable checkpoint or config.
    /// </summary>
    public static string? ResumeKey(string runDir)
    {
        try
        {
            string checkpoint = Path.Combine(runDir, Tracking.RunFolder.CheckpointFile);
            if (!File.Exists(checkpoint) || !IO.Safetensors.ReadHeader(checkpoint).Metadata.TryGetValue("epoch", out var epoch)) return null;
            return Key(ConfigLoader.Load(Path.Combine(runDir, Tracking.RunFolder.ConfigFile)).Config) + $"\n# continues after epoch {epoch}";
        }
        catch (Exception e) when (e is IOException or InvalidDataException or ConfigException or UnauthorizedAccessException)
        {
            return null; // the resume itself says what is wrong, alone
        }
    }

    /// <summary>
    /// How trials are started on <paramref name="slots"/> processes: compatible trials (equal
    /// <paramref name="keys"/>; null: a trial that must run alone) in groups, a key's trials split into
    /// as many groups as the slots allow (contiguous, balanced, at least <see cref="MinGroup"/> each);
    /// every other trial alone. Units in the order of their first trial; at most <paramref name="slots"/>
    /// (the rest wait for a slot).
    /// </summary>
    public static IReadOnlyList<IReadOnlyList<int>> Plan(IReadOnlyList<int> trials, IReadOnlyList<string?> keys, int slots)
    {
        if (slots <= 0 || trials.Count == 0) return [];
        var sets = new List<List<int>>();
        var byKey = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        for (int i = 0; i < trials.Count; i++)
        {
            if (keys[i] is { } key)
            {
                if (!byKey.TryGetValue(key, out var set)) { byKey[key] = set = []; sets.Add(set); }
                set.Add(trials[i]);
            }
            else sets.Add([trials[i]]);
        }
        // A key with one trial is a trial alone; each set takes one slot, then spare slots split the largest groups further.
        var chunks = sets.Select(_ => 1).ToArray();
        int used = Math.Min(sets.Count, slots);
        for (int spare = slots - used; spare > 0; spare--)
        {
            int best = -1;
            double bestSize = 0;
            for (int s = 0; s < used; s++)
            {
                double size = (double)sets[s].Count / chunks[s];
                if (sets[s].Count / (chunks[s] + 1) >= MinGroup && size > bestSize) (best, bestSize) = (s, size);
            }
            if (best < 0) break;
            chunks[best]++;
        }
        var units = new List<IReadOnlyList<int>>();
        for (int s = 0; s < used; s++)
        {
            var set = sets[s];
            for (int c = 0; c < chunks[s]; c++)
            {
                int from = set.Count * c / chunks[s], to = set.Count * (c + 1) / chunks[s];
                units.Add(set.GetRange(from, to - from));
            }
        }
        return units;
    }

    /// <summary>Trial numbers as runs of consecutive ones: "0–5, 8, 10–11".</summary>
    public static string Numbers(IReadOnlyList<int> trials)
    {
        var parts = new List<string>();
        for (int i = 0; i < trials.Count;)
        {
            int j = i;
            while (j + 1 < trials.Count && trials[j + 1] == trials[j] + 1) j++;
            parts.Add(j == i ? Inv(trials[i]) : j == i + 1 ? $"{Inv(trials[i])}, {Inv(trials[j])}" : $"{Inv(trials[i])}–{Inv(trials[j])}");
            i = j + 1;
        }
        return string.Join(", ", parts);
    }

    private static string Inv(int n) => n.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
