using System.Runtime.InteropServices;
using ExpRunner.Cli;

// The edge: the only code that reads this process's environment, signals and console streams;
// everything below gets them from the CliContext made here.

// Ctrl-C and SIGTERM cancel the command's token instead of killing the process, from the first
// moment on, so that work interrupted at any point can still end cleanly and say so; what does not
// end within a second (and holds no clean end) is ended then (see Interruption).
using var cancel = new CancellationTokenSource();
var interruption = new Interruption(cancel, text => Console.Error.WriteLine($"error: {text}"), Environment.Exit);
using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; interruption.Signal(); });
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; interruption.Signal(); });

// Commands that read a config compile the config code on another thread while the command line is
// parsed; a run with a core to spare (not a sweep's trial sharing the cores) also what it writes.
if (args.Length > 0 && args[0] is "run" or "sweep" or "validate" && Environment.ProcessorCount > 1)
    _ = ExpRunner.Startup.Start(records: args[0] == "run"
        && ExpRunner.Training.ThreadBudget.SpareCore(ExpRunner.Training.ThreadBudget.Cap(Environment.GetEnvironmentVariable(ExpRunner.Training.ThreadBudget.Variable))));
var cli = CliContext.ForProcess() with { Interruption = interruption };
// A failure on a thread of our own (not the command's) still ends in one line and exit code 1.
AppDomain.CurrentDomain.UnhandledException += (_, e) =>
{
    App.Report(cli, e.ExceptionObject as Exception ?? new InvalidOperationException("unknown failure"), args);
    Environment.Exit(ExitCodes.Failed);
};
return App.Run(cli, args, cancel.Token);
