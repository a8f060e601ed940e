using ArchUnitNET.Domain;
using ArchUnitNET.Loader;
using static ArchUnitNET.Fluent.ArchRuleDefinition;

namespace ExpRunner.Tests.Architecture;

/// <summary>
/// The dependency directions of DESIGN.md, checked on the compiled assembly (every type a type's
/// code refers to, not its using lines): inside Core, Sweeps and Compare stand on Tracking, Tracking
/// on Training, Training on Data, Data on Config, Config on Nn — IO below all; Plots draws what
/// Tracking records; the top of Core (ExperimentRunner, the start-up warm-up) may use everything,
/// and nothing below it uses it.
/// </summary>
public class LayerTests
{
    private static readonly ArchUnitNET.Domain.Architecture Core = new ArchLoader().LoadAssemblies(typeof(ExperimentRunner).Assembly).Build();

    /// <summary>Each layer and the layers it may use (besides itself and what is not ours).</summary>
    private static readonly Dictionary<string, string[]> MayUse = new()
    {
        ["IO"] = [],
        ["Nn"] = [],
        ["Config"] = ["IO", "Nn"],
        ["Data"] = ["IO", "Nn", "Config"],
        ["Training"] = ["IO", "Nn", "Config", "Data"],
        ["Tracking"] = ["IO", "Nn", "Config", "Data", "Training"],
        ["Plots"] = ["IO", "Nn", "Config", "Data", "Training", "Tracking"],
        ["Sweeps"] = ["IO", "Nn", "Config", "Data", "Training", "Tracking"],
        ["Compare"] = ["IO", "Nn", "Config", "Data", "Training", "Tracking", "Plots"],
    };

    public static TheoryData<string> Layers() => new(MayUse.Keys);

    [Theory]
    [MemberData(nameof(Layers))]
    public void A_layer_uses_only_the_layers_below_it(string layer)
    {
        var forbidden = MayUse.Keys.Where(l => l != layer && !MayUse[layer].Contains(l)).ToList();
        var violations = new List<string>();
        foreach (var other in forbidden)
        {
            var rule = Types().That().ResideInNamespaceOrBelow($"ExpRunner.{layer}")
                .Should().NotDependOnAny(Types().That().ResideInNamespaceOrBelow($"ExpRunner.{other}"));
            violations.AddRange(rule.Evaluate(Core).Where(r => !r.Passed).Select(r => $"{layer} → {other}: {r.Description}"));
        }
        // Nothing below the top of Core uses it.
        var top = Types().That().ResideInNamespaceOrBelow($"ExpRunner.{layer}").Should()
            .NotDependOnAny(Types().That().ResideInNamespace("ExpRunner"));
        violations.AddRange(top.Evaluate(Core).Where(r => !r.Passed).Select(r => $"{layer} → ExpRunner (the top): {r.Description}"));
        Assert.True(violations.Count == 0, string.Join("\n", violations));
    }

    [Fact]
    public void The_check_sees_a_dependency_when_there_is_one()
    {
        // The rule machinery itself: Tracking does use Training (RunRecorder ends a run with a TrainingOutcome).
        var rule = Types().That().ResideInNamespaceOrBelow("ExpRunner.Tracking").Should()
            .NotDependOnAny(Types().That().ResideInNamespaceOrBelow("ExpRunner.Training"));
        Assert.Contains(rule.Evaluate(Core), r => !r.Passed);
    }
}
