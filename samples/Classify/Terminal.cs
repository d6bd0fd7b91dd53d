using Spectre.Console;

namespace MobileViT.Cli;

/// <summary>Where progress goes: a Spectre.Console bar on standard error when it is a terminal, nothing otherwise.</summary>
internal sealed class Terminal(bool showsProgress)
{
    /// <summary>The process's own console: progress only when standard error is a terminal.</summary>
    public static Terminal FromConsole() => new(!Console.IsErrorRedirected && Environment.GetEnvironmentVariable("TERM") != "dumb");

    /// <summary>No progress bar (tests, redirected output).</summary>
    public static Terminal Quiet { get; } = new(false);

    public bool ShowsProgress => showsProgress;

    /// <summary>Runs <paramref name="work"/>, which calls its argument once per finished item, under a progress bar (if shown).</summary>
    public void RunWithProgress(string description, int total, Action<Action> work)
    {
        if (!showsProgress)
        {
            work(() => { });
            return;
        }
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(Console.Error),
            Ansi = AnsiSupport.Detect,
            Interactive = InteractionSupport.Detect,
        });
        console.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(context =>
            {
                var task = context.AddTask(Markup.Escape(description), autoStart: true, maxValue: total);
                work(() => task.Increment(1));
            });
    }

    /// <summary>Like <see cref="RunWithProgress"/> for work on other threads that reports a running count.</summary>
    public void RunWithProgress(string description, int total, Func<int> completed, Task work)
    {
        if (!showsProgress)
        {
            work.GetAwaiter().GetResult();
            return;
        }
        RunWithProgress(description, total, advance =>
        {
            int shown = 0;
            while (!work.Wait(100))
                for (int now = completed(); shown < now; shown++) advance();
            for (int now = completed(); shown < now; shown++) advance();
        });
        work.GetAwaiter().GetResult();
    }
}
