using BenchmarkDotNet.Attributes;
using MobileViT.Compiled.Kernels;

namespace MobileViT.Compiled.Benchmarks;

/// <summary>
/// The int8 GEMM against the float 1x1 convolution (PointwiseConv, the baseline: Ratio = int8 time / float time) at
/// 1x1 layers of mobilevit-small (256 x 256 input), one thread each:
/// 96 -> 144 at 32x32 (stage 3's conv_1x1), 144 -> 288 at 1024 tokens (stage 3's FFN), 160 -> 640 at 8x8 (conv_1x1_exp).
/// "int8 + quantize" includes quantizing the float input (what a layer fed by a float layer pays);
/// the others start from packed activations, on the best path or a forced one.
/// `dotnet run -c Release --project benchmarks/MobileViT.Compiled.Benchmarks -- --filter '*QuantizedGemm*' --job short`
/// </summary>
[GroupBenchmarksBy(BenchmarkDotNet.Configs.BenchmarkLogicalGroupRule.ByParams)]
public class QuantizedGemmBenchmarks
{
    [Params("96x144x1024", "144x288x1024", "160x640x64")]
    public string Shape { get; set; } = "";

    private int _k, _m, _n;
    private float[] _input = null!, _packedFloat = null!, _bias = null!, _output = null!;
    private byte[] _activations = null!;
    private QuantizedWeights _weights = null!;

    [GlobalSetup]
    public void Setup()
    {
        var parts = Shape.Split('x').Select(int.Parse).ToArray();
        (_k, _m, _n) = (parts[0], parts[1], parts[2]);
        var rng = new Random(1);
        float[] R(int n, float scale) { var a = new float[n]; for (int i = 0; i < n; i++) a[i] = (float)(rng.NextDouble() * 2 - 1) * scale; return a; }
        _input = R(_k * _n, 2f);
        var weight = R(_m * _k, 1f / MathF.Sqrt(_k));
        _bias = R(_m, 0.1f);
        _output = new float[_m * _n];
        _packedFloat = PointwiseConv.PackWeights(weight, _k, _m);
        _weights = QuantizedWeights.Quantize(weight, _k, _m);
        _activations = new byte[QuantizedGemm.PackedActivationLength(_k, _n)];
        QuantizedGemm.QuantizeActivations(_input, _k, _n, _activations);
        Console.WriteLine($"// int8 best path {QuantizedGemm.Best}; AvxVnni.IsSupported={System.Runtime.Intrinsics.X86.AvxVnni.IsSupported}, " +
            $"Avx512BW.IsSupported={System.Runtime.Intrinsics.X86.Avx512BW.IsSupported}");
    }

    [Benchmark(Baseline = true, Description = "float PointwiseConv")]
    public void Float() => PointwiseConv.Run<Identity>(_input, _packedFloat, _bias, _output, _k, _m, _n);

    [Benchmark(Description = "int8 + quantize (best path)")]
    public void Int8WithQuantize() => QuantizedGemm.RunFloat(_input, _weights, _bias, _output, _n);

    [Benchmark(Description = "quantize only")]
    public void QuantizeOnly() => QuantizedGemm.QuantizeActivations(_input, _k, _n, _activations);

    [Benchmark(Description = "int8 GEMM (best path)")]
    public void Int8() => QuantizedGemm.Run(_activations, _weights, _bias, _output, _n);

    [Benchmark(Description = "int8 GEMM AVX-512BW")]
    public void Int8Avx512BW() => RunPath(QuantizedGemmPath.Avx512BW);

    [Benchmark(Description = "int8 GEMM AVX2")]
    public void Int8Avx2() => RunPath(QuantizedGemmPath.Avx2);

    /// <summary>A path this machine lacks runs nothing (its row then shows the cost of the check alone).</summary>
    private void RunPath(QuantizedGemmPath path)
    {
        if (QuantizedGemm.IsSupported(path))
            QuantizedGemm.RunPath(path, _activations, _weights, _bias, _output, _n, default);
    }
}
