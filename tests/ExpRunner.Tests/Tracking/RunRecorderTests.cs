using ExpRunner.Config;
using ExpRunner.Tests.Support;
using ExpRunner.Tracking;

namespace ExpRunner.Tests.Tracking;

/// <summary>The one owner of a run's side effects: its folder, its log and its trackers.</summary>
public class RunRecorderTests
{
    private const string Xor = """
        name: rec
        seed: 3
        dataset: { name: xor, samples: 200 }
        model: { layers: [ { units: 6, activation: tanh }, { units: 1, activation: sigmoid } ] }
        loss: bce
        training: { learning_rate: 0.5, batch_size: 16, epochs: 4 }
        """;

    /// <summary>A tracker (test double) that throws from whichever of its members the test says.</summary>
    private sealed class ThrowingTracker(bool onHandle, bool onDispose) : IRunTracker, IDisposable
    {
        public void Handle(RunEvent e) { if (onHandle) throw new InvalidOperationException("tracker broke on " + e.GetType().Name); }
        public void Dispose() { if (onDispose) throw new IOException("tracker broke while finishing"); }
    }

    /// <summary>A tracker (test double) that keeps what it is given.</summary>
    private sealed class Recording : IRunTracker, IDisposable
    {
        public List<RunEvent> Events { get; } = [];
        public bool Disposed { get; private set; }
        public void Handle(RunEvent e) => Events.Add(e);
        public void Dispose() => Disposed = true;
    }

    [Fact]
    public void A_tracker_that_throws_cannot_fail_the_run_nor_keep_events_from_the_others()
    {
        using var dir = new TempDir();
        var recording = new Recording();
        var loaded = ConfigLoader.Parse(Xor, dir.Write("rec.yaml", Xor));
        var result = ExperimentRunner.Run(loaded, new RunOptions
        {
            RunsRoot = dir.File("runs"),
            Trackers =
            [
                _ => throw new HttpRequestException("no route to the tracking server"),
                _ => new ThrowingTracker(onHandle: true, onDispose: true),
                _ => recording,
            ],
        });
        Assert.Equal(RunStatus.Finished, result.Status);
        Assert.Equal(RunStatus.Finished, result.Folder.ReadRecord()!.Status);
        Assert.IsType<RunStarted>(recording.Events[0]);
        Assert.Equal(4, recording.Events.OfType<EpochEnded>().Count());
        Assert.Equal(RunStatus.Finished, Assert.IsType<RunEnded>(recording.Events[^1]).Record.Status);
        Assert.True(recording.Disposed, "the recorder disposes the trackers it created");
        string log = File.ReadAllText(result.Folder.PathOf(RunFolder.LogFile));
        Assert.Contains("A tracker could not start (no route to the tracking server)", log);
        Assert.Contains("Tracker ThrowingTracker failed on EpochEnded (tracker broke on EpochEnded)", log);
        Assert.Contains("Tracker ThrowingTracker failed to finish (tracker broke while finishing)", log);
    }
}
