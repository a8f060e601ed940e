using ExpRunner.Cli.Commands;
using Spectre.Console.Cli;

// Piped or redirected output is read by scripts and files, not a terminal: no colour codes, no wrapping.
if (Console.IsOutputRedirected)
{
    Spectre.Console.AnsiConsole.Profile.Width = 240;
    Spectre.Console.AnsiConsole.Profile.Capabilities.Ansi = false;
    Spectre.Console.AnsiConsole.Profile.Capabilities.ColorSystem = Spectre.Console.ColorSystem.NoColors;
}

// Ctrl-C and SIGTERM cancel the command's token instead of killing the process, from the first
// moment on, so that work interrupted at any point can still end cleanly and say so.
using var cancel = new CancellationTokenSource();
using var sigint = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGINT, c => { c.Cancel = true; cancel.Cancel(); });
using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, c => { c.Cancel = true; cancel.Cancel(); });

var app = new CommandApp();
app.Configure(config =>
{
    config.SetApplicationName("exprunner");
    config.AddCommand<RunCommand>("run").WithDescription("Train the experiment a YAML file describes; writes a run folder under runs/.")
        .WithExample("run", "experiments/mnist-sgd.yaml").WithExample("run", "experiments/xor.yaml", "--set", "training.learning_rate=0.1");
    config.AddCommand<SweepCommand>("sweep").WithDescription("Run a sweep of trials (grid, zip, random; repeats) in parallel.")
        .WithExample("sweep", "experiments/mnist-mean-vs-sum.yaml", "--jobs", "2")
        .WithExample("sweep", "experiments/mnist-sgd.yaml", "--set", "training.learning_rate=0.001,0.01,0.1,1.0");
    config.AddCommand<CompareCommand>("compare").WithDescription("Compare runs or groups of runs side by side.")
        .WithExample("compare", "--sweep", "latest", "--group-by", "training.gradient_reduction,training.learning_rate")
        .WithExample("compare", "runs/mnist-sgd", "--filter", "metrics.test_accuracy > 0.8", "--sort", "metrics.test_accuracy", "desc");
    config.AddCommand<ValidateCommand>("validate").WithDescription("Check configs without loading data: every error at once.");
    config.AddCommand<ListCommand>("list").WithDescription("List runs (newest first) with status and final metrics.");
    config.AddCommand<ShowCommand>("show").WithDescription("Show one run: record, parameters, metrics per epoch.");
    config.AddCommand<EvalCommand>("eval").WithDescription("Evaluate a run's saved weights: loss, accuracy, confusion matrix.");
    config.AddCommand<PredictCommand>("predict").WithDescription("Show one example, its label and the network's prediction.");
    config.AddCommand<ExportCommand>("export").WithDescription("Write a run's weights as one CSV file per layer and tensor.");
    config.AddBranch("mlflow", mlflow =>
    {
        mlflow.SetDescription("MLflow tracking server.");
        mlflow.AddCommand<MlflowPushCommand>("push").WithDescription("Upload runs (or complete their MLflow copy); safe to repeat.");
    });
    config.AddBranch("data", data =>
    {
        data.SetDescription("Datasets.");
        data.AddCommand<DataFetchCommand>("fetch").WithDescription("Get mnist or fashion-mnist into data/NAME as IDX files.");
    });
});
return app.Run(args, cancel.Token);
