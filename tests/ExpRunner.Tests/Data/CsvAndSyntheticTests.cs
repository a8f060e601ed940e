using ExpRunner.Config;
using ExpRunner.Data;
using ExpRunner.Tests.Support;

using ExpRunner.Nn;

namespace ExpRunner.Tests.Data;

public class CsvAndSyntheticTests
{
    [Fact]
    public void A_csv_file_reads_features_and_named_labels()
    {
        using var dir = new TempDir();
        string path = dir.Write("d.csv", "x,y,label\n0.5,1e-3,cat\n-2,3,dog\n1,1,cat\n");
        var d = Csv.Read(path, "label");
        Assert.Equal(3, d.Count);
        Assert.Equal(2, d.Features);
        Assert.Equal(["cat", "dog"], d.ClassNames);
        Assert.Equal([0, 1, 0], d.Labels);
        Assert.Equal(0.001, d.Feature(0, 1));
    }

    [Fact]
    public void A_non_numeric_csv_cell_names_file_line_and_column()
    {
        using var dir = new TempDir();
        string path = dir.Write("d.csv", "x,y,label\n0.5,1,0\n1,0,5,1\n");
        Assert.Contains("d.csv:3:1: 4 cells", Assert.Throws<DataException>(() => Csv.Read(path, "label")).Message);
        path = dir.Write("e.csv", "x,y,label\n0.5,1,0\n1,abc,1\n");
        var e = Assert.Throws<DataException>(() => Csv.Read(path, "label"));
        Assert.Contains("e.csv:3:3: column 'y': 'abc' is not a number", e.Message);
        path = dir.Write("f.csv", "x,y,label\n0,5,1,0\n");
        Assert.Contains("no column 'klass'", Assert.Throws<DataException>(() => Csv.Read(path, "klass")).Message);
    }

    [Fact]
    public void Gaussian_quantiles_are_equal_size_shells_by_distance_from_the_mean()
    {
        var d = Synthetic.Generate("gaussian_quantiles", 999, 2, 3, 0.1, 0, 0, new Rng(1));
        Assert.All(Enumerable.Range(0, 3), k => Assert.Equal(333, d.Labels.Count(l => l == k)));
        double Radius(int i) => Math.Sqrt(d.Feature(i, 0) * d.Feature(i, 0) + d.Feature(i, 1) * d.Feature(i, 1));
        var byClass = Enumerable.Range(0, 3).Select(k => Enumerable.Range(0, d.Count).Where(i => d.Labels[i] == k).Select(Radius).ToList()).ToList();
        Assert.True(byClass[0].Max() <= byClass[1].Min());
        Assert.True(byClass[1].Max() <= byClass[2].Min());
        var variance = Enumerable.Range(0, d.Count).Average(i => d.Feature(i, 0) * d.Feature(i, 0));
        Assert.InRange(variance, 0.08, 0.12); // cov 0.1
    }

    [Theory]
    [InlineData("xor")]
    [InlineData("circles")]
    [InlineData("moons")]
    [InlineData("spirals")]
    public void Synthetic_data_is_reproducible_from_the_seed_and_uses_both_classes(string name)
    {
        var a = Synthetic.Generate(name, 200, 2, 2, 1, 0.1, 0.5, new Rng(5));
        var b = Synthetic.Generate(name, 200, 2, 2, 1, 0.1, 0.5, new Rng(5));
        var c = Synthetic.Generate(name, 200, 2, 2, 1, 0.1, 0.5, new Rng(6));
        Assert.Equal(a.Labels, b.Labels);
        Assert.Equal(a.Feature(17, 1), b.Feature(17, 1));
        Assert.NotEqual(a.Feature(17, 1), c.Feature(17, 1));
        if (name == "xor") Assert.InRange(a.Labels.Count(l => l == 1), 60, 140); // labels follow random points
        else Assert.Equal(100, a.Labels.Count(l => l == 1));                     // half the points per class
    }

    [Fact]
    public void Synthetic_splits_hold_out_the_test_fraction()
    {
        var s = DatasetLoader.Load(new MoonsConfig { Samples = 500, TestSplit = 0.2, ValidationSplit = 0.25 }, 3);
        Assert.Equal(100, s.Test.Count);
        Assert.Equal(100, s.Validation!.Count);
        Assert.Equal(300, s.Train.Count);
        Assert.Equal("generated", s.Fingerprint.Source);
        Assert.Empty(s.Train.Indices.Intersect(s.Test.Indices));
    }
}
