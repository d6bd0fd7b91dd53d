using System.Runtime.Intrinsics;
using MobileViT.Compiled.Kernels;
using MobileViT.Compiled.Kernels.Reference;
using MobileViT.Compiled.Threading;
using static MobileViT.Compiled.Tests.Kernels.KernelTestUtil;

namespace MobileViT.Compiled.Tests.Kernels;

/// <summary>
/// The int8 1x1 convolution (<see cref="QuantizedPointwise"/>) on every GEMM path this machine supports, with each
/// activation, residual (none, separate, aliasing the output), normalization and 1 or 2 threads, against
/// <see cref="ReferenceKernels.QuantizedPointwise{TAct}(ReadOnlySpan{float}, ReadOnlySpan{sbyte}, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, int, int, int, ReadOnlySpan{float}, Func{float, float}?)"/>:
/// bit for bit. The normalized variants' expected values quantize the output of the fast LayerNorm / GroupNorm
/// kernels (tested against their own references), because the kernel quantizes exactly that.
/// </summary>
public class QuantizedPointwiseTests
{
    public static TheoryData<string> Paths => QuantizedGemmTests.Paths;

    private static QuantizedGemmPath Parse(string name) => Enum.Parse<QuantizedGemmPath>(name);

    /// <summary>
    /// TAct as the kernel applies it: the vector form of the activation pass's width, whatever the GEMM path (SiLU's
    /// vector e^-x is not MathF.Exp).
    /// </summary>
    private static Func<float, float> ActivationOf<TAct>(QuantizedGemmPath path) where TAct : struct, IActivation
        => QuantizedGemm.ActivationTier switch
        {
            Isa.Scalar => TAct.Invoke,
            Isa.Vector128 => x => TAct.Invoke(Vector128.Create(x)).ToScalar(),
            Isa.Vector256 => x => TAct.Invoke(Vector256.Create(x)).ToScalar(),
            _ => x => TAct.Invoke(Vector512.Create(x)).ToScalar(),
        };

    private static readonly (int K, int M, int N)[] Shapes =
    [
        (13, 11, 17), (64, 24, 100), (7, 9, 1), (36, 20, 7), (5, 3, 33), (20, 16, 1024), (3, 40, 2),
    ];

