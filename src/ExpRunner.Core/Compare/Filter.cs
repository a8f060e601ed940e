using ExpRunner.Tracking;
using System.Globalization;
using System.Text.RegularExpressions;
using ExpRunner.Config;

namespace ExpRunner.Compare;

/// <summary>A filter that cannot be parsed; <see cref="Position"/> is the 0-based offset of the offending token.</summary>
public sealed class FilterException(string message, string text, int position) : Exception(message)
{
    public string Text { get; } = text;
    public int Position { get; } = position;
    /// <summary>The filter with a caret under the offending position.</summary>
    public string Pointer => $"{Text}\n{new string(' ', Position)}^";
}

/// <summary>
/// MLflow's search grammar for runs, plus `or` and parentheses:
/// <c>metrics.test_accuracy &gt; 0.9 and (params.training.gradient_reduction = 'sum' or attributes.status != 'FAILED')</c>.
/// Comparisons: = != &lt; &lt;= &gt; &gt;= on numbers (metrics, and params that hold numbers), = != LIKE ILIKE IN and NOT IN on strings.
/// </summary>
public sealed class Filter
{
    /// <summary>Parentheses nest at most this deep (a filter is typed by a person, not generated to exhaust the stack).</summary>
    public const int MaxDepth = 64;
    public static readonly string[] Attributes = ["status", "run_id", "id", "experiment", "run_name"];

    private readonly Func<RunRow, bool> _predicate;
    private readonly string _text;
    private readonly IReadOnlyList<(string Entity, string Key, int Position)> _keys;
    private Filter(Func<RunRow, bool> predicate, string text, IReadOnlyList<(string, string, int)> keys) { _predicate = predicate; _text = text; _keys = keys; }
    public bool Matches(RunRow row) => _predicate(row);

    /// <summary>The metrics and params the filter names, as entity.key.</summary>
    public IEnumerable<string> Keys => _keys.Select(k => $"{k.Entity}.{k.Key}");

    public static Filter Parse(string text) => new Parser(text).ParseAll();

    /// <summary>
    /// A metric or param the filter names that none of <paramref name="runs"/> has is an error (it
    /// would silently match nothing), with a did-you-mean from the names they do have.
    /// </summary>
    public void CheckKeys(IReadOnlyCollection<RunRow> runs)
    {
        if (runs.Count == 0) return;
        foreach (var (entity, key, position) in _keys)
        {
            var names = Compare.Keys.Of(runs, entity == "metrics").ToHashSet(StringComparer.Ordinal);
            if (!names.Contains(key))
                throw new FilterException($"no run has {(entity == "metrics" ? "a metric" : "a param")} '{key}'{Compare.Keys.Suggest(key, names)} at position {position + 1}", _text, position);
        }
    }

    private sealed record Token(string Kind, string Text, int Position);

    private sealed class Parser
    {
        private readonly string _text;
        private readonly List<Token> _tokens;
        private readonly List<(string, string, int)> _keys = [];
        private int _i, _depth;

        public Parser(string text) { _text = text; _tokens = Lex(text); }

        public Filter ParseAll()
        {
            if (_tokens.Count == 1) throw Error("empty filter", _tokens[0]);
            var p = Or();
            if (Peek.Kind != "end") throw Error($"unexpected '{Peek.Text}'; expected 'and', 'or' or the end", Peek);
            return new Filter(p, _text, _keys);
        }

        private Token Peek => _tokens[_i];
        private Token Next() => _tokens[_i++];
        private bool Keyword(string word) => Peek.Kind == "word" && Peek.Text.Equals(word, StringComparison.OrdinalIgnoreCase);
        private FilterException Error(string message, Token at) => new($"{message} at position {at.Position + 1}", _text, at.Position);

        private Func<RunRow, bool> Or()
        {
            var left = And();
            while (Keyword("or")) { Next(); var right = And(); var l = left; left = r => l(r) || right(r); }
            return left;
        }

        private Func<RunRow, bool> And()
        {
            var left = Primary();
            while (Keyword("and")) { Next(); var right = Primary(); var l = left; left = r => l(r) && right(r); }
            return left;
        }

