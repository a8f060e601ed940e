using ExpRunner.Cli.Commands;
using Spectre.Console.Cli;

// Piped or redirected output is read by scripts and files, not a terminal: do not wrap tables.
if (Console.IsOutputRedirected) Spectre.Console.AnsiConsole.Profile.Width = 240;

var app = new CommandApp();
app.Configure(config =>
{
    config.SetApplicationName("exprunner");
    config.AddCommand<RunCommand>("run").WithDescription("Train the experiment a YAML file describes; writes a run folder under runs/.")
        .WithExample("run", "experiments/mnist-sgd.yaml").WithExample("run", "experiments/xor.yaml", "--set", "training.learning_rate=0.1");
    config.AddCommand<SweepCommand>("sweep").WithDescription("Run a sweep of trials (grid, zip, random; repeats) in parallel.")
        .WithExample("sweep", "experiments/mnist-mean-vs-sum.yaml", "--jobs", "2")
        .WithExample("sweep", "experiments/mnist-sgd.yaml", "--set", "training.learning_rate=0.001,0.01,0.1,1.0");
    config.AddCommand<ValidateCommand>("validate").WithDescription("Check configs without loading data: every error at once.");
    config.AddCommand<ListCommand>("list").WithDescription("List runs (newest first) with status and final metrics.");
    config.AddCommand<ShowCommand>("show").WithDescription("Show one run: record, parameters, metrics per epoch.");
    config.AddCommand<EvalCommand>("eval").WithDescription("Evaluate a run's saved weights: loss, accuracy, confusion matrix.");
    config.AddCommand<PredictCommand>("predict").WithDescription("Show one example, its label and the network's prediction.");
    config.AddCommand<ExportCommand>("export").WithDescription("Write a run's weights as one CSV file per layer and tensor.");
    config.AddBranch("data", data =>
    {
        data.SetDescription("Datasets.");
        data.AddCommand<DataFetchCommand>("fetch").WithDescription("Get mnist or fashion-mnist into data/NAME as IDX files.");
    });
});
return app.Run(args);
