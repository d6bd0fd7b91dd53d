using System.Diagnostics;
using MobileViT.Cli;

namespace MobileViT.Compiled.Cli.Tests;

/// <summary>Runs the mobilevit command line in-process (or as a real process) and captures its output.</summary>
internal static class Cli
{
    public static (int Code, string Stdout, string Stderr) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = CliApp.Run(args, stdout, stderr, Terminal.Quiet);
        return (code, stdout.ToString(), stderr.ToString());
    }

    /// <summary>Runs the built mobilevit.dll with `dotnet` as a user would, from the repository root.</summary>
    public static (int Code, string Stdout, string Stderr) RunProcess(params string[] args) => RunProcess(new Dictionary<string, string?>(), args);

    /// <summary>The same with environment variables set, or removed where the value is null.</summary>
    public static (int Code, string Stdout, string Stderr) RunProcess(IReadOnlyDictionary<string, string?> environment, params string[] args)
    {
        string app = Path.Combine(AppContext.BaseDirectory, "mobilevit.dll");
        Assert.True(File.Exists(app), $"{app} is missing");
        var start = new ProcessStartInfo(Environment.ProcessPath is { } host && Path.GetFileNameWithoutExtension(host) == "dotnet" ? host : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Fixtures.RepoRoot,
        };
        foreach (var (name, value) in environment)
        {
            if (value is null) start.Environment.Remove(name);
            else start.Environment[name] = value;
        }
        start.ArgumentList.Add(app);
        foreach (string arg in args) start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail("mobilevit did not finish within 2 minutes");
        }
        return (process.ExitCode, stdout.Result, stderr.Result);
    }
}

internal sealed class TempFolder : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("mobilevit-cli-tests-").FullName;

    public string File(string name, byte[] bytes)
    {
        string path = System.IO.Path.Combine(Path, name);
        System.IO.File.WriteAllBytes(path, bytes);
        return path;
    }

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}
