using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace ExpRunner.Config;

/// <summary>
/// A YAML document as a node tree that remembers where every node came from: a line and column
/// of the file, or the --set override that put it there. Hostile input (deep nesting, alias
/// bombs, huge files) is refused before the tree is built.
/// </summary>
public sealed class YamlTree
{
    public const int MaxBytes = 1 << 20, MaxDepth = 32, MaxAliases = 32;
    public const int MaxExtends = 16;
    public string File { get; }
    public YamlMappingNode Root { get; private set; }
    /// <summary>Whether the config was composed from others (extends:).</summary>
    public bool Composed { get; private set; }
    private readonly Dictionary<YamlNode, string> _origins = new(ReferenceEqualityComparer.Instance);

    private YamlTree(string file, YamlMappingNode root) { File = file; Root = root; }

    public string Locate(YamlNode? node) =>
        node is null ? $"{File}:1:1"
        : _origins.TryGetValue(node, out var origin) ? origin
        : $"{File}:{node.Start.Line}:{node.Start.Column}";

    /// <summary>The node at a dotted key path (numeric segments index lists), or null.</summary>
    public YamlNode? Find(string path)
    {
        YamlNode? node = Root;
        foreach (var part in path.Split('.'))
            node = node switch
            {
                YamlMappingNode m => m.Children.TryGetValue(new YamlScalarNode(part), out var c) ? c : null,
                YamlSequenceNode q when int.TryParse(part, System.Globalization.CultureInfo.InvariantCulture, out int i) && i >= 0 && i < q.Children.Count => q.Children[i],
                _ => null,
            };
        return node;
    }

    private void Remove(string path, string where, List<ConfigError> errors)
    {
        int dot = path.LastIndexOf('.');
        var parent = dot < 0 ? Root : Find(path[..dot]);
        string last = path[(dot + 1)..];
        switch (parent)
        {
            case YamlMappingNode m when m.Children.Remove(new YamlScalarNode(last)): return;
            case YamlSequenceNode q when int.TryParse(last, System.Globalization.CultureInfo.InvariantCulture, out int i) && i >= 0 && i < q.Children.Count: q.Children.RemoveAt(i); return;
            default: errors.Add(new ConfigError(where, path, "is not set: there is nothing to remove")); return;
        }
    }

    /// <summary>A node made while reshaping the tree is located where <paramref name="like"/> was written.</summary>
    public void Place(YamlNode made, YamlNode like) => _origins[made] = Locate(like);

    private readonly HashSet<YamlNode> _short = new(ReferenceEqualityComparer.Instance);

    /// <summary>A group's mapping made from its short form (`optimizer: adam`): errors of its name are said of the group's key, as written.</summary>
    public void MarkShort(YamlMappingNode made) => _short.Add(made);
    public bool IsShort(YamlNode? node) => node is not null && _short.Contains(node);

    /// <summary>Parses <paramref name="text"/>; on failure throws a ConfigException with the position.</summary>
    public static YamlTree Parse(string text, string file)
    {
        if (text.Length > MaxBytes)
            throw Fail($"{file}:1:1", $"file is {text.Length} bytes; a config may be at most {MaxBytes}");
        try
        {
            Prescan(text, file);
            var stream = new YamlStream();
            stream.Load(new StringReader(text));
            if (stream.Documents.Count == 0)
                throw Fail($"{file}:1:1", "the file is empty; an experiment needs at least dataset, model and loss");
            if (stream.Documents.Count > 1)
                throw Fail($"{file}:{stream.Documents[1].RootNode.Start.Line}:1", "only one YAML document is allowed");
            if (stream.Documents[0].RootNode is not YamlMappingNode root)
                throw Fail($"{file}:1:1", "the top level must be a mapping of keys (name, dataset, model, ...)");
            return new YamlTree(file, root);
        }
        catch (YamlException e)
        {
            string what = e.InnerException?.Message ?? e.Message;
            // YamlDotNet's messages start with "(Line: a, Col: b, Idx: c) - (…): "; keep only the reason.
            int cut = what.LastIndexOf("): ", StringComparison.Ordinal);
            if (cut >= 0) what = what[(cut + 3)..];
            // YAML forbids tabs in indentation; the parser reports where the enclosing mapping began, so point at the tab itself.
            if (what.Contains("tab", StringComparison.OrdinalIgnoreCase) && TabIndent(text) is var (line, column))
                throw Fail($"{file}:{line}:{column}", "a tab in the indentation; YAML indents with spaces only");
            throw Fail($"{file}:{e.Start.Line}:{e.Start.Column}", $"invalid YAML: {what}");
        }
    }

