using YamlDotNet.RepresentationModel;

namespace ExpRunner.Config;

/// <summary>A config that passed validation, with where each key was written (for later messages).</summary>
public sealed record LoadedConfig(ExperimentConfig Config, string File, IReadOnlyList<string> Overrides, Func<string, string> Locate);

/// <summary>
/// YAML file + --set overrides → validated <see cref="ExperimentConfig"/>. Nothing is loaded
/// but the text; every error (syntax, unknown keys, types, values, network semantics) is
/// collected and thrown together as a <see cref="ConfigException"/>.
/// </summary>
public static class ConfigLoader
{
    public static LoadedConfig Load(string path, IReadOnlyList<string>? overrides = null) => Parse(ReadText(path), path, overrides);

    /// <summary>
    /// A config file's text, read once (a pipe such as `&lt;(cat x.yaml)` can be read only once): a
    /// regular file or a pipe, at most <see cref="YamlTree.MaxBytes"/>, valid UTF-8.
    /// </summary>
    public static string ReadText(string path)
    {
        ConfigException Error(string message) => new([new ConfigError(path, "", message)]);
        switch (IO.BoundedFile.KindOf(path))
        {
            case IO.BoundedFile.Kind.Missing: throw Error("no such file" + NearbyFile(path));
            case IO.BoundedFile.Kind.Directory: throw Error("is a directory, not a config file");
        }
        byte[] bytes;
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.None);
            using var buffer = new MemoryStream();
            var chunk = new byte[81920];
            for (int n; (n = stream.Read(chunk)) > 0;)
            {
                if (buffer.Length + n > YamlTree.MaxBytes) throw Error($"more than {YamlTree.MaxBytes} bytes; a config may be at most {YamlTree.MaxBytes}");
                buffer.Write(chunk, 0, n);
            }
            bytes = buffer.ToArray();
        }
        catch (UnauthorizedAccessException) { throw Error("permission denied"); }
        catch (IOException e) { throw Error($"cannot be read ({e.Message})"); }
        int bad = IO.BoundedFile.InvalidUtf8At(bytes);
        if (bad < 0) return IO.BoundedFile.Decode(bytes, path);
        // Where the editor shows it: the line, and the column counted in characters up to the bad byte.
        int lineStart = Array.LastIndexOf(bytes, (byte)'\n', Math.Max(0, bad - 1)) + 1;
        if (bad == 0) lineStart = 0;
        int line = 1 + bytes.AsSpan(0, lineStart).Count((byte)'\n');
        int column = 1 + new System.Text.UTF8Encoding(false, false).GetCharCount(bytes, lineStart, bad - lineStart);
        throw new ConfigException([new ConfigError($"{path}:{line}:{column}", "",
            $"not UTF-8 text (byte 0x{bytes[bad]:X2} at offset {bad}); save the file as UTF-8")]);
    }

    /// <summary>
    /// The config as one self-contained text: unchanged unless it extends others, else the composed
    /// document (what a sweep keeps as its copy, so that the copy does not depend on where it is).
    /// </summary>
    public static string SelfContained(string text, string file)
    {
        var tree = YamlTree.Parse(text, file);
        var errors = new List<ConfigError>();
        tree.Compose(ReadText, errors);
        if (errors.Count > 0) throw new ConfigException(errors);
        return tree.Composed ? $"# {file} with what it extends, composed\n" + tree.ToText() : text;
    }

    public static LoadedConfig Parse(string text, string file, IReadOnlyList<string>? overrides = null)
    {
        overrides ??= [];
        var tree = YamlTree.Parse(text, file);
        var errors = new List<ConfigError>();
        tree.Compose(ReadText, errors);
        Groups(tree);
        foreach (var o in overrides)
        {
            if (!KeepsGroup(tree, o)) tree.Apply(o, errors);
            Groups(tree);
        }
        var located = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
        var root = new Section(tree, errors, located, tree.Root, "");
        var config = Bind(root, file);
        string Locate(string key)
        {
            for (string k = key; k.Length > 0; k = k.Contains('.') ? k[..k.LastIndexOf('.')] : "")
                if (located.TryGetValue(k, out var n)) return tree.Locate(n);
            return tree.Locate(tree.Root);
        }
        // The checks across fields run even when single fields failed, so every error shows at once;
        // but not on a key that already has an error (its value there is only a stand-in).
        var failed = errors.Select(e => e.Key).Where(k => k.Length > 0).ToList();
        Semantics(config, (key, msg) =>
        {
            if (!failed.Any(f => f == key || f.StartsWith(key + ".", StringComparison.Ordinal) || key.StartsWith(f + ".", StringComparison.Ordinal)))
                errors.Add(new ConfigError(Locate(key), key, msg));
        });
        if (errors.Count > 0) throw new ConfigException(InFileOrder(errors, file));
        return new LoadedConfig(config!, file, overrides, Locate);
    }

    /// <summary>" (did you mean 'experiments/mnist-sgd.yaml'?)" for a config file name close to one beside it.</summary>
    private static string NearbyFile(string path)
    {
        string dir = Path.GetDirectoryName(path) is { Length: > 0 } d ? d : ".";
        if (!Directory.Exists(dir)) return "";
        try
        {
            var names = Directory.EnumerateFiles(dir).Select(Path.GetFileName).OfType<string>()
                .Where(n => n.EndsWith(".yaml", StringComparison.Ordinal) || n.EndsWith(".yml", StringComparison.Ordinal)).ToList();
            string hint = DidYouMean.Suggest(Path.GetFileName(path), names);
            if (hint.Length == 0) return "";
            string name = hint[" (did you mean '".Length..^"'?)".Length];
            return $" (did you mean '{(Path.GetDirectoryName(path) is { Length: > 0 } ? Path.Combine(Path.GetDirectoryName(path)!, name) : name)}'?)";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return ""; }
    }

    /// <summary>Errors in the file by line and column, then those of --set overrides in the order given.</summary>
    private static List<ConfigError> InFileOrder(List<ConfigError> errors, string file)
    {
        (int, int, int) Position(ConfigError e, int i)
        {
            if (!e.Location.StartsWith(file + ":", StringComparison.Ordinal)) return (1, 0, i);
            var parts = e.Location[(file.Length + 1)..].Split(':');
            return (0, parts.Length > 0 && int.TryParse(parts[0], System.Globalization.CultureInfo.InvariantCulture, out int l) ? l : 0, parts.Length > 1 && int.TryParse(parts[1], System.Globalization.CultureInfo.InvariantCulture, out int c) ? c : 0);
        }
        return errors.Select((e, i) => (e, Key: Position(e, i))).OrderBy(x => x.Key).Select(x => x.e).ToList();
    }

    /// <summary>What an experiment may be called: it names a folder of the runs directory, so it is a name, not a path.</summary>
    private static bool ValidName(string name) =>
        name.Length is > 0 and <= 100 && name is not ("." or "..") && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');

    private static ExperimentConfig? Bind(Section root, string file)
    {
        string fileName = Path.GetFileNameWithoutExtension(file);
        string name = root.String("name", ValidName(fileName) ? fileName : "experiment")!;
        if (!ValidName(name))
            root.Error(root.Get("name") ?? root.Node, root.Key("name"),
                $"'{(name.Length > 40 ? name[..37] + "..." : name)}' is not a name for a runs folder: 1 to 100 letters, digits, '-', '_' or '.', and not '.' or '..'");
        long seed = root.Integer("seed", 1, long.MinValue, long.MaxValue);
        var precision = SnakeNames<Precision>.Parse(root.String("precision", "float32", SnakeNames<Precision>.All)!);
        var dataset = BindDataset(root.Child("dataset", required: true));
        var model = BindModel(root.Child("model", required: true));
        string? loss = root.String("loss", null, SnakeNames<LossKind>.All, required: true);
        var training = BindTraining(root.Child("training"));
        var sweep = SweepBinder.Bind(root.Child("sweep"));
        var tracking = BindTracking(root.Child("tracking"));
        var probes = root.Has("probes") ? (ProbesConfig)BindDeclared(root.Child("probes"), ProbesConfig.Declared) : null;
        root.RejectUnknown();
        if (dataset is null || model is null || loss is null) return null;
        return new ExperimentConfig { Name = name, Seed = seed, Precision = precision, Dataset = dataset, Model = model, Loss = SnakeNames<LossKind>.Parse(loss), Training = training, Sweep = sweep, Tracking = tracking, Probes = probes };
    }

    /// <summary>The dataset group (`dataset: mnist` was made {name: mnist}), as its kind declares it.</summary>
    private static DatasetConfig? BindDataset(Section s)
    {
        var kinds = Datasets.Kinds;
        string? name = s.String(kinds.NameKey, null, kinds.Names, required: s.Node is not null, s.ShortForm ? s.Path : null);
        if (name is null || kinds.Named(name) is not { } kind)
        {
            s.RejectUnknown();
            return null;
        }
        var values = BindSettings(s, kind, kinds, "dataset");
        foreach (var required in kind.Settings.Where(x => x.Declared.Required && !values.ContainsKey(x.Key)))
            s.Error(s.Node, s.Key(required.Key), $"is required for {name} data ({required.Declared.Doc})");
        var dataset = (DatasetConfig)kind.Create(values);
        if (dataset is ImageDataset { Path: null } image) dataset = image with { Path = Path.Combine("data", name) };
        s.RejectUnknown();
        return dataset;
    }

    private static ModelConfig? BindModel(Section s)
    {
        var layers = new List<LayerConfig>();
        var layersNode = s.Get("layers");
        if (layersNode is null && s.Node is not null) s.Error(s.Node, s.Key("layers"), "is required: a list of { units, activation }");
        else if (layersNode is not null and not YamlSequenceNode)
            s.Error(layersNode, s.Key("layers"), $"must be a list of {{ units, activation }}, got {Section.Describe(layersNode)}");
        else if (layersNode is YamlSequenceNode seq)
        {
            if (seq.Children.Count == 0) s.Error(seq, s.Key("layers"), "needs at least one layer");
            if (seq.Children.Count > 64) s.Error(seq, s.Key("layers"), "more than 64 layers");
            for (int i = 0; i < seq.Children.Count && i < 64; i++)
            {
                var item = seq.Children[i];
                string path = s.Key($"layers.{i}");
                if (item is not YamlMappingNode) { s.Error(item, path, $"must be a mapping {{ units, activation }}, got {Section.Describe(item)}"); continue; }
                var l = s.AsSection(item, path);
                int units = (int)l.Integer("units", 1, 1, 100_000, required: true);
                var activation = SnakeNames<ActivationKind>.Parse(l.String("activation", "sigmoid", SnakeNames<ActivationKind>.All, required: true)!);
                double slope = l.Number("slope", 0.01, v => v >= 0 && v < 1, "in [0, 1)");
                l.RejectUnknown();
                layers.Add(new LayerConfig { Units = units, Activation = activation, Slope = slope });
            }
        }
        var init = s.Has(Group.Init) ? BindInit(s.Child(Group.Init)) : new ModelConfig { Layers = [] }.Init;
        var biasInit = s.Has(Group.BiasInit) ? BindInit(s.Child(Group.BiasInit)) : null;
        s.RejectUnknown();
        return s.Node is null ? null : new ModelConfig { Layers = layers, Init = init, BiasInit = biasInit };
    }

    /// <summary>An initialiser group (`init: he_normal` was made {scheme: he_normal}), as its scheme declares it.</summary>
    private static InitConfig BindInit(Section s)
    {
        var kinds = Inits.Kinds;
        string name = s.String(kinds.NameKey, "uniform", kinds.Names, required: true, s.ShortForm ? s.Path : null)!;
        var kind = kinds.Named(name) ?? kinds.Named("uniform")!;
        var init = (InitConfig)kind.Create(BindSettings(s, kind, kinds, "init scheme"));
        if (init is UniformInit u && u.Low >= u.High) s.Error(s.Get("high"), s.Key("high"), $"must be greater than low ({u.Low.ToString(System.Globalization.CultureInfo.InvariantCulture)})");
        s.RejectUnknown();
        return init;
    }

    private static TrainingConfig BindTraining(Section s)
    {
        var d = new TrainingConfig();
        var t = new TrainingConfig
        {
            Optimizer = BindOptimizer(s.Child(Group.Optimizer)),
            LearningRate = s.Number("learning_rate", d.LearningRate, v => v > 0, "> 0"),
            Schedule = BindSchedule(s.Child(Group.Schedule)),
            WarmupEpochs = (int)s.Integer("warmup_epochs", 0, 0, 10_000_000),
            EarlyStopping = s.Has("early_stopping") ? BindEarlyStopping(s.Child("early_stopping")) : null,
            BatchSize = (int)s.Integer("batch_size", d.BatchSize, 1, 1_000_000),
            Epochs = (int)s.Integer("epochs", d.Epochs, 1, 10_000_000),
            GradientReduction = BindReduction(s),
            Shuffle = s.Boolean("shuffle", d.Shuffle),
            Threads = (int)s.Integer("threads", d.Threads, 1, 256),
        };
        s.RejectUnknown();
        return t;
    }

    /// <summary>
    /// The optimizer group, as its kind declares it: the name, then each of that optimizer's settings
    /// in its range; a setting of another optimizer is an error naming those it applies to (it would
    /// silently do nothing), any other key an unknown one with a did-you-mean.
    /// </summary>
    private static OptimizerConfig BindOptimizer(Section s)
    {
        var kinds = Optimizers.Kinds;
        string name = s.Node is null ? "sgd" : s.String(kinds.NameKey, "sgd", kinds.Names, required: true, s.ShortForm ? s.Path : null)!;
        var kind = kinds.Named(name) ?? kinds.Named("sgd")!;
        var values = BindSettings(s, kind, kinds, "optimizer");
        var optimizer = (OptimizerConfig)kind.Create(values);
        if (optimizer is SgdConfig { Nesterov: true, Momentum: 0 }) s.Error(s.Get("nesterov"), s.Key("nesterov"), "needs momentum > 0");
        if (optimizer is SgdConfig { Nesterov: true, Dampening: > 0 }) s.Error(s.Get("nesterov"), s.Key("nesterov"), "needs dampening 0 (as PyTorch's SGD)");
        s.RejectUnknown();
        return optimizer;
    }

    /// <summary>The settings of <paramref name="kind"/> found in a group's mapping, each checked against its declared range.</summary>
    private static Dictionary<string, object> BindSettings(Section s, Kind kind, KindSet kinds, string what)
    {
        var values = new Dictionary<string, object>(StringComparer.Ordinal);
        foreach (var key in kinds.Keys)
            if (kind[key] is null && s.Get(key) is { } node)
                s.Error(node, s.Key(key), $"applies to {what} {string.Join(" or ", kinds.Having(key))}, not {kind.Name}");
        foreach (var setting in kind.Settings)
            if (s.Has(setting.Key)) values[setting.Key] = BindSetting(s, setting);
        return values;
    }

    /// <summary>One declared setting's value, checked against its type and range.</summary>
    private static object BindSetting(Section s, Setting setting)
    {
        if (setting.IsBool) return s.Boolean(setting.Key, (bool)setting.Default!);
        if (setting.IsText) return s.String(setting.Key, (string?)setting.Default ?? "", setting.Declared.Choices)!;
        if (setting.IsLong)
            return s.Integer(setting.Key, 0, (long)Math.Max(setting.Declared.Min, long.MinValue), (long)Math.Min(setting.Declared.Max, long.MaxValue));
        if (setting.IsInteger)
            return (int)s.Integer(setting.Key, (int)setting.Default!, (long)Math.Max(setting.Declared.Min, int.MinValue), (long)Math.Min(setting.Declared.Max, int.MaxValue));
        return s.Number(setting.Key, (double)setting.Default!, setting.Allows, setting.Range);
    }

    /// <summary>The config's groups: where they live, the key that names their kind, and the loose keys of the shape before them.</summary>
    private static class Group
    {
        public const string Optimizer = "optimizer", Schedule = "lr_schedule", Init = "init", BiasInit = "bias_init";
    }

    /// <summary>
    /// Gives the groups their one shape before anything reads or overrides them: a group written short
    /// (`optimizer: adam`, `lr_schedule: cosine`) becomes its mapping ({name: adam}, {kind: cosine}),
    /// and optimizer settings written loose beside it under training (the shape of older configs and
    /// of `--set training.momentum=…`) move into the optimizer group. So `--set training.optimizer=adam`
    /// or a sweep over optimizers replaces the whole group, settings included, and
    /// `--set training.optimizer.beta1=…` edits inside it. Every node keeps where it was written.
    /// </summary>
    private static void Groups(YamlTree tree)
    {
        if (!tree.Root.Children.TryGetValue(new YamlScalarNode("training"), out var t) || t is not YamlMappingNode training) training = new YamlMappingNode();
        var optimizer = Expand(tree, training, Group.Optimizer, Optimizers.Kinds.NameKey, orDefault: "sgd",
            loose: training.Children.Keys.OfType<YamlScalarNode>().Any(k => Optimizers.Kinds.Keys.Contains(k.Value ?? "")));
        if (optimizer is not null)
            foreach (var (k, v) in training.Children.Where(c => c.Key is YamlScalarNode { Value: { } key } && Optimizers.Kinds.Keys.Contains(key)).ToList())
            {
                training.Children.Remove(k);
                optimizer.Children[k] = v;
            }
        Expand(tree, training, Group.Schedule, Schedules.Kinds.NameKey, orDefault: null, loose: false);
        Expand(tree, tree.Root, "dataset", Datasets.Kinds.NameKey, orDefault: null, loose: false);
        if (tree.Root.Children.TryGetValue(new YamlScalarNode("model"), out var m) && m is YamlMappingNode model)
            foreach (var init in new[] { Group.Init, Group.BiasInit }) Expand(tree, model, init, Inits.Kinds.NameKey, orDefault: null, loose: false);
    }

    /// <summary>
    /// `training.optimizer=NAME` (or any group's key = a kind's name) naming the kind the config already
    /// has keeps the config's settings of it (a sweep over sgd and adam compares the experiment's own
    /// sgd, momentum and all, with adam); naming another replaces the group with that kind's defaults.
    /// </summary>
    private static bool KeepsGroup(YamlTree tree, string assignment)
    {
        int eq = assignment.IndexOf('=');
        if (eq <= 0) return false;
        string key = assignment[..eq].Trim();
        string? nameKey = key switch
        {
            "training." + Group.Optimizer => Optimizers.Kinds.NameKey,
            "training." + Group.Schedule => Schedules.Kinds.NameKey,
            "model." + Group.Init or "model." + Group.BiasInit => Inits.Kinds.NameKey,
            _ => null,
        };
        return nameKey is not null && tree.Find($"{key}.{nameKey}") is YamlScalarNode { Value: { } current } && current == assignment[(eq + 1)..].Trim();
    }

    /// <summary>The group's mapping, made from its short form (or from nothing, when loose keys need a home).</summary>
    private static YamlMappingNode? Expand(YamlTree tree, YamlMappingNode parent, string key, string nameKey, string? orDefault, bool loose)
    {
        var k = new YamlScalarNode(key);
        parent.Children.TryGetValue(k, out var node);
        if (node is YamlMappingNode map) return map;
        if (node is YamlScalarNode { Value: { Length: > 0 } } name && name.Value is not ("~" or "null"))
        {
            map = new YamlMappingNode();
            tree.Place(map, name);
            tree.MarkShort(map);
            map.Children[new YamlScalarNode(nameKey)] = name;
            parent.Children[k] = map;
            return map;
        }
        if (node is not null || !loose || orDefault is null) return null;
        map = new YamlMappingNode();
        var made = new YamlScalarNode(orDefault);
        tree.Place(map, parent);
        tree.Place(made, parent);
        map.Children[new YamlScalarNode(nameKey)] = made;
        parent.Children[k] = map;
        return map;
    }

    /// <summary>The schedule group (`lr_schedule: cosine` was made {kind: cosine}), as its kind declares it.</summary>
    private static ScheduleConfig BindSchedule(Section s)
    {
        var kinds = Schedules.Kinds;
        string name = s.Node is null ? "constant" : s.String(kinds.NameKey, "constant", kinds.Names, required: true, s.ShortForm ? s.Path : null)!;
        var kind = kinds.Named(name) ?? kinds.Named("constant")!;
        var schedule = (ScheduleConfig)kind.Create(BindSettings(s, kind, kinds, "lr_schedule kind"));
        s.RejectUnknown();
        return schedule;
    }

    private static EarlyStopping BindEarlyStopping(Section s) => (EarlyStopping)BindDeclared(s, EarlyStopping.Declared);

    /// <summary>A block of one declared kind (early stopping, probes): each setting as the kind declares it.</summary>
    private static object BindDeclared(Section s, Kind kind)
    {
        var values = new Dictionary<string, object>(StringComparer.Ordinal);
        foreach (var setting in kind.Settings)
            if (s.Has(setting.Key)) values[setting.Key] = BindSetting(s, setting);
        s.RejectUnknown();
        return kind.Create(values);
    }

    private static TrackingConfig BindTracking(Section s)
    {
        var m = s.Child("mlflow");
        var t = new TrackingConfig
        {
            MlflowUri = m.String("uri", null), MlflowExperiment = m.String("experiment", null),
            EverySteps = (int)s.Integer("every_steps", 1, 1, 1_000_000_000),
        };
        if (t.MlflowUri is { } uri && !(Uri.TryCreate(uri, UriKind.Absolute, out var u) && u.Scheme is "http" or "https"))
            m.Error(m.Get("uri"), m.Key("uri"), "must be an http:// or https:// URL");
        m.RejectUnknown();
        s.RejectUnknown();
        return t;
    }

    private static readonly string[] ReductionNames = ["mean", "sum"];

    private static GradientReduction BindReduction(Section s)
    {
        var node = s.Get("gradient_reduction");
        if (node is null) return GradientReduction.Mean;
        if (node is YamlMappingNode)
        {
            var r = s.Child("gradient_reduction");
            var w = r.String("weights", "mean", ReductionNames, required: true);
            var b = r.String("biases", "mean", ReductionNames, required: true);
            r.RejectUnknown();
            return new GradientReduction(Parse(w), Parse(b));
        }
        var both = s.String("gradient_reduction", "mean", ReductionNames);
        return new GradientReduction(Parse(both), Parse(both));
        static Reduction Parse(string? v) => v == "sum" ? Reduction.Sum : Reduction.Mean;
    }

    /// <summary>Checks that need the whole config: does the network fit the data and the loss?</summary>
    public static void Semantics(ExperimentConfig? c, Action<string, string> error)
    {
        if (c is null) return;
        var layers = c.Model.Layers;
        if (layers.Count == 0) return;
        int last = layers.Count - 1;
        var output = layers[last];
        for (int i = 0; i < last; i++)
            if (layers[i].Activation == ActivationKind.Softmax)
                error($"model.layers.{i}.activation", "softmax is only supported on the output layer");
        int? classes = Datasets.Classes(c.Dataset); // csv: known once the file is read
        if (classes is int k) CheckOutputWidth(c, k, error);
        switch (c.Loss)
        {
            case LossKind.CrossEntropy when output.Activation != ActivationKind.Softmax:
                error($"model.layers.{last}.activation", $"cross_entropy needs a softmax output layer, got {output.ActivationName}");
                break;
            case LossKind.Bce when output.Activation != ActivationKind.Sigmoid || output.Units != 1:
                error($"model.layers.{last}", $"bce needs a single sigmoid output unit, got {output.Units} x {output.ActivationName}");
                break;
            case LossKind.Sse or LossKind.Mse or LossKind.Bce when output.Activation == ActivationKind.Softmax:
                error($"model.layers.{last}.activation", $"softmax output needs loss cross_entropy, got {SnakeNames<LossKind>.Of(c.Loss)}");
                break;
        }
        var t = c.Training;
        if (t.EarlyStopping is not null && c.Dataset.ValidationSplit == 0)
            error("training.early_stopping", "needs a validation split to watch: set dataset.validation_split (e.g. 0.1)");
        foreach (var (key, metric) in new[] { ("sweep.prune.metric", c.Sweep.Prune?.Metric), ("sweep.search.metric", c.Sweep.Search?.Metric) })
            if (metric is not null && metric.StartsWith("validation_", StringComparison.Ordinal) && c.Dataset.ValidationSplit == 0)
                error(key, $"{metric} needs a validation split: set dataset.validation_split (e.g. 0.1), or judge by another metric");
        if (c.Sweep.Prune is { } prune && prune.MinEpochs >= t.Epochs)
            error("sweep.prune.min_epochs", $"must be below training.epochs ({t.Epochs}): the first decision comes after min_epochs and none is taken at the last epoch");
        if (t.Schedule is CosineSchedule { MinLr: var minLr } && minLr >= t.LearningRate)
            error("training.lr_schedule.min_lr", $"must be below learning_rate ({t.LearningRate.ToString(System.Globalization.CultureInfo.InvariantCulture)})");
        if (t.WarmupEpochs >= t.Epochs)
            error("training.warmup_epochs", $"must be fewer than the {t.Epochs} epochs");
        if (output.Activation == ActivationKind.Softmax && output.Units < 2)
            error($"model.layers.{last}.units", "a softmax output needs at least 2 units");
        long available = Footprint.Available();
        Footprint.CheckSynthetic(c.Dataset, available, error);
        var (inputs, examples) = Datasets.Shape(c.Dataset); // csv: checked once the file is read
        Footprint.Check(c, inputs, examples, available, error);
    }

    /// <summary>The output layer must have one unit per class, or a single unit for two classes.</summary>
    public static void CheckOutputWidth(ExperimentConfig c, int classes, Action<string, string> error)
    {
        int last = c.Model.Layers.Count - 1;
        int units = c.Model.Layers[last].Units;
        if (units != classes && !(classes == 2 && units == 1))
            error($"model.layers.{last}.units",
                $"the output layer has {units} units but {c.Dataset.Name} has {classes} classes (use {classes}{(classes == 2 ? " or 1" : "")})");
    }
}
