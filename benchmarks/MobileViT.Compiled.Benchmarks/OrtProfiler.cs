using System.Text.Json;
using Microsoft.ML.OnnxRuntime;

namespace MobileViT.Compiled.Benchmarks;

/// <summary>
/// Per-node profile of the peer, ONNX Runtime, on the same model and input (its own profiler: one JSON event per node
/// per run). Prints the nodes by median time and the time per operator type, so our per-layer profile can be put
/// next to it and the layers where the peer is faster found.
/// <code>dotnet run -c Release --project benchmarks/MobileViT.Compiled.Benchmarks -- ort-profile mobilevit-small [threads] [runs]</code>
/// </summary>
internal static class OrtProfiler
{
    public static void Profile(string[] args)
    {
        string model = args.Length > 0 ? args[0] : "mobilevit-small";
        int threads = args.Length > 1 ? int.Parse(args[1]) : 1;
        int runs = args.Length > 2 ? int.Parse(args[2]) : 50;
        string prefix = Path.Combine(Path.GetTempPath(), $"ort-profile-{Environment.ProcessId}");

        using var compiled = ModelCatalog.Create(model, 1);
        var input = ModelCatalog.Input(model);
        var output = new float[compiled.OutputLength];
        var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            IntraOpNumThreads = threads,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
        };
        using var session = new InferenceSession(ModelCatalog.OnnxPath(model), options);
        using var runOptions = new RunOptions();
        using var inputValue = OrtValue.CreateTensorValueFromMemory(input, [1, compiled.InputChannels, compiled.InputHeight, compiled.InputWidth]);
        using var outputValue = OrtValue.CreateTensorValueFromMemory(output, ModelCatalog.OutputShape(compiled));
        string[] inputNames = ["pixel_values"], outputNames = ["logits"];
        for (int w = 0; w < 20; w++) session.Run(runOptions, inputNames, [inputValue], outputNames, [outputValue]);

        // Profiling is a session option, so a second session records the measured runs (the first one warmed the caches).
        options.EnableProfiling = true;
        options.ProfileOutputPathPrefix = prefix;
        using var profiled = new InferenceSession(ModelCatalog.OnnxPath(model), options);
        for (int w = 0; w < 20; w++) profiled.Run(runOptions, inputNames, [inputValue], outputNames, [outputValue]);
        for (int r = 0; r < runs; r++) profiled.Run(runOptions, inputNames, [inputValue], outputNames, [outputValue]);
        string file = profiled.EndProfiling();

        var perNode = new Dictionary<string, (string Op, List<double> Us)>();
        var perRun = new List<double>();
        using (var doc = JsonDocument.Parse(File.ReadAllText(file)))
            foreach (var e in doc.RootElement.EnumerateArray())
            {
                string cat = e.GetProperty("cat").GetString()!, name = e.GetProperty("name").GetString()!;
                double us = e.GetProperty("dur").GetDouble();
                if (cat == "Session" && name == "model_run") perRun.Add(us);
                if (cat != "Node" || !name.EndsWith("_kernel_time", StringComparison.Ordinal)) continue;
                string node = name[..^"_kernel_time".Length];
                string op = e.TryGetProperty("args", out var a) && a.TryGetProperty("op_name", out var o) ? o.GetString()! : "?";
                if (!perNode.TryGetValue(node, out var entry)) perNode[node] = entry = (op, new List<double>());
                entry.Us.Add(us);
            }
        File.Delete(file);

        // The last `runs` samples of each node are the measured runs (the first 20 are warm-up).
        var medians = perNode.ToDictionary(kv => kv.Key, kv => (kv.Value.Op, Ms: Median(kv.Value.Us.Skip(Math.Max(0, kv.Value.Us.Count - runs)).ToList()) / 1000));
        double sum = medians.Values.Sum(v => v.Ms);
        Console.WriteLine($"ONNX Runtime {model}, {threads} thread(s), median of {runs} runs after 20 warm-up runs");
        Console.WriteLine($"model_run median {Median(perRun.Skip(Math.Max(0, perRun.Count - runs)).ToList()) / 1000:F3} ms, sum of node medians {sum:F3} ms, {medians.Count} nodes");
        Console.WriteLine();
        Console.WriteLine("| node | op | ms | share |");
        Console.WriteLine("|---|---|---:|---:|");
        foreach (var (node, v) in medians.OrderByDescending(kv => kv.Value.Ms).Take(60))
            Console.WriteLine($"| {node} | {v.Op} | {v.Ms:F3} | {v.Ms / sum:P1} |");
        Console.WriteLine();
        Console.WriteLine("| op | nodes | ms | share |");
        Console.WriteLine("|---|---:|---:|---:|");
        foreach (var g in medians.GroupBy(kv => kv.Value.Op).OrderByDescending(g => g.Sum(kv => kv.Value.Ms)))
            Console.WriteLine($"| {g.Key} | {g.Count()} | {g.Sum(kv => kv.Value.Ms):F3} | {g.Sum(kv => kv.Value.Ms) / sum:P1} |");
    }

    private static double Median(List<double> values)
    {
        if (values.Count == 0) return 0;
        values.Sort();
        int n = values.Count;
        return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
    }
}
