using MobileViT.Compiled.Kernels;
using MobileViT.Compiled.Kernels.Reference;
using MobileViT.Compiled.Threading;
using static MobileViT.Compiled.Tests.Kernels.KernelTestUtil;

namespace MobileViT.Compiled.Tests.Kernels;

/// <summary>Winograd F(2x2, 3x3) against the plain reference convolution: every path, tile tails, paddings, partial panels.</summary>
public class WinogradConv2DTests
{
    public static TheoryData<string> Isas => AllIsas;

    private static void Check<TAct>(Isa isa, int cin, int cout, int h, int w, int pad, Random rng, WorkerPool? pool = null, bool noBias = false,
        bool forceMr4 = false)
        where TAct : struct, IActivation
    {
        int oh = ReferenceKernels.ConvOutputSize(h, 3, 1, pad, 1), ow = ReferenceKernels.ConvOutputSize(w, 3, 1, pad, 1);
        if (oh <= 0 || ow <= 0) return;
        var input = Random(rng, cin * h * w);
        var weight = Random(rng, cout * cin * 9);
        var bias = noBias ? [] : Random(rng, cout);
        var expected = new float[cout * oh * ow];
        ReferenceKernels.Conv2D<TAct>(input, weight, noBias ? new float[cout] : bias, expected, cin, h, w, cout, 3, 1, pad, 1);
        // Poisoned output and scratch: every output element must be written, and nothing may depend on stale scratch.
        var actual = Enumerable.Repeat(float.NaN, cout * oh * ow).ToArray();
        var scratch = Enumerable.Repeat(float.NaN, WinogradConv2D.ScratchLength(cin, h, w, pad)).ToArray();
        WinogradConv2D.RunIsa<TAct>(input, WinogradConv2D.PackWeights(weight, cin, cout), bias, actual, cin, h, w, cout, pad, scratch, isa, pool, forceMr4);
        // The transforms add up to 4x4 inputs before the products, so allow a few times the direct sum's rounding.
        AssertClose(expected, actual, 4 * ReductionTol(cin * 9), $"{isa} {typeof(TAct).Name} cin={cin} cout={cout} {h}x{w} p={pad}");
    }

    [Theory]
    [MemberData(nameof(Isas))]
    public void MapSizesPaddingsAndChannelTails(string isaName)
    {
        // Odd and even output sizes (clipped last tile row and column), rows of 1-40 tiles (the 4-, 8- and 16-lane
        // transform vectors, segments spanning chunks), paddings 0-2, output channels in partial panels of 8.
        var isa = Parse(isaName);
        var rng = new Random(40);
        int n = 0;
        foreach (var (h, w) in new[] { (3, 3), (4, 4), (5, 7), (8, 8), (9, 6), (7, 16), (10, 17), (16, 16), (6, 33), (12, 80) })
        foreach (int pad in new[] { 0, 1, 2 })
        foreach (var (cin, cout) in new[] { (1, 1), (5, 13), (16, 8), (9, 17) })
        {
            n++;
            // Every third case on the 4 x 3-vector microkernels of 16-register targets (plain AVX2, SSE).
            if (n % 2 == 0) Check<Silu>(isa, cin, cout, h, w, pad, rng, noBias: n % 5 == 0, forceMr4: n % 3 == 0);
            else Check<Identity>(isa, cin, cout, h, w, pad, rng, forceMr4: n % 3 == 0);
        }
    }

    [Theory]
    [MemberData(nameof(Isas))]
    public void RealShapes(string isaName)
    {
        var isa = Parse(isaName);
        var rng = new Random(41);
        Check<Silu>(isa, 96, 96, 32, 32, 1, rng);     // mobilevit-small local conv
        Check<Silu>(isa, 192, 96, 32, 32, 1, rng);    // its fusion conv 2C -> C
        Check<Silu>(isa, 256, 128, 16, 16, 1, rng);
        Check<Silu>(isa, 320, 160, 8, 8, 1, rng);
        Check<Silu>(isa, 160, 80, 7, 7, 1, rng);      // 224x224 input: 7x7 last stage
        Check<Silu>(isa, 128, 64, 64, 64, 1, rng);    // DeepLab's 64x64 stage
        Check<Silu>(isa, 96, 96, 32, 32, 1, rng, forceMr4: true);
    }

    public static TheoryData<int> ThreadCounts => new() { 2, 3 };

    [Theory]
    [MemberData(nameof(ThreadCounts))]
    public void ThreadsGiveBitwiseTheSameResult(int threads)
    {
        // 32x32 and 8x8: output-channel groups on the input transformed once; 34x34 (289 tiles) at 2 threads: groups
        // that transform their own chunk; 64x64: chunks only.
        using var pool = new WorkerPool(threads);
        var rng = new Random(42);
        foreach (var (cin, cout, h, w) in new[] { (96, 96, 32, 32), (256, 128, 16, 16), (320, 160, 8, 8), (7, 13, 9, 11), (160, 80, 7, 7), (64, 64, 64, 64), (40, 24, 34, 34) })
        {
            var input = Random(rng, cin * h * w);
            var packed = WinogradConv2D.PackWeights(Random(rng, cout * cin * 9), cin, cout);
            var bias = Random(rng, cout);
            var scratch = new float[WinogradConv2D.ScratchLength(cin, h, w, 1)];
            var serial = new float[cout * h * w];
            var parallel = new float[cout * h * w];
            WinogradConv2D.Run<Silu>(input, packed, bias, serial, cin, h, w, cout, 1, scratch);
            WinogradConv2D.Run<Silu>(input, packed, bias, parallel, cin, h, w, cout, 1, scratch, pool);
            for (int i = 0; i < serial.Length; i++)
                if (BitConverter.SingleToInt32Bits(serial[i]) != BitConverter.SingleToInt32Bits(parallel[i]))
                    Assert.Fail($"{cin}->{cout} {h}x{w} at {threads} threads: element {i}: {serial[i]} vs {parallel[i]}");
        }
    }

    [Fact]
    public void ShortSpansThrow()
    {
        var packed = WinogradConv2D.PackWeights(new float[4 * 2 * 9], 2, 4);
        var input = new float[2 * 5 * 5];
        var output = new float[4 * 5 * 5];
        var scratch = new float[WinogradConv2D.ScratchLength(2, 5, 5, 1)];
        Assert.Throws<ArgumentException>(() => WinogradConv2D.Run<Identity>(input, packed, [], output, 2, 5, 5, 4, 1, scratch.AsSpan(1)));
        Assert.Throws<ArgumentException>(() => WinogradConv2D.Run<Identity>(input.AsSpan(1), packed, [], output, 2, 5, 5, 4, 1, scratch));
        Assert.Throws<ArgumentException>(() => WinogradConv2D.Run<Identity>(input, packed.AsSpan(1), [], output, 2, 5, 5, 4, 1, scratch));
        Assert.Throws<ArgumentException>(() => WinogradConv2D.Run<Identity>(input, packed, [], output.AsSpan(1), 2, 5, 5, 4, 1, scratch));
        Assert.Throws<ArgumentException>(() => WinogradConv2D.PackWeights(new float[10], 2, 4));
    }
}