    private static void AssertBits(float[] expected, float[] actual, string context)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
                Assert.Fail($"{context}: element {i}: expected {expected[i]:R}, got {actual[i]:R}");
    }

    /// <summary>The kernel against the reference for one shape, activation, residual mode, norm and pool.</summary>
    private static void Check<TAct>(QuantizedGemmPath path, QuantizedPointwise.Norm norm, int k, int m, int n, int residualMode,
        WorkerPool? pool, Random rng) where TAct : struct, IActivation
    {
        var input = Random(rng, k * n, 3f);
        var weight = Random(rng, m * k);
        var bias = Random(rng, m);
        var gamma = Random(rng, k);
        var beta = Random(rng, k);
        const float epsilon = 1e-5f;
        var encoded = QuantizedWeights.Encode(weight, k, m);

        var normed = input;
        if (norm == QuantizedPointwise.Norm.Layer) LayerNorm.Channels(input, gamma, beta, normed = new float[k * n], k, n, epsilon);
        if (norm == QuantizedPointwise.Norm.Group) GroupNorm.SingleGroup(input, gamma, beta, normed = new float[k * n], k, n, epsilon);
        var residual = residualMode == 0 ? null : Random(rng, m * n);
        var expected = new float[m * n];
        ReferenceKernels.QuantizedPointwise<TAct>(normed, weight, bias, expected, k, m, n, residual, ActivationOf<TAct>(path));

        // residualMode 2: the residual is the output buffer itself (in place, as the transformer's projections run).
        var actual = residualMode == 2 ? (float[])residual!.Clone() : new float[m * n];
        var res = residualMode == 2 ? actual : residual;
        QuantizedPointwise.RunPath<TAct>(path, norm, input, gamma, beta, epsilon, encoded, bias, actual, k, m, n, res, pool);
        AssertBits(expected, actual, $"{path} {norm} {typeof(TAct).Name} K={k} M={m} N={n} residual={residualMode} threads={pool?.Threads ?? 1}");
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void EveryVariantEqualsTheReferenceBitForBit_OnOneAndTwoThreads(string pathName)
    {
        var path = Parse(pathName);
        var rng = new Random(21);
        using var pool = new WorkerPool(2);
        foreach (var pl in new[] { null, pool })
        foreach (var norm in Enum.GetValues<QuantizedPointwise.Norm>())
        foreach (var (k, m, n) in Shapes)
        for (int residualMode = 0; residualMode < 3; residualMode++)
        {
            Check<Identity>(path, norm, k, m, n, residualMode, pl, rng);
            Check<Silu>(path, norm, k, m, n, residualMode, pl, rng);
            Check<Relu>(path, norm, k, m, n, residualMode, pl, rng);
        }
    }

    [Fact]
    public void LargeMapsSplitOverThreadsGiveTheSameBits()
    {
        // Big enough that the quantize step and the GEMM split over the pool (and the pixel chunks do not divide evenly).
        var rng = new Random(5);
        using var pool = new WorkerPool(2);
        foreach (var (k, m, n) in new[] { (64, 40, 4100), (144, 72, 1024), (40, 300, 16) })
        foreach (var norm in Enum.GetValues<QuantizedPointwise.Norm>())
            Check<Silu>(QuantizedGemm.Best, norm, k, m, n, 1, pool, rng);
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void ExtremeWeightsAndActivations(string pathName)
    {
        // Weights all 127 or all -128 (Pack allows -128), activations only at the ends of the range (q = 0 and 254).
        var path = Parse(pathName);
        foreach (int k in new[] { 5, 1027 })
        foreach (sbyte wv in new sbyte[] { 127, -128 })
        {
            int m = 9, n = 21;
            var q = Enumerable.Repeat(wv, m * k).ToArray();
            var scales = Enumerable.Range(1, m).Select(i => i * 0.001f).ToArray();
            var encoded = QuantizedWeights.Pack(q, scales, k, m).ToEncoded();
            var input = new float[k * n];
            for (int i = 0; i < input.Length; i++) input[i] = i % 3 == 0 ? -2.5f : 7f;
            var bias = Enumerable.Range(0, m).Select(i => i - 4f).ToArray();
            var expected = new float[m * n];
            ReferenceKernels.QuantizedPointwise<Relu>(input, q, scales, bias, expected, k, m, n, default, ActivationOf<Relu>(path));
            var actual = new float[m * n];
            QuantizedPointwise.RunPath<Relu>(path, QuantizedPointwise.Norm.None, input, default, default, 0f, encoded, bias, actual, k, m, n, default, null);
            AssertBits(expected, actual, $"{path} K={k} w={wv}");
        }
    }

    [Fact]
    public void PublicEntryPointsRunTheBestPath()
    {
        var rng = new Random(9);
        int k = 24, m = 18, n = 50;
        var input = Random(rng, k * n);
        var weight = Random(rng, m * k);
        var bias = Random(rng, m);
        var gamma = Random(rng, k);
        var beta = Random(rng, k);
        var encoded = QuantizedWeights.Encode(weight, k, m);
        var expected = new float[m * n];
        var actual = new float[m * n];
        var best = QuantizedGemm.Best;
        QuantizedPointwise.RunPath<Silu>(best, QuantizedPointwise.Norm.None, input, default, default, 0f, encoded, bias, expected, k, m, n, default, null);
        QuantizedPointwise.Run<Silu>(input, encoded, bias, actual, k, m, n);
        AssertBits(expected, actual, "Run");
        QuantizedPointwise.RunPath<Identity>(best, QuantizedPointwise.Norm.Layer, input, gamma, beta, 1e-5f, encoded, bias, expected, k, m, n, default, null);
        QuantizedPointwise.RunLayerNormed<Identity>(input, gamma, beta, 1e-5f, encoded, bias, actual, k, m, n);
        AssertBits(expected, actual, "RunLayerNormed");
        QuantizedPointwise.RunPath<Relu>(best, QuantizedPointwise.Norm.Group, input, gamma, beta, 1e-5f, encoded, bias, expected, k, m, n, default, null);
        QuantizedPointwise.RunGroupNormed<Relu>(input, gamma, beta, 1e-5f, encoded, bias, actual, k, m, n);
        AssertBits(expected, actual, "RunGroupNormed");
    }

    [Fact]
    public void InputMayBeTheOutput()
    {
        var rng = new Random(3);
        int c = 20, n = 37;
        var input = Random(rng, c * n);
        var encoded = QuantizedWeights.Encode(Random(rng, c * c), c, c);
        var bias = Random(rng, c);
        var expected = new float[c * n];
        QuantizedPointwise.Run<Silu>(input, encoded, bias, expected, c, c, n);
        var inPlace = (float[])input.Clone();
        QuantizedPointwise.Run<Silu>(inPlace, encoded, bias, inPlace, c, c, n);
        AssertBits(expected, inPlace, "in place");
    }

    [Fact]
    public void EmptyBiasIsZero()
    {
        var rng = new Random(4);
        int k = 9, m = 10, n = 19;
        var input = Random(rng, k * n);
        var encoded = QuantizedWeights.Encode(Random(rng, m * k), k, m);
        var expected = new float[m * n];
        var actual = new float[m * n];
        QuantizedPointwise.Run<Identity>(input, encoded, new float[m], expected, k, m, n);
        QuantizedPointwise.Run<Identity>(input, encoded, default, actual, k, m, n);
        AssertBits(expected, actual, "empty bias");
    }

    [Fact]
    public void EncodedWeightsRoundTrip()
    {
        var rng = new Random(8);
        foreach (var (k, m) in new[] { (1, 1), (13, 11), (64, 24), (3, 9) })
        {
            var weight = Random(rng, m * k, 2f);
            var quantized = QuantizedWeights.Quantize(weight, k, m);
            var encoded = QuantizedWeights.Encode(weight, k, m);
            Assert.Equal(QuantizedWeights.EncodedLength(k, m), encoded.Length);
            Assert.Equal(2 * m + QuantizedWeights.PackedLength(k, m) / 4, encoded.Length);
            // The documented layout: scales, row sums (int32 bits), packed bytes.
            for (int row = 0; row < m; row++)
            {
                Assert.Equal(quantized.Scales[row], encoded[row]);
                Assert.Equal(quantized.RowSums[row], BitConverter.SingleToInt32Bits(encoded[m + row]));
            }
            var decoded = QuantizedWeights.Decode(encoded, k, m);
            Assert.Equal((k, m), (decoded.K, decoded.M));
            Assert.True(quantized.Packed.AsSpan().SequenceEqual(decoded.Packed), $"packed bytes {k}x{m}");
            Assert.True(quantized.Scales.AsSpan().SequenceEqual(decoded.Scales), $"scales {k}x{m}");
            Assert.True(quantized.RowSums.AsSpan().SequenceEqual(decoded.RowSums), $"row sums {k}x{m}");
            Assert.True(encoded.AsSpan().SequenceEqual(decoded.ToEncoded()), $"re-encoded {k}x{m}");
        }
    }

    [Fact]
    public void SteadyStateCallsDoNotAllocate()
    {
        var rng = new Random(6);
        int k = 32, m = 24, n = 300;
        var input = Random(rng, k * n);
        var gamma = Random(rng, k);
        var beta = Random(rng, k);
        var encoded = QuantizedWeights.Encode(Random(rng, m * k), k, m);
        var bias = Random(rng, m);
        var output = new float[m * n];
        using var pool = new WorkerPool(2);
        for (int round = 0; round < 2; round++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            QuantizedPointwise.Run<Silu>(input, encoded, bias, output, k, m, n, pool: pool);
            QuantizedPointwise.RunLayerNormed<Silu>(input, gamma, beta, 1e-5f, encoded, bias, output, k, m, n, output, pool);
            QuantizedPointwise.RunGroupNormed<Relu>(input, gamma, beta, 1e-5f, encoded, bias, output, k, m, n, default, pool);
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            if (round == 1) Assert.Equal(0L, allocated);
        }
    }

    [Fact]
    public void ArgumentErrors()
    {
        int k = 8, m = 5, n = 6;
        var input = new float[k * n];
        var encoded = new float[QuantizedWeights.EncodedLength(k, m)];
        var bias = new float[m];
        var output = new float[m * n];
        var gamma = new float[k];
        Assert.Throws<ArgumentException>(() => QuantizedPointwise.Run<Identity>(input.AsSpan(1), encoded, bias, output, k, m, n));
        Assert.Throws<ArgumentException>(() => QuantizedPointwise.Run<Identity>(input, encoded.AsSpan(1), bias, output, k, m, n));
        Assert.Throws<ArgumentException>(() => QuantizedPointwise.Run<Identity>(input, new float[encoded.Length + 1], bias, output, k, m, n));
        Assert.Throws<ArgumentException>(() => QuantizedPointwise.Run<Identity>(input, QuantizedWeights.Encode(new float[k * m], m, k), bias, output, k, m, n));
        Assert.Throws<ArgumentException>(() => QuantizedPointwise.Run<Identity>(input, encoded, bias.AsSpan(1), output, k, m, n));
        Assert.Throws<ArgumentException>(() => QuantizedPointwise.Run<Identity>(input, encoded, bias, output.AsSpan(1), k, m, n));
        Assert.Throws<ArgumentException>(() => QuantizedPointwise.Run<Identity>(input, encoded, bias, output, k, m, n, new float[m * n - 1]));
        Assert.Throws<ArgumentException>(() => QuantizedPointwise.RunLayerNormed<Identity>(input, gamma.AsSpan(1), gamma, 1e-5f, encoded, bias, output, k, m, n));
        Assert.Throws<ArgumentException>(() => QuantizedPointwise.RunGroupNormed<Identity>(input, gamma, gamma.AsSpan(1), 1e-5f, encoded, bias, output, k, m, n));
        Assert.Throws<ArgumentOutOfRangeException>(() => QuantizedPointwise.Run<Identity>(input, encoded, bias, output, 0, m, n));
        Assert.Throws<ArgumentException>(() => QuantizedWeights.Decode(encoded.AsSpan(1), k, m));
        // Nothing to compute: no pixels or no output channels.
        QuantizedPointwise.Run<Identity>(default, default, default, default, k, m, 0);
        QuantizedPointwise.Run<Identity>(default, default, default, default, k, 0, n);
    }
}