    /// <summary>The first tab in the leading whitespace of a line, 1-based; null when there is none.</summary>
    private static (int Line, int Column)? TabIndent(string text)
    {
        var lines = text.Split('\n');
        for (int i = 0; i < lines.Length; i++)
            for (int j = 0; j < lines[i].Length && lines[i][j] is ' ' or '\t'; j++)
                if (lines[i][j] == '\t') return (i + 1, j + 1);
        return null;
    }

    private static void Prescan(string text, string file)
    {
        var parser = new Parser(new StringReader(text));
        int depth = 0, aliases = 0;
        Mark last = Mark.Empty;
        while (true)
        {
            try
            {
                if (!parser.MoveNext()) break;
            }
            catch (Exception e) when (e is not YamlException)
            {
                // YamlDotNet's scanner can fail on some malformed input without a YamlException.
                throw Fail($"{file}:{Math.Max(1, last.Line)}:{Math.Max(1, last.Column)}",
                    "invalid YAML after this point (an unclosed '{' or '[', or a stray character?)");
            }
            var ev = parser.Current!;
            last = ev.End;
            switch (ev)
            {
                case MappingStart or SequenceStart:
                    if (++depth > MaxDepth)
                        throw Fail($"{file}:{ev.Start.Line}:{ev.Start.Column}", $"nesting deeper than {MaxDepth} levels");
                    break;
                case MappingEnd or SequenceEnd: depth--; break;
                case AnchorAlias:
                    if (++aliases > MaxAliases)
                        throw Fail($"{file}:{ev.Start.Line}:{ev.Start.Column}", $"more than {MaxAliases} aliases; refusing a possible alias bomb");
                    break;
            }
        }
    }

    private static ConfigException Fail(string location, string message) => new([new ConfigError(location, "", message)]);

    /// <summary>
    /// Resolves <c>extends: base.yaml</c> (or a list, applied in order): each base — relative to the
    /// file that names it, itself possibly extending others — is merged under this file: mappings
    /// merge key by key, anything else (a list, a value) is replaced by what this file says. Every
    /// node keeps the file, line and column it was written at, so errors point into the base file
    /// that holds the value. A cycle, a missing or broken base, or one that is not a regular file (a
    /// FIFO would block the reading for ever) is an error at the extends entry. Each file is read,
    /// parsed and composed once however many files extend it (diamonds stay linear), and at most
    /// <see cref="MaxBases"/> files take part.
    /// </summary>
    public void Compose(Func<string, string> read, List<ConfigError> errors) =>
        Compose(read, errors, [System.IO.Path.GetFullPath(File)], new Dictionary<string, YamlTree?>(StringComparer.Ordinal));

    /// <summary>The most files one config may be composed of (itself and every base, each counted once).</summary>
    public const int MaxBases = 256;

