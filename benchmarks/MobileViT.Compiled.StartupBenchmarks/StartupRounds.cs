using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace MobileViT.Compiled.Benchmarks;

/// <summary>
/// The parent: per model, one warm-up probe of each side (so both read from a warm file cache), then rounds of fresh
/// processes, ours and ONNX Runtime back to back in alternating order so both see the same (shared, noisy) machine.
/// </summary>
internal static class StartupRounds
{
    private sealed record Sample(Dictionary<string, string> Values, double ProcessMs)
    {
        public double this[string key] => key == "process_ms" ? ProcessMs : double.Parse(Values[key], CultureInfo.InvariantCulture);
    }

    // (row label, probe key, scale from the probe's unit, is a time: times get per-round ratios, memory ratios of medians)
    private static readonly (string Label, string Key, double Scale, bool Time)[] Rows =
    [
        ("first logits ms (from parent's Process.Start)", "first_logits_ms", 1, true),
        ("whole process ms (parent: Start to exit)", "process_ms", 1, true),
        ("Main to logits ms", "main_to_logits_ms", 1, true),
        ("Create / session ms", "create_ms", 1, true),
        ("first run ms", "run_ms", 1, true),
        ("peak RSS MB (VmHWM)", "peak_rss_kb", 1.0 / 1024, false),
        ("managed allocated MB", "managed_allocated_bytes", 1.0 / (1024 * 1024), false),
    ];

    public static void Run(string[] args)
    {
        int rounds = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 15;
        int threads = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 1;
        string[] models = args.Length > 2 ? args[2..] : StartupModel.Names;
        PrintMachine(rounds, threads);
        foreach (var model in models)
        {
            var warmOurs = Spawn("ours", model, threads);
            var warmOrt = Spawn("ort", model, threads);
            string agreement = Agreement(model, warmOurs, warmOrt);
            var ours = new List<Sample>();
            var ort = new List<Sample>();
            for (int r = 0; r < rounds; r++)
            {
                bool oursFirst = r % 2 == 0;
                var a = Spawn(oursFirst ? "ours" : "ort", model, threads);
                var b = Spawn(oursFirst ? "ort" : "ours", model, threads);
                ours.Add(oursFirst ? a : b);
                ort.Add(oursFirst ? b : a);
            }
            // Every probe must give its side's warm-up answer: a fresh process is not allowed to differ.
            foreach (var (side, warm) in new[] { (ours, warmOurs), (ort, warmOrt) })
                if (side.Any(s => s.Values["argmax"] != warm.Values["argmax"] || Math.Abs(s["sum"] - warm["sum"]) > 1e-5 * warm["sum_abs"]))
                    agreement += " **(a probe's output differs from its warm-up's)**";
            PrintTable(model, ours, ort, agreement);
        }
    }

    private static Sample Spawn(string engine, string model, int threads)
    {
        var info = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, UseShellExecute = false };
        long start = Stopwatch.GetTimestamp();
        foreach (var arg in new[] { "probe", engine, model, threads.ToString(CultureInfo.InvariantCulture), start.ToString(CultureInfo.InvariantCulture) })
            info.ArgumentList.Add(arg);
        using var process = Process.Start(info)!;
        string stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        double processMs = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        if (process.ExitCode != 0) throw new InvalidOperationException($"probe {engine} {model} exited with {process.ExitCode}: {stdout}");
        string line = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1];
        var values = line.Split(' ').Select(kv => kv.Split('=', 2)).ToDictionary(kv => kv[0], kv => kv[1]);
        return new Sample(values, processMs);
    }

    /// <summary>Classifiers: the same argmax and sums within 1e-5 of the sum of |logits|; segmentation: per-pixel class agreement.</summary>
    private static string Agreement(string model, Sample ours, Sample ort)
    {
        double sumOurs = ours["sum"], sumOrt = ort["sum"], sumAbs = ort["sum_abs"];
        string sums = $"sum ours {sumOurs:G7}, ORT {sumOrt:G7} (sum of |logits| {sumAbs:G7})";
        bool sumsAgree = Math.Abs(sumOurs - sumOrt) <= 1e-5 * sumAbs;
        if (ours.Values.TryGetValue("pixels", out var po) && ort.Values.TryGetValue("pixels", out var pr))
        {
            int same = po.Zip(pr).Count(p => p.First == p.Second);
            double share = (double)same / pr.Length;
            return $"check: per-pixel classes agree on {same}/{pr.Length} pixels ({share:P2}){(share >= 0.99 ? "" : " **FAILED (< 99 %)**")}; " +
                $"{sums}{(sumsAgree ? "" : " **sums differ**")}";
        }
        bool argmaxAgrees = ours.Values["argmax"] == ort.Values["argmax"];
        return $"check: argmax ours {ours.Values["argmax"]}, ORT {ort.Values["argmax"]}{(argmaxAgrees ? "" : " **FAILED**")}; " +
            $"{sums}{(sumsAgree ? "" : " **sums differ**")}";
    }

    private static void PrintTable(string model, List<Sample> ours, List<Sample> ort, string agreement)
    {
        Console.WriteLine();
        Console.WriteLine($"### {model} ({ours.Count} rounds)");
        Console.WriteLine();
        Console.WriteLine("| metric | ours median | ORT median | ours / ORT | ratio quartiles |");
        Console.WriteLine("|---|---:|---:|---:|---|");
        foreach (var (label, key, scale, time) in Rows)
        {
            double o = Median(ours.Select(s => s[key] * scale)), p = Median(ort.Select(s => s[key] * scale));
            string ratio, quartiles = "";
            if (time)
            {
                // Per-round ratios: each pair ran back to back, so the ratio cancels most of the machine's drift.
                var ratios = ours.Zip(ort, (a, b) => a[key] / b[key]).Order().ToList();
                ratio = $"{ratios[ratios.Count / 2]:F2}";
                quartiles = $"{ratios[ratios.Count / 4]:F2}–{ratios[3 * ratios.Count / 4]:F2}";
            }
            else ratio = $"{o / p:F2}";
            Console.WriteLine($"| {label} | {o:F1} | {p:F1} | {ratio} | {quartiles} |");
        }
        Console.WriteLine();
        Console.WriteLine($"managed allocated includes loading the input ({Median(ours.Select(s => s["input_allocated_bytes"])) / 1048576:F1} MB, the same on both sides).");
        Console.WriteLine(agreement);
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }

    private static void PrintMachine(int rounds, int threads)
    {
        string cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "?";
        bool avx512 = File.ReadLines("/proc/cpuinfo").Any(l => l.StartsWith("flags", StringComparison.Ordinal) && l.Contains(" avx512f"));
        string exe = Environment.ProcessPath!;
        string ort = Path.Combine(Path.GetDirectoryName(exe)!, "libonnxruntime.so");
        Console.WriteLine($"machine: {cpu}, {Environment.ProcessorCount} logical cores, AVX-512F {(avx512 ? "yes" : "no")}, {RuntimeInformation.OSDescription}, " +
            $"{RuntimeInformation.ProcessArchitecture}, NativeAOT: {!System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeSupported}, " +
            $"Vector512 {System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated}, Vector256 {System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated}");
        Console.WriteLine($"binary: {Path.GetFileName(exe)} {new FileInfo(exe).Length / 1048576.0:F1} MB (ORT's managed wrapper and the four models' " +
            $"embedded weights included); libonnxruntime.so {(File.Exists(ort) ? $"{new FileInfo(ort).Length / 1048576.0:F1} MB" : "missing")}");
        Console.WriteLine($"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {rounds} rounds, {threads} thread(s), fresh processes alternating ours and ORT");
    }
}
