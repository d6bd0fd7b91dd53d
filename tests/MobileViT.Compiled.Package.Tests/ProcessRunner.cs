using System.Diagnostics;
using System.Text;

namespace MobileViT.Compiled.Package.Tests;

/// <summary>The outcome of one command: its command line, exit code and interleaved output, printable as a log.</summary>
public sealed record ProcessResult(string CommandLine, string WorkingDirectory, int ExitCode, string Output, TimeSpan Elapsed)
{
    public bool Succeeded => ExitCode == 0;

    public override string ToString()
        => $"$ {CommandLine}\n  (in {WorkingDirectory}, exit code {ExitCode}, {Elapsed.TotalSeconds:F1} s)\n{Output}";
}

/// <summary>Runs the dotnet CLI with an environment cleaned of what the test host's own build leaked into it.</summary>
public static class ProcessRunner
{
    public static string DotNet
        => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";

    public static ProcessResult Run(string fileName, IEnumerable<string> arguments, string workingDirectory,
        IReadOnlyDictionary<string, string?>? environment = null, TimeSpan? timeout = null)
    {
        var info = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments) info.ArgumentList.Add(argument);

        // `dotnet test` runs us with MSBuild variables pointing at its own build; a nested build must not inherit them.
        foreach (var key in info.Environment.Keys.ToList())
            if (key.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase) || key.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase))
                info.Environment.Remove(key);
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["DOTNET_NOLOGO"] = "1";
        info.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        if (environment is not null)
            foreach (var (key, value) in environment)
                info.Environment[key] = value;

        var output = new StringBuilder();
        var stopwatch = Stopwatch.StartNew();
        using var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        int exitCode;
        if (!process.WaitForExit((int)(timeout ?? TimeSpan.FromMinutes(5)).TotalMilliseconds))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            lock (output) output.AppendLine($"*** killed after {timeout ?? TimeSpan.FromMinutes(5)}");
            exitCode = -1;
        }
        else
        {
            process.WaitForExit(); // drains the asynchronous output readers
            exitCode = process.ExitCode;
        }
        string commandLine = fileName + " " + string.Join(" ", info.ArgumentList.Select(a => a.Contains(' ') ? $"\"{a}\"" : a));
        lock (output) return new ProcessResult(commandLine, workingDirectory, exitCode, output.ToString(), stopwatch.Elapsed);
    }
}
