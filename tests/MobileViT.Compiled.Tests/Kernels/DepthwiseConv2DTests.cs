using MobileViT.Compiled.Kernels;
using MobileViT.Compiled.Kernels.Reference;
using static MobileViT.Compiled.Tests.Kernels.KernelTestUtil;

namespace MobileViT.Compiled.Tests.Kernels;

public class DepthwiseConv2DTests
{
    public static TheoryData<string> Isas => AllIsas;

    private static void Check<TAct>(Isa isa, int c, int h, int w, int k, int s, int pad, int dil, Random rng)
        where TAct : struct, IActivation
    {
        int oh = ReferenceKernels.ConvOutputSize(h, k, s, pad, dil), ow = ReferenceKernels.ConvOutputSize(w, k, s, pad, dil);
        if (oh <= 0 || ow <= 0) return;
        var input = Random(rng, c * h * w);
        var weight = Random(rng, c * k * k);
        var bias = Random(rng, c);
        var expected = new float[c * oh * ow];
        ReferenceKernels.DepthwiseConv2D<TAct>(input, weight, bias, expected, c, h, w, k, s, pad, dil);
        var actual = new float[c * oh * ow];
        DepthwiseConv2D.RunIsa<TAct>(input, weight, bias, actual, c, h, w, k, s, pad, dil, isa);
        AssertClose(expected, actual, 1e-5f, $"{isa} {typeof(TAct).Name} c={c} {h}x{w} k={k} s={s} p={pad} d={dil}");
    }

    [Theory]
    [MemberData(nameof(Isas))]
    public void AllWidthsStridesDilations(string isaName)
    {
        var isa = Parse(isaName);
        var rng = new Random(20);
        int n = 0;
        foreach (int k in new[] { 3, 1, 5 })
        foreach (int s in new[] { 1, 2 })
        foreach (int dil in new[] { 1, 2, 4 })
        foreach (int pad in new[] { dil * (k - 1) / 2, 0 })
        for (int w = 1; w <= 40; w++)
        foreach (int h in new[] { 1, 2, 5, 9 })
        {
            n++;
            if (n % 2 == 0) Check<Silu>(isa, 2, h, w, k, s, pad, dil, rng);
            else Check<Identity>(isa, 3, h, w, k, s, pad, dil, rng);
        }
    }

    /// <summary>
    /// 3x3 rows long enough for the two-vectors-per-iteration loops of every path, with a one-vector and a partial
    /// remainder after them (stride 1 and 2, and stride 2 with dilation 2, which shares the stride 1 tap layout).
    /// </summary>
    [Theory]
    [MemberData(nameof(Isas))]
    public void WideRows3x3(string isaName)
    {
        var isa = Parse(isaName);
        var rng = new Random(22);
        foreach (var (s, dil) in new[] { (1, 1), (2, 1), (2, 2) })
        foreach (int ow in new[] { 31, 32, 33, 47, 48, 49, 63, 64, 65, 80, 97 })
        foreach (int h in new[] { 3, 8 })
        {
            int w = (ow - 1) * s + 1; // with padding = dilation: ow output columns
            Check<Silu>(isa, 2, h, w, 3, s, dil, dil, rng);
        }
    }

    /// <summary>
    /// Rows of whole half vectors (padding 1, no dilation) take the in-place row kernel with AVX-512: widths 8-128 at
    /// stride 1 and 16-128 at stride 2 (a last half vector where width % 16 = 8, resp. % 32 = 16), odd and even heights
    /// (the zero row below the image at stride 2), 1-row maps.
    /// </summary>
    [Theory]
    [MemberData(nameof(Isas))]
    public void WholeVectorRows(string isaName)
    {
        var isa = Parse(isaName);
        var rng = new Random(23);
        foreach (int s in new[] { 1, 2 })
        foreach (int w in new[] { 8, 16, 24, 32, 40, 48, 64, 96, 128 })
        foreach (int h in new[] { 1, 2, 3, 4, 7, 16 })
        {
            if (s == 2 && w % 16 != 0) continue;
            Check<Silu>(isa, 3, h, w, 3, s, 1, 1, rng);
            Check<Identity>(isa, 2, h, w, 3, s, 1, 1, rng);
        }
    }

    [Fact]
    public void WholeVectorRowKernelEqualsTheGeneralKernel()
    {
        // The row kernel sums the taps in the general kernel's order: with AVX-512 (its only path) it matches the
        // 8-lane general kernel bit for bit.
        if (!System.Runtime.Intrinsics.X86.Avx512F.VL.IsSupported) return;
        var rng = new Random(24);
        foreach (var (c, h, w, s) in new[]
        {
            (5, 16, 16, 1), (4, 9, 64, 1), (6, 16, 32, 2), (3, 7, 128, 2), (4, 8, 8, 1), (3, 5, 24, 1), (5, 16, 16, 2), (3, 9, 48, 2),
        })
        {
            int oh = (h - 1) / s + 1, ow = (w - 1) / s + 1;
            var input = Random(rng, c * h * w);
            var weight = Random(rng, c * 9);
            var bias = Random(rng, c);
            var rows = new float[c * oh * ow];
            var general = new float[c * oh * ow];
            DepthwiseConv2D.RunIsa<Silu>(input, weight, bias, rows, c, h, w, 3, s, 1, 1, Isa.Vector512);
            DepthwiseConv2D.RunIsa<Silu>(input, weight, bias, general, c, h, w, 3, s, 1, 1, Isa.Vector256);
            Assert.True(rows.AsSpan().SequenceEqual(general), $"{c}x{h}x{w} s{s}");
        }
    }

    [Theory]
    [MemberData(nameof(Isas))]
    public void RealShapes(string isaName)
    {
        var isa = Parse(isaName);
        var rng = new Random(21);
        Check<Silu>(isa, 64, 128, 128, 3, 1, 1, 1, rng);
        Check<Silu>(isa, 128, 128, 128, 3, 2, 1, 1, rng);
        Check<Silu>(isa, 256, 64, 64, 3, 2, 1, 1, rng);
        Check<Silu>(isa, 384, 32, 32, 3, 1, 1, 1, rng);
        Check<Silu>(isa, 512, 32, 32, 3, 1, 2, 2, rng);
        Check<Silu>(isa, 640, 32, 32, 3, 1, 4, 4, rng);
        Check<Silu>(isa, 640, 8, 8, 3, 1, 1, 1, rng);
        Check<Relu>(isa, 4, 600, 700, 3, 2, 1, 1, rng); // wide rows: heap row buffer
    }
}
