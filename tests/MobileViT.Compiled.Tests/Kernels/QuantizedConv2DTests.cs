using MobileViT.Compiled.Kernels;
using MobileViT.Compiled.Kernels.Reference;
using MobileViT.Compiled.Threading;
using static MobileViT.Compiled.Tests.Kernels.KernelTestUtil;

namespace MobileViT.Compiled.Tests.Kernels;

/// <summary>
/// The int8 k x k convolution (<see cref="QuantizedConv2D"/>: quantize, unfold, int8 GEMM) against its plain twin
/// (<see cref="ReferenceKernels.QuantizedConv2D{TAct}"/>): bit for bit with the identity and ReLU, whichever unfolding
/// path, GEMM path and thread count; SiLU to its vector form's rounding.
/// </summary>
public class QuantizedConv2DTests
{
    public static TheoryData<int, int, int, int, int, int, int, int> Shapes => new()
    {
        // inC, H, W, outC, k, stride, padding, dilation
        { 3, 8, 8, 5, 3, 1, 1, 1 },
        { 48, 32, 32, 48, 3, 1, 1, 1 },     // conv_kxk of mobilevit-xx-small's third stage
        { 96, 8, 8, 24, 3, 1, 1, 1 },       // rows of 8 pixels: two rows per 16-pixel tile
        { 5, 7, 9, 11, 3, 1, 1, 1 },        // rows shorter than a vector and not a multiple of one: the scalar unfolding
        { 7, 13, 10, 9, 3, 2, 1, 1 },       // stride 2
        { 16, 32, 32, 8, 3, 1, 6, 6 },      // DeepLabV3's ASPP: dilation 6
        { 6, 12, 12, 10, 3, 1, 12, 12 },    // dilation past the map: rows of padding only
        { 9, 6, 6, 17, 1, 1, 0, 1 },        // 1x1 through the unfolding
        { 4, 9, 9, 6, 5, 1, 2, 1 },         // 5x5
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void MatchesReference_Identity(int inC, int h, int w, int outC, int k, int stride, int padding, int dilation)
        => Check<Identity>(inC, h, w, outC, k, stride, padding, dilation, exact: true);

    [Theory]
    [MemberData(nameof(Shapes))]
    public void MatchesReference_Relu(int inC, int h, int w, int outC, int k, int stride, int padding, int dilation)
        => Check<Relu>(inC, h, w, outC, k, stride, padding, dilation, exact: true);

    [Theory]
    [MemberData(nameof(Shapes))]
    public void MatchesReference_Silu(int inC, int h, int w, int outC, int k, int stride, int padding, int dilation)
        => Check<Silu>(inC, h, w, outC, k, stride, padding, dilation, exact: false);

    /// <summary>An all-zero input (scale 1, zero point 0) and constant ones: negative (zero point 254, the padding at the top of the range) and positive.</summary>
    [Theory]
    [InlineData(0f)]
    [InlineData(-3f)]
    [InlineData(5f)]
    public void ConstantInputs(float value)
    {
        const int inC = 4, h = 6, w = 8, outC = 3;
        var input = Enumerable.Repeat(value, inC * h * w).ToArray();
        var weight = Random(new Random(5), outC * inC * 9);
        var bias = Random(new Random(6), outC);
        Compare<Identity>(input, weight, bias, inC, h, w, outC, 3, 1, 1, 1, exact: true, threads: 1, vector: true);
    }

    [Fact]
    public void ShortSpansAreRefused()
    {
        var encoded = QuantizedWeights.Encode(new float[4 * 2 * 9], 2 * 9, 4);
        var scratch = new float[QuantizedConv2D.ScratchLength(2, 4, 4, 3, 1, 16)];
        Assert.Throws<ArgumentException>(() => QuantizedConv2D.Run<Identity>(new float[2 * 16 - 1], encoded, default, new float[4 * 16], 2, 4, 4, 4, 3, 1, 1, 1, scratch));
        Assert.Throws<ArgumentException>(() => QuantizedConv2D.Run<Identity>(new float[2 * 16], encoded, default, new float[4 * 16 - 1], 2, 4, 4, 4, 3, 1, 1, 1, scratch));
        Assert.Throws<ArgumentException>(() => QuantizedConv2D.Run<Identity>(new float[2 * 16], encoded, default, new float[4 * 16], 2, 4, 4, 4, 3, 1, 1, 1, scratch.AsSpan(1)));
        Assert.Throws<ArgumentException>(() => QuantizedConv2D.Run<Identity>(new float[2 * 16], encoded.AsSpan(1), default, new float[4 * 16], 2, 4, 4, 4, 3, 1, 1, 1, scratch));
    }

    private static void Check<TAct>(int inC, int h, int w, int outC, int k, int stride, int padding, int dilation, bool exact)
        where TAct : struct, IActivation
    {
        var rng = new Random(inC * 1000 + h * 10 + k + stride + dilation);
        var input = Random(rng, inC * h * w, 2f);
        for (int i = 0; i < input.Length; i += 3) input[i] = MathF.Abs(input[i]) * 4f; // a skewed range, as after SiLU
        var weight = Random(rng, outC * inC * k * k, 0.3f);
        var bias = Random(rng, outC);
        foreach (bool vector in new[] { false, true })
            foreach (int threads in new[] { 1, 2 })
                Compare<TAct>(input, weight, bias, inC, h, w, outC, k, stride, padding, dilation, exact, threads, vector);
    }

    private static void Compare<TAct>(float[] input, float[] weight, float[] bias, int inC, int h, int w, int outC, int k,
        int stride, int padding, int dilation, bool exact, int threads, bool vector)
        where TAct : struct, IActivation
    {
        int outH = (h + 2 * padding - dilation * (k - 1) - 1) / stride + 1, outW = (w + 2 * padding - dilation * (k - 1) - 1) / stride + 1;
        var expected = new float[outC * outH * outW];
        ReferenceKernels.QuantizedConv2D<TAct>(input, weight, bias, expected, inC, h, w, outC, k, stride, padding, dilation);
        var encoded = QuantizedWeights.Encode(weight, inC * k * k, outC);
        var scratch = new float[QuantizedConv2D.ScratchLength(inC, h, w, k, padding, outH * outW)];
        scratch.AsSpan().Fill(float.NaN); // nothing may read scratch it did not write
        var actual = new float[expected.Length];
        using var pool = new WorkerPool(threads);
        QuantizedConv2D.RunPath<TAct>(input, encoded, bias, actual, inC, h, w, outC, k, stride, padding, dilation, scratch,
            threads == 1 ? null : pool, vector);
        string context = $"{typeof(TAct).Name} {inC}x{h}x{w} -> {outC} k{k} s{stride} p{padding} d{dilation}, {threads} thread(s), {(vector ? "vector" : "scalar")} unfolding";
        if (exact) Assert.True(expected.AsSpan().SequenceEqual(actual), context + ": differs from the reference");
        else AssertClose(expected, actual, 1e-5f * Math.Max(1f, expected.Max(MathF.Abs)), context);
    }
}
