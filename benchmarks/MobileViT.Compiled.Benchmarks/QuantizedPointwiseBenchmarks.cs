using BenchmarkDotNet.Attributes;
using MobileViT.Compiled.Kernels;
using MobileViT.Compiled.Threading;

namespace MobileViT.Compiled.Benchmarks;

/// <summary>
/// The int8 1x1 convolution as a model runs it (QuantizedPointwise: quantize, LayerNorm where there is one, the GEMM
/// with the fused activation and residual) against its float twin (PointwiseConv, the baseline: Ratio = int8 / float),
/// at 1x1 layers of mobilevit-small (256 x 256 input), on 1 thread and on a WorkerPool of 2:
/// 64 -> 256 SiLU at 64x64 (stage 2's expansion), 144 -> 432 LayerNormed at 1024 tokens (stage 3's query/key/value),
/// 288 -> 144 with the residual at 1024 tokens (stage 3's FFN output).
/// `dotnet run -c Release --project benchmarks/MobileViT.Compiled.Benchmarks -- --filter '*QuantizedPointwise*' --job short`
/// </summary>
[GroupBenchmarksBy(BenchmarkDotNet.Configs.BenchmarkLogicalGroupRule.ByParams)]
public class QuantizedPointwiseBenchmarks
{
    [Params("64x256x4096 silu", "144x432x1024 ln", "288x144x1024 res")]
    public string Layer { get; set; } = "";

    [Params(1, 2)]
    public int Threads { get; set; }

    private int _k, _m, _n;
    private string _kind = "";
    private float[] _input = null!, _packedFloat = null!, _encoded = null!, _bias = null!, _gamma = null!, _beta = null!;
    private float[] _output = null!, _residual = null!;
    private WorkerPool? _pool;

    [GlobalSetup]
    public void Setup()
    {
        var parts = Layer.Split(' ');
        var shape = parts[0].Split('x').Select(int.Parse).ToArray();
        (_k, _m, _n, _kind) = (shape[0], shape[1], shape[2], parts[1]);
        var rng = new Random(1);
        float[] R(int n, float scale) { var a = new float[n]; for (int i = 0; i < n; i++) a[i] = (float)(rng.NextDouble() * 2 - 1) * scale; return a; }
        _input = R(_k * _n, 2f);
        var weight = R(_m * _k, 1f / MathF.Sqrt(_k));
        _bias = R(_m, 0.1f);
        _gamma = R(_k, 1f);
        _beta = R(_k, 0.1f);
        _output = new float[_m * _n];
        _residual = R(_m * _n, 1f);
        _packedFloat = PointwiseConv.PackWeights(weight, _k, _m);
        _encoded = QuantizedWeights.Encode(weight, _k, _m);
        _pool = Threads > 1 ? new WorkerPool(Threads) : null;
        Console.WriteLine($"// int8 best path {QuantizedGemm.Best}");
    }

    [GlobalCleanup]
    public void Cleanup() => _pool?.Dispose();

    [Benchmark(Baseline = true, Description = "float PointwiseConv")]
    public void Float()
    {
        switch (_kind)
        {
            case "silu": PointwiseConv.Run<Silu>(_input, _packedFloat, _bias, _output, _k, _m, _n, default, _pool); break;
            case "ln": PointwiseConv.RunLayerNormed<Identity>(_input, _gamma, _beta, 1e-5f, _packedFloat, _bias, _output, _k, _m, _n, default, _pool); break;
            default: PointwiseConv.Run<Identity>(_input, _packedFloat, _bias, _output, _k, _m, _n, _residual, _pool); break;
        }
    }

    [Benchmark(Description = "int8 QuantizedPointwise")]
    public void Int8()
    {
        switch (_kind)
        {
            case "silu": QuantizedPointwise.Run<Silu>(_input, _encoded, _bias, _output, _k, _m, _n, default, _pool); break;
            case "ln": QuantizedPointwise.RunLayerNormed<Identity>(_input, _gamma, _beta, 1e-5f, _encoded, _bias, _output, _k, _m, _n, default, _pool); break;
            default: QuantizedPointwise.Run<Identity>(_input, _encoded, _bias, _output, _k, _m, _n, _residual, _pool); break;
        }
    }
}
