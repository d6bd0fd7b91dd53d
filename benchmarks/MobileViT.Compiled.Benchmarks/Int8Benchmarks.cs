using BenchmarkDotNet.Attributes;

namespace MobileViT.Compiled.Benchmarks;

/// <summary>
/// int8 (Precision="int8") against our fp32 and ONNX Runtime (fp32), 1 and 2 threads, in one run. ONNX Runtime is the
/// baseline, so the Ratio column gives int8 / ORT and fp32 / ORT for the same model and thread count. The setup checks
/// fp32 against ONNX Runtime and int8 against fp32 (same top-1; <see cref="ModelTrio"/>) and prints how close int8 is.
/// <code>dotnet run -c Release --project benchmarks/MobileViT.Compiled.Benchmarks -- --filter '*Int8Benchmarks*'</code>
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkDotNet.Configs.BenchmarkLogicalGroupRule.ByParams)]
public class Int8Benchmarks
{
    private ModelTrio _trio = null!;

    /// <summary>Every model compiled in int8, or the comma-separated list in MOBILEVIT_BENCH_MODELS.</summary>
    public static IEnumerable<string> Models =>
        Environment.GetEnvironmentVariable("MOBILEVIT_BENCH_MODELS")?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
        ?? ModelCatalog.Int8Models;

    [ParamsSource(nameof(Models))]
    public string Model { get; set; } = "";

    [Params(1, 2)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _trio = new ModelTrio(Model, Threads);
        Console.WriteLine($"// int8 check, {Model}: {_trio.Agreement}");
    }

    [Benchmark(Baseline = true, Description = "ONNX Runtime fp32")]
    public void OnnxRuntime() => _trio.Pair.RunPeer();

    [Benchmark(Description = "ours fp32")]
    public void Fp32() => _trio.Pair.RunOurs();

    [Benchmark(Description = "ours int8")]
    public void Int8() => _trio.RunInt8();

    [GlobalCleanup]
    public void Cleanup() => _trio.Dispose();
}
