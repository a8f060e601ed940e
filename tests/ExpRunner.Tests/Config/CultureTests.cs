using System.Globalization;
using ExpRunner.Config;
using ExpRunner.Tracking;
using ExpRunner.Training;

namespace ExpRunner.Tests.Config;

/// <summary>Numbers in files are invariant culture even where the user's culture writes 0,5.</summary>
public class CultureTests
{
    [Fact]
    public void Configs_metrics_and_summaries_use_the_invariant_culture_under_a_decimal_comma_culture()
    {
        var saved = CultureInfo.CurrentCulture;
        CultureInfo.CurrentCulture = CultureInfo.GetCultureInfo("de-DE");
        try
        {
            Assert.Equal("0,5", (0.5).ToString(System.Globalization.CultureInfo.CurrentCulture)); // the culture really is decimal-comma
            var c = ConfigLoader.Parse("dataset: {name: xor}\nmodel: {layers: [{units: 1, activation: sigmoid}]}\nloss: bce\ntraining: {learning_rate: 0.25}", "x.yaml").Config;
            Assert.Equal(0.25, c.Training.LearningRate);
            Assert.Contains("learning_rate: 0.25", ConfigWriter.ToYaml(c));

            using var dir = new Support.TempDir();
            var folder = RunFolder.Create(dir.Path, "x", DateTimeOffset.UnixEpoch);
            folder.StartMetrics();
            folder.AppendMetrics(new EpochMetrics(1, 10, 0.25, 1.5, [new SplitMetrics("train", 0.125, 0.75)]) { Timestamp = DateTimeOffset.FromUnixTimeMilliseconds(1700000000123) });
            string csv = File.ReadAllText(folder.PathOf(RunFolder.MetricsFile));
            Assert.Contains("1,train,10,0.125,0.75,0.25,1.5,1700000000123\n", csv);
            Assert.Equal(0.125, folder.ReadMetrics().Single().Loss);
            folder.WriteSummary(new RunSummary { Id = "a", Experiment = "x", Status = RunStatus.Finished, DurationSeconds = 2.5 });
            Assert.Contains("2.5", File.ReadAllText(folder.PathOf(RunFolder.SummaryFile)));
        }
        finally { CultureInfo.CurrentCulture = saved; }
    }
}