        private Func<RunRow, bool> Primary()
        {
            if (Peek.Kind == "(")
            {
                var open = Next();
                if (++_depth > MaxDepth) throw Error($"parentheses nested deeper than {MaxDepth}", open);
                var inner = Or();
                _depth--;
                if (Peek.Kind != ")") throw Error("missing ')' for the '(' at position " + (open.Position + 1), Peek);
                Next();
                return inner;
            }
            return Comparison();
        }

        private Func<RunRow, bool> Comparison()
        {
            var ident = Next();
            if (ident.Kind != "word" || !TryEntity(ident.Text, out var entity, out var key))
                throw Error($"expected metrics.NAME, params.NAME, tags.NAME or attributes.NAME, got '{ident.Text}'", ident);
            if (entity == "attributes" && !Attributes.Contains(key.ToLowerInvariant()))
                throw Error($"unknown attribute '{key}'; one of {string.Join(", ", Attributes)}{DidYouMean.Suggest(key, Attributes)}", ident);
            if (entity != "attributes") _keys.Add((entity, key, ident.Position));
            var opToken = Next();
            string op = opToken.Text.ToUpperInvariant();
            if (op == "NOT" && Keyword("in")) { Next(); op = "NOT IN"; }
            if (opToken.Kind is not ("op" or "word") || op is not ("=" or "!=" or "<" or "<=" or ">" or ">=" or "LIKE" or "ILIKE" or "IN" or "NOT IN"))
                throw Error($"expected a comparison (=, !=, <, <=, >, >=, LIKE, ILIKE, IN) after '{ident.Text}', got '{opToken.Text}'", opToken);
            if (op is "IN" or "NOT IN")
            {
                var values = List();
                bool negate = op == "NOT IN";
                return r => Value(r, entity, key) is { } v && values.Contains(v.Text) != negate;
            }
            var value = Next();
            if (value.Kind is not ("string" or "number"))
                throw Error($"expected a value ('text' or a number) after '{opToken.Text}', got '{value.Text}'", value);
            if (entity == "metrics" && value.Kind != "number") throw Error($"metrics compare with numbers, got '{value.Text}'", value);
            if (op is "LIKE" or "ILIKE")
            {
                // Non-backtracking: matching takes time linear in the text whatever the pattern (no %a%a%a…%b blow-up);
                // culture-invariant, so ILIKE means the same under every locale.
                var regex = new Regex("^" + Regex.Escape(value.Text).Replace("%", ".*").Replace("_", ".") + "$",
                    RegexOptions.NonBacktracking | RegexOptions.CultureInvariant | RegexOptions.Singleline | (op == "ILIKE" ? RegexOptions.IgnoreCase : RegexOptions.None));
                return r => Value(r, entity, key) is { } v && regex.IsMatch(v.Text);
            }
            double? number = value.Kind == "number" ? double.Parse(value.Text, CultureInfo.InvariantCulture)
                : double.TryParse(value.Text, NumberStyles.Float, CultureInfo.InvariantCulture, out double n) ? n : null;
            if (op is "<" or "<=" or ">" or ">=" && number is null) throw Error($"'{op}' needs a number, got '{value.Text}'", value);
            return r =>
            {
                if (Value(r, entity, key) is not { } v) return false;
                if (number is double want && v.Number is double have)
                    return op switch { "=" => have == want, "!=" => have != want, "<" => have < want, "<=" => have <= want, ">" => have > want, _ => have >= want };
                return op switch { "=" => v.Text == value.Text, "!=" => v.Text != value.Text, _ => false };
            };
        }

        private HashSet<string> List()
        {
            var open = Next();
            if (open.Kind != "(") throw Error("IN needs a list: ('a', 'b')", open);
            var values = new HashSet<string>(StringComparer.Ordinal);
            while (true)
            {
                var v = Next();
                if (v.Kind is not ("string" or "number")) throw Error($"expected a value in the IN list, got '{v.Text}'", v);
                values.Add(v.Text);
                var sep = Next();
                if (sep.Kind == ")") return values;
                if (sep.Kind != ",") throw Error($"expected ',' or ')' in the IN list, got '{sep.Text}'", sep);
            }
        }

