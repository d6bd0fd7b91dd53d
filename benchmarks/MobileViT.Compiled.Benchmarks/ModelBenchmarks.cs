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
    private ICompiledModel _ours = null!;
    private OnnxRuntimeModel _ort = null!;
    private float[] _input = null!;
    private float[] _output = null!;
    private float[] _ortOutput = null!;

    /// <summary>Every model, or the comma-separated list in MOBILEVIT_BENCH_MODELS (to rerun a few).</summary>
    public static IEnumerable<string> Models =>
        Environment.GetEnvironmentVariable("MOBILEVIT_BENCH_MODELS")?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
        ?? ["mobilevit-xx-small", "mobilevit-x-small", "mobilevit-small", "mobilevit-xx-small-fashion", "mobilevitv2-0.5", "deeplabv3-mobilevit-xx-small"];

    [ParamsSource(nameof(Models))]
    public string Model { get; set; } = "";

    [Params(1, 2)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _ours = ModelCatalog.Create(Model, Threads);
        _input = ModelCatalog.Input(Model);
        _output = new float[_ours.OutputLength];
        _ortOutput = new float[_ours.OutputLength];
        _ort = new OnnxRuntimeModel(ModelCatalog.OnnxPath(Model), _input, _ortOutput,
            [1, _ours.InputChannels, _ours.InputHeight, _ours.InputWidth], ModelCatalog.OutputShape(_ours), Threads);
        // Both answer the same question before anything is timed.
        _ours.Run(_input, _output);
        _ort.Run();
        float maxError = 0, maxReference = 0;
        for (int i = 0; i < _output.Length; i++)
        {
            maxError = Math.Max(maxError, Math.Abs(_output[i] - _ortOutput[i]));
            maxReference = Math.Max(maxReference, Math.Abs(_ortOutput[i]));
        }
        if (!(maxError <= 1e-3f * Math.Max(1f, maxReference)))
            throw new InvalidOperationException($"{Model}: ours and ONNX Runtime disagree by {maxError}");
    }

    [Benchmark(Baseline = true, Description = "ONNX Runtime")]
    public void OnnxRuntime() => _ort.Run();

    [Benchmark(Description = "MobileViT.Compiled")]
    public void Compiled() => _ours.Run(_input, _output);

    [GlobalCleanup]
    public void Cleanup()
    {
        _ours.Dispose();
        _ort.Dispose();
    }
}
