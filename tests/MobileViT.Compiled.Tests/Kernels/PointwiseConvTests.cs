using MobileViT.Compiled.Kernels;
using MobileViT.Compiled.Kernels.Reference;
using static MobileViT.Compiled.Tests.Kernels.KernelTestUtil;

namespace MobileViT.Compiled.Tests.Kernels;

public class PointwiseConvTests
{
    public static TheoryData<string> Isas => AllIsas;

    private static void Check<TAct>(Isa isa, bool mr4, int cin, int cout, int pixels, int residualMode, Random rng)
        where TAct : struct, IActivation
    {
        var input = Random(rng, cin * pixels);
        var weight = Random(rng, cin * cout);
        var bias = Random(rng, cout);
        var res = residualMode == 0 ? Array.Empty<float>() : Random(rng, cout * pixels);
        var expected = new float[cout * pixels];
        ReferenceKernels.PointwiseConv<TAct>(input, weight, bias, expected, cin, cout, pixels, res);
        var packed = PointwiseConv.PackWeights(weight, cin, cout);
        float[] actual;
        if (residualMode == 2)
        {
            actual = (float[])res.Clone(); // in-place residual: residual aliases output
            PointwiseConv.RunIsa<TAct>(input, packed, bias, actual, cin, cout, pixels, actual, isa, mr4);
        }
        else
        {
            actual = new float[cout * pixels];
            PointwiseConv.RunIsa<TAct>(input, packed, bias, actual, cin, cout, pixels, res, isa, mr4);
        }
        AssertClose(expected, actual, ReductionTol(cin), $"{isa} mr4={mr4} {typeof(TAct).Name} cin={cin} cout={cout} p={pixels} res={residualMode}");
    }

    [Theory]
    [MemberData(nameof(Isas))]
    public void AllTails(string isaName)
    {
        var isa = Parse(isaName);
        var rng = new Random(1);
        int[] cins = { 1, 2, 3, 5, 8, 13, 17 };
        int n = 0;
        foreach (bool mr4 in new[] { false, true })
        foreach (int cin in cins)
        for (int cout = 1; cout <= 20; cout++)
        for (int p = 1; p <= 70; p++, n++)
        {
            switch (n % 3)
            {
                case 0: Check<Identity>(isa, mr4, cin, cout, p, n % 5 % 3, rng); break;
                case 1: Check<Silu>(isa, mr4, cin, cout, p, n % 7 % 3, rng); break;
                default: Check<Relu>(isa, mr4, cin, cout, p, n % 4 % 3, rng); break;
            }
        }
    }

    [Theory]
    [MemberData(nameof(Isas))]
    public void SeveralChunksWithTails(string isaName)
    {
        // Chunks hold up to 16 blocks of 3 vectors (fewer for long reductions): cover several chunks, a partial last
        // chunk and a partial last block inside it, for short and long K.
        var isa = Parse(isaName);
        var rng = new Random(4);
        foreach (var (cin, cout, p) in new[] { (3, 9, 1601), (16, 17, 2000), (100, 24, 1000), (700, 11, 333), (1500, 8, 150) })
        {
            Check<Silu>(isa, false, cin, cout, p, 0, rng);
            Check<Identity>(isa, false, cin, cout, p, 1, rng);
        }
    }

    [Theory]
    [MemberData(nameof(Isas))]
    public void RealShapes(string isaName)
    {
        var isa = Parse(isaName);
        var rng = new Random(2);
        (int cin, int cout, int p)[] shapes =
        {
            (16, 32, 16384), (144, 288, 1024), (96, 384, 64), (640, 640, 1), (320, 640, 16), (144, 432, 256),
            (64, 256, 4096), (240, 960, 64), (160, 640, 64), (32, 64, 4096),
        };
        foreach (var (cin, cout, p) in shapes)
        {
            if (isa == Isa.Scalar && (long)cin * cout * p > 20_000_000) continue; // keep the scalar path's runtime sane
            Check<Silu>(isa, false, cin, cout, p, 0, rng);
            Check<Identity>(isa, false, cin, cout, p, 2, rng);
        }
    }

    [Fact]
    public void EmptyBiasMeansZero()
    {
        var rng = new Random(3);
        var input = Random(rng, 5 * 33);
        var weight = Random(rng, 5 * 9);
        var expected = new float[9 * 33];
        ReferenceKernels.PointwiseConv<Identity>(input, weight, new float[9], expected, 5, 9, 33, default);
        var actual = new float[9 * 33];
        PointwiseConv.Run<Identity>(input, PointwiseConv.PackWeights(weight, 5, 9), default, actual, 5, 9, 33);
        AssertClose(expected, actual, 1e-5f, "empty bias");
    }

    [Theory]
    [MemberData(nameof(Isas))]
    public void InputOverlappingTheOutputIsPackedFirst(string isaName)
    {
        // Whole blocks are normally read in place from the input; when the output overwrites the input (K == M, the
        // same buffer), every chunk must still be packed before its outputs are stored.
        var isa = Parse(isaName);
        var rng = new Random(12);
        foreach (var (channels, pixels) in new[] { (16, 1000), (40, 200), (8, 4096) })
        {
            var input = Random(rng, channels * pixels);
            var packed = PointwiseConv.PackWeights(Random(rng, channels * channels), channels, channels);
            var bias = Random(rng, channels);
            var expected = new float[channels * pixels];
            PointwiseConv.RunIsa<Silu>(input, packed, bias, expected, channels, channels, pixels, default, isa);
            var inPlace = (float[])input.Clone();
            PointwiseConv.RunIsa<Silu>(inPlace, packed, bias, inPlace, channels, channels, pixels, default, isa);
            for (int i = 0; i < expected.Length; i++)
                if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(inPlace[i]))
                    Assert.Fail($"{isa} {channels}x{pixels} in place: element {i}: {expected[i]} vs {inPlace[i]}");
        }
    }
}