        private static bool TryEntity(string ident, out string entity, out string key)
        {
            int dot = ident.IndexOf('.');
            entity = dot < 0 ? "" : ident[..dot].ToLowerInvariant();
            key = dot < 0 ? "" : ident[(dot + 1)..];
            entity = entity switch { "metric" => "metrics", "param" or "parameters" => "params", "attribute" or "attr" or "run" => "attributes", "tag" => "tags", _ => entity };
            // A tag (tags.KEY) and the label (attributes.label) are read as the parameters tags.KEY and label.
            if (entity == "tags") (entity, key) = ("params", RunMeta.TagPrefix + key);
            else if (entity == "attributes" && key.Equals("label", StringComparison.OrdinalIgnoreCase)) (entity, key) = ("params", RunMeta.LabelKey);
            return entity is "metrics" or "params" or "attributes" && key.Length > 0;
        }

        private List<Token> Lex(string s)
        {
            var tokens = new List<Token>();
            int i = 0;
            while (i < s.Length)
            {
                char c = s[i];
                if (char.IsWhiteSpace(c)) { i++; continue; }
                int start = i;
                if (c is '(' or ')' or ',') { tokens.Add(new Token(c.ToString(), c.ToString(), i++)); continue; }
                if (c is '\'' or '"')
                {
                    int end = s.IndexOf(c, i + 1);
                    if (end < 0) throw new FilterException($"unterminated string starting at position {i + 1}", s, i);
                    tokens.Add(new Token("string", s[(i + 1)..end], i));
                    i = end + 1;
                    continue;
                }
                if (c is '=' or '!' or '<' or '>')
                {
                    string op = i + 1 < s.Length && s[i + 1] == '=' ? s.Substring(i, 2) : c.ToString();
                    if (op == "!") throw new FilterException($"'!' must be followed by '=' at position {i + 1}", s, i);
                    tokens.Add(new Token("op", op, i));
                    i += op.Length;
                    continue;
                }
                if (char.IsDigit(c) || (c is '-' or '.' && i + 1 < s.Length && char.IsDigit(s[i + 1])))
                {
                    while (i < s.Length && (char.IsLetterOrDigit(s[i]) || s[i] is '.' or '-' or '+')) i++;
                    string n = s[start..i];
                    if (!double.TryParse(n, NumberStyles.Float, CultureInfo.InvariantCulture, out _))
                        throw new FilterException($"'{n}' is not a number at position {start + 1}", s, start);
                    tokens.Add(new Token("number", n, start));
                    continue;
                }
                if (char.IsLetter(c) || c is '_' or '`')
                {
                    var sb = new System.Text.StringBuilder();
                    while (i < s.Length && (char.IsLetterOrDigit(s[i]) || s[i] is '_' or '.' or '-' or '`'))
                    {
                        if (s[i] != '`') sb.Append(s[i]);
                        i++;
                    }
                    tokens.Add(new Token("word", sb.ToString(), start));
                    continue;
                }
                throw new FilterException($"unexpected character '{c}' at position {i + 1}", s, i);
            }
            tokens.Add(new Token("end", "end of filter", s.Length));
            return tokens;
        }
    }

    private readonly record struct Cell(string Text, double? Number);

    private static Cell? Value(RunRow r, string entity, string key)
    {
        switch (entity)
        {
            case "metrics":
                return r.Metrics.TryGetValue(key, out double m) ? new Cell(m.ToString("R", CultureInfo.InvariantCulture), m) : null;
            case "params":
                if (!r.Params.TryGetValue(key, out var p)) return null;
                return new Cell(p, double.TryParse(p, NumberStyles.Float, CultureInfo.InvariantCulture, out double n) ? n : null);
            default:
                string? text = key.ToLowerInvariant() switch
                {
                    "status" => r.Status, "run_id" or "id" => r.Id, "experiment" or "run_name" => r.Experiment, _ => null,
                };
                return text is null ? null : new Cell(text, null);
        }
    }
}