    private void Compose(Func<string, string> read, List<ConfigError> errors, List<string> chain, Dictionary<string, YamlTree?> done)
    {
        var key = new YamlScalarNode("extends");
        if (!Root.Children.TryGetValue(key, out var extends)) return;
        Root.Children.Remove(key);
        Composed = true;
        var entries = extends switch
        {
            YamlScalarNode one => [one],
            YamlSequenceNode list when list.Children.All(c => c is YamlScalarNode) => list.Children.Cast<YamlScalarNode>().ToList(),
            _ => null,
        };
        if (entries is null) { errors.Add(new ConfigError(Locate(extends), "extends", "must be a file name or a list of file names")); return; }
        YamlMappingNode? merged = null;
        foreach (var entry in entries)
        {
            string name = entry.Value ?? "";
            string path = System.IO.Path.GetFullPath(System.IO.Path.Combine(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(File)) ?? ".", name));
            if (chain.Contains(path))
            {
                errors.Add(new ConfigError(Locate(entry), "extends", $"'{name}' extends in a cycle: {string.Join(" → ", chain.Append(path).Select(System.IO.Path.GetFileName))}"));
                continue;
            }
            if (chain.Count > MaxExtends) { errors.Add(new ConfigError(Locate(entry), "extends", $"more than {MaxExtends} levels of extends")); continue; }
            string shown = System.IO.Path.IsPathRooted(name) ? name : System.IO.Path.Combine(System.IO.Path.GetDirectoryName(File) ?? "", name);
            if (!done.TryGetValue(path, out var based))
            {
                if (done.Count >= MaxBases) { errors.Add(new ConfigError(Locate(entry), "extends", $"more than {MaxBases} files in the config's extends")); return; }
                done[path] = null; // a base that fails is said once, where it is first named
                if (IO.BoundedFile.KindOf(path) == IO.BoundedFile.Kind.Other)
                {
                    errors.Add(new ConfigError(Locate(entry), "extends", $"'{name}': not a regular file (a pipe, socket or device cannot be a base)"));
                    continue;
                }
                try { based = Parse(read(path), shown); }
                catch (ConfigException e)
                {
                    // A base that cannot be read is blamed on the entry naming it; an error inside it keeps its own place.
                    foreach (var error in e.Errors)
                        errors.Add(error.Location == path ? new ConfigError(Locate(entry), "extends", $"'{name}': {error.Message}") : error);
                    continue;
                }
                based.Compose(read, errors, [.. chain, path], done);
                done[path] = based;
            }
            if (based is null) continue;
            foreach (var n in based.Root.AllNodes) _origins.TryAdd(n, based.Locate(n));
            merged = merged is null ? based.Root : Merge(merged, based.Root);
        }
        if (merged is not null) Root = Merge(merged, Root);
    }

    /// <summary><paramref name="over"/> on top of <paramref name="under"/>: mappings merge key by key; anything else from <paramref name="over"/> replaces.</summary>
    private YamlMappingNode Merge(YamlMappingNode under, YamlMappingNode over)
    {
        var result = new YamlMappingNode();
        _origins[result] = Locate(over);
        foreach (var (k, v) in under.Children)
            result.Children[k] = over.Children.TryGetValue(k, out var o) ? (v is YamlMappingNode um && o is YamlMappingNode om ? Merge(um, om) : o) : v;
        foreach (var (k, v) in over.Children)
            if (!under.Children.ContainsKey(k)) result.Children[k] = v;
        return result;
    }

    /// <summary>The document as YAML text (a composed config written out whole, as a sweep keeps its copy).</summary>
    public string ToText()
    {
        var writer = new StringWriter();
        new YamlStream(new YamlDocument(Root)).Save(writer, assignAnchors: false);
        string text = writer.ToString();
        return text.EndsWith("...\n", StringComparison.Ordinal) ? text[..^4] : text;
    }

    /// <summary>
    /// Applies "a.b.c=value" (value in YAML flow syntax) to the tree, creating mappings on the way;
    /// numeric segments index sequences. Hydra's habits: "+a.b=value" adds a key the tree lacks (an
    /// error if it has it), "~a.b" removes one (an error if it has none). Errors name the override.
    /// </summary>
    public void Apply(string assignment, List<ConfigError> errors)
    {
        string where = $"--set {assignment}";
        if (assignment.StartsWith('~')) { Remove(assignment[1..].Trim(), where, errors); return; }
        bool add = assignment.StartsWith('+');
        int eq = assignment.IndexOf('=');
        if (eq <= (add ? 1 : 0)) { errors.Add(new ConfigError(where, "", "expected key.path=value (+key.path=value adds a key, ~key.path removes one)")); return; }
        string path = assignment[(add ? 1 : 0)..eq].Trim(), valueText = assignment[(eq + 1)..];
        if (add && Find(path) is not null)
        {
            errors.Add(new ConfigError(where, path, $"is already set (at {Locate(Find(path))}): +{path}=… adds a key the config lacks; {path}=… changes it"));
            return;
        }
        YamlNode value;
        try
        {
            var s = new YamlStream();
            s.Load(new StringReader(valueText.Length == 0 ? "''" : valueText));
            value = s.Documents.Count == 0 ? new YamlScalarNode("") : s.Documents[0].RootNode;
        }
        catch (YamlException e) { errors.Add(new ConfigError(where, path, $"value is not valid YAML: {e.Message}")); return; }
        foreach (var n in value.AllNodes) _origins[n] = where;

        string[] parts = path.Split('.');
        YamlNode node = Root;
        for (int i = 0; i < parts.Length; i++)
        {
            bool last = i == parts.Length - 1;
            switch (node)
            {
                case YamlMappingNode map:
                    var key = new YamlScalarNode(parts[i]);
                    if (!map.Children.ContainsKey(key)) _origins[key] = where; // a key the override adds is blamed on it
                    if (last) { map.Children[key] = value; return; }
                    if (!map.Children.TryGetValue(key, out var child) || child is YamlScalarNode)
                    {
                        child = new YamlMappingNode();
                        _origins[child] = where;
                        map.Children[key] = child;
                    }
                    node = child;
                    break;
                case YamlSequenceNode seq when int.TryParse(parts[i], System.Globalization.CultureInfo.InvariantCulture, out int index) && index >= 0 && index <= seq.Children.Count:
                    if (index == seq.Children.Count) { errors.Add(new ConfigError(where, path, $"index {index} is past the end of a list of {seq.Children.Count}")); return; }
                    if (last) { seq.Children[index] = value; return; }
                    node = seq.Children[index];
                    break;
                default:
                    errors.Add(new ConfigError(where, path, $"'{string.Join('.', parts[..i])}' is not a mapping or list that '{parts[i]}' can index"));
                    return;
            }
        }
    }
}
