using System.Diagnostics;
using System.Globalization;

namespace MobileViT.Compiled.Benchmarks;

/// <summary>
/// Where a fresh process's first run loses time against the second: each layer's time in both, the layers with the
/// largest difference first (first-touch page faults of the arena and weights, cold caches, one-time set-up).
/// </summary>
internal static class ColdLayers
{
    public static void Print(string name, int threads)
    {
        var model = StartupModel.Get(name);
        float[] input = model.Input();
        var output = new float[model.OutputLength];
        using var ours = model.Create(threads);
        int layers = ours.LayerDescriptions.Count;
        var cold = new long[layers + 1];
        var warm = new long[layers + 1];
        ours.Run(input, output, null, cold);
        ours.Run(input, output, null, warm);
        double Ms(long[] s, int i) => (s[i + 1] - s[i]) * 1000.0 / Stopwatch.Frequency;
        Console.WriteLine($"{name}, {threads} thread(s): first run {(cold[layers] - cold[0]) * 1000.0 / Stopwatch.Frequency:F1} ms, " +
            $"second {(warm[layers] - warm[0]) * 1000.0 / Stopwatch.Frequency:F1} ms");
        Console.WriteLine($"anonymous huge pages in this process: {HugePages()}");
        Console.WriteLine("| layer | first ms | second ms | difference |");
        Console.WriteLine("|---|---:|---:|---:|");
        foreach (int i in Enumerable.Range(0, layers).OrderByDescending(i => Ms(cold, i) - Ms(warm, i)).Take(15))
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {Trim(ours.LayerDescriptions[i])} | {Ms(cold, i):F2} | {Ms(warm, i):F2} | {Ms(cold, i) - Ms(warm, i):F2} |"));
    }

    /// <summary>Whether the arena got transparent huge pages (Linux: AnonHugePages of this process), for the record.</summary>
    private static string HugePages()
    {
        const string Rollup = "/proc/self/smaps_rollup";
        if (!File.Exists(Rollup)) return "n/a";
        var line = File.ReadLines(Rollup).FirstOrDefault(l => l.StartsWith("AnonHugePages:", StringComparison.Ordinal));
        return line is null ? "n/a" : line["AnonHugePages:".Length..].Trim();
    }

    private static string Trim(string s) => s.Length > 100 ? s[..100] + "…" : s;
}
