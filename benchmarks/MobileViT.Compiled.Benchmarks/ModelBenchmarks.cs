using BenchmarkDotNet.Attributes;

namespace MobileViT.Compiled.Benchmarks;

/// <summary>
/// Median latency of one image, ours against ONNX Runtime on the same weights and input, 1 and 2 threads, in
/// one run. The Ratio column is ours / ORT for the same model and thread count (ORT is the baseline).
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkDotNet.Configs.BenchmarkLogicalGroupRule.ByParams)]
public class ModelBenchmarks
{
    private ModelPair _pair = null!;

    /// <summary>Every model, or the comma-separated list in MOBILEVIT_BENCH_MODELS (to rerun a few).</summary>
    public static IEnumerable<string> Models =>
        Environment.GetEnvironmentVariable("MOBILEVIT_BENCH_MODELS")?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
        ?? ["mobilevit-xx-small", "mobilevit-x-small", "mobilevit-small", "mobilevit-xx-small-fashion", "mobilevitv2-0.5", "deeplabv3-mobilevit-xx-small"];

    [ParamsSource(nameof(Models))]
    public string Model { get; set; } = "";

    [Params(1, 2)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup() => _pair = new ModelPair(Model, Threads); // both answer the same question before anything is timed

    [Benchmark(Baseline = true, Description = "ONNX Runtime")]
    public void OnnxRuntime() => _pair.RunPeer();

    [Benchmark(Description = "MobileViT.Compiled")]
    public void Compiled() => _pair.RunOurs();

    [GlobalCleanup]
    public void Cleanup() => _pair.Dispose();
}
