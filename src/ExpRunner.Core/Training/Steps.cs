namespace ExpRunner.Training;

/// <summary>
/// One training step as the trainer took it: its number (from 1, across epochs), epoch and batch
/// (from 1), the batch's mean loss and accuracy measured before the update, and the learning rate
/// the update used.
/// </summary>
public readonly record struct StepMetrics(long Step, int Epoch, int Batch, int Rows, double Loss, double Accuracy, double LearningRate)
{
    /// <summary>The probes' values on a probed step, in the order of their columns (NaN: not defined); null on other steps.</summary>
    public double[]? Probes { get; init; }
}

/// <summary>What watches training step by step (the per-step record); without one the trainer does nothing extra.</summary>
public interface IStepObserver
{
    void Step(in StepMetrics step);

    /// <summary>At an epoch's end, when probes take histograms.</summary>
    void Histograms(int epoch, long step, IReadOnlyList<Histogram> histograms) { }
}
