namespace ExpRunner.Training;

/// <summary>
/// One budget of cores for parallel trials and the threads inside each: a local sweep running
/// <c>jobs</c> trials at once gives each at most cores / jobs matrix threads, through the
/// environment variable <see cref="Variable"/>, so trial processes and their worker threads never
/// compete for the same cores.
/// </summary>
public static class ThreadBudget
{
    public const string Variable = "EXPRUNNER_MAX_THREADS";

    /// <summary>Trials at once when the user did not say: as many as fit their threads in the cores.</summary>
    public static int DefaultJobs(int threadsPerTrial, int cores) => Math.Max(1, cores / Math.Max(1, threadsPerTrial));

    /// <summary>Each trial's share of the cores when <paramref name="jobs"/> run at once.</summary>
    public static int PerTrial(int jobs, int cores) => Math.Max(1, cores / Math.Max(1, jobs));

    /// <summary>The threads a run uses: its config's, capped by the budget its sweep gave it (null: no cap).</summary>
    public static int Effective(int configured, int? cap) => cap is int max and >= 1 ? Math.Min(configured, max) : configured;

    /// <summary>
    /// Whether this process may keep a second core busy with background work (compiling while the
    /// data loads): not when a sweep gave it a share of one core.
    /// </summary>
    public static bool SpareCore(int? cap) => Effective(int.MaxValue, cap) >= 2 && Environment.ProcessorCount >= 2;

    /// <summary>The cap a sweep passes to a trial through <see cref="Variable"/>; null when absent or not a positive integer.</summary>
    public static int? Cap(string? value) =>
        int.TryParse(value, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out int max) && max >= 1 ? max : null;
}
