using ExpRunner.Config;

namespace ExpRunner.Training;

/// <summary>
/// The learning rate of each step (training.lr_schedule). With per: epoch, the whole of epoch e
/// (1-based) uses the rate at p = e − 1 epochs done; with per: batch, batch b (0-based) of epoch e
/// uses p = e − 1 + b/batches. A warm-up of W epochs ramps linearly: epoch e ≤ W runs at lr·e/W
/// (per batch: step k, counted from 0, at lr·(k + 1)/(W·batches)). After it, with τ = p − W and
/// T = epochs − W: constant lr; step lr·γ^⌊τ/N⌋; exponential lr·γ^τ; cosine
/// min + (lr − min)·(1 + cos(πτ/T))/2 (PyTorch's CosineAnnealingLR with T_max = T).
/// </summary>
public static class Schedule
{
    public static double At(TrainingConfig t, int epoch, int batch, int batches)
    {
        var s = t.Schedule;
        double lr = t.LearningRate;
        int warmup = t.WarmupEpochs;
        bool perBatch = s.Per == "batch";
        double done = perBatch ? epoch - 1 + (double)batch / batches : epoch - 1;
        if (done < warmup)
            return perBatch ? lr * ((epoch - 1) * (double)batches + batch + 1) / ((double)warmup * batches) : lr * epoch / warmup;
        double tau = done - warmup;
        return s switch
        {
            StepSchedule step => lr * Math.Pow(step.Gamma, Math.Floor(tau / step.StepEpochs)),
            ExponentialSchedule exponential => lr * Math.Pow(exponential.Gamma, tau),
            CosineSchedule cosine => cosine.MinLr + (lr - cosine.MinLr) * (1 + Math.Cos(Math.PI * tau / (t.Epochs - warmup))) / 2,
            _ => lr,
        };
    }
}

/// <summary>The optimizer and schedule in words, for the log.</summary>
public static class Describe
{
    private static string F(double v) => v.ToString("0.##########", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The optimizer's name as its kind declares it ("Adam"; "SGD (Nesterov)").</summary>
    public static string Optimizer(TrainingConfig t) =>
        Optimizers.Kinds.Of(t.Optimizer).Display + (t.Optimizer is SgdConfig { Nesterov: true } ? " (Nesterov)" : "");

    /// <summary>Every setting of the optimizer, as declared: "momentum 0.9, nesterov false, weight decay 0, decoupled false".</summary>
    public static string Settings(TrainingConfig t) => string.Join(", ", Optimizers.Kinds.Of(t.Optimizer).Values(t.Optimizer).Select(v =>
        $"{v.Setting.Key.Replace('_', ' ')} {(v.Value is double d ? F(d) : v.Value is bool b ? (b ? "true" : "false") : Convert.ToString(v.Value, System.Globalization.CultureInfo.InvariantCulture))}"));

    public static string Schedule(TrainingConfig t)
    {
        string kind = t.Schedule switch
        {
            StepSchedule s => $", ×{F(s.Gamma)} every {s.StepEpochs} epochs",
            ExponentialSchedule s => $", ×{F(s.Gamma)} per epoch",
            CosineSchedule s => $", cosine to {F(s.MinLr)}",
            _ => "",
        };
        string warmup = t.WarmupEpochs > 0 ? $", warm-up {t.WarmupEpochs} epochs" : "";
        return kind + warmup + (kind.Length + warmup.Length > 0 ? $" (per {t.Schedule.Per})" : "");
    }
}
