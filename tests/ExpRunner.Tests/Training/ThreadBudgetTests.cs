using ExpRunner.Training;

namespace ExpRunner.Tests.Training;

/// <summary>Parallel trials and the threads inside them share one budget of cores.</summary>
public class ThreadBudgetTests
{
    [Theory]
    [InlineData(1, 2, 2)]
    [InlineData(2, 2, 1)]
    [InlineData(3, 2, 1)]
    [InlineData(2, 8, 4)]
    public void By_default_as_many_trials_run_as_fit_their_threads_in_the_cores(int threads, int cores, int jobs) =>
        Assert.Equal(jobs, ThreadBudget.DefaultJobs(threads, cores));

    [Theory]
    [InlineData(1, 2, 2)]
    [InlineData(2, 2, 1)]
    [InlineData(4, 2, 1)]
    [InlineData(2, 8, 4)]
    public void Each_trial_gets_its_share_of_the_cores(int jobs, int cores, int share) =>
        Assert.Equal(share, ThreadBudget.PerTrial(jobs, cores));

    [Theory]
    [InlineData(4, null, 4)]
    [InlineData(4, "1", 1)]
    [InlineData(1, "2", 1)]
    [InlineData(4, "0", 4)]
    [InlineData(4, "two", 4)]
    public void A_run_uses_its_configured_threads_capped_by_its_share(int configured, string? cap, int effective) =>
        Assert.Equal(effective, ThreadBudget.Effective(configured, ThreadBudget.Cap(cap)));
}
