using BenchmarkDotNet.Attributes;

namespace MobileViT.Compiled.Benchmarks;

/// <summary>
/// int8 (Precision="int8") against our fp32 and ONNX Runtime (fp32), 1 and 2 threads, in one run. ONNX Runtime is the
/// baseline, so the Ratio column gives int8 / ORT and fp32 / ORT for the same model and thread count. The setups check
/// fp32 against ONNX Runtime, and int8 against fp32 (same top-1; <see cref="ModelTrio"/>), printing how close int8 is.
/// <code>dotnet run -c Release --project benchmarks/MobileViT.Compiled.Benchmarks -- --filter '*Int8Benchmarks*'</code>
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkDotNet.Configs.BenchmarkLogicalGroupRule.ByParams)]
public class Int8Benchmarks
{
    private ModelPair? _pair;
    private ModelTrio? _trio;

    /// <summary>Every model compiled in int8, or the comma-separated list in MOBILEVIT_BENCH_MODELS.</summary>
    public static IEnumerable<string> Models =>
        Environment.GetEnvironmentVariable("MOBILEVIT_BENCH_MODELS")?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
        ?? ModelCatalog.Int8Models;

    [ParamsSource(nameof(Models))]
    public string Model { get; set; } = "";

    [Params(1, 2)]
    public int Threads { get; set; }

    // ONNX Runtime and fp32 run without the int8 model (BenchmarkDotNet runs each method in its own process), so a model
    // whose int8 answer is wrong still gets its fp32 / ORT row; only its int8 row fails.
    [GlobalSetup(Targets = [nameof(OnnxRuntime), nameof(Fp32)])]
    public void SetupFloat() => _pair = new ModelPair(Model, Threads);

    [GlobalSetup(Target = nameof(Int8))]
    public void SetupInt8()
    {
        _trio = new ModelTrio(Model, Threads);
        _pair = _trio.Pair;
        Console.WriteLine($"// int8 check, {Model}: {_trio.Agreement}");
    }

    [Benchmark(Baseline = true, Description = "ONNX Runtime fp32")]
    public void OnnxRuntime() => _pair!.RunPeer();

    [Benchmark(Description = "ours fp32")]
    public void Fp32() => _pair!.RunOurs();

    [Benchmark(Description = "ours int8")]
    public void Int8() => _trio!.RunInt8();

    [GlobalCleanup]
    public void Cleanup()
    {
        if (_trio is not null) _trio.Dispose();
        else _pair?.Dispose();
    }
}
