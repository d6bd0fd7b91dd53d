using MobileViT.Compiled.Kernels;
using MobileViT.Compiled.Kernels.Reference;
using static MobileViT.Compiled.Tests.Kernels.KernelTestUtil;

namespace MobileViT.Compiled.Tests.Kernels;

public class Conv2DTests
{
    public static TheoryData<string> Isas => AllIsas;

    private static void Check<TAct>(Isa isa, int cin, int cout, int h, int w, int k, int s, int pad, int dil, bool useScratch, Random rng)
        where TAct : struct, IActivation
    {
        int oh = ReferenceKernels.ConvOutputSize(h, k, s, pad, dil), ow = ReferenceKernels.ConvOutputSize(w, k, s, pad, dil);
        if (oh <= 0 || ow <= 0) return;
        var input = Random(rng, cin * h * w);
        var weight = Random(rng, cout * cin * k * k);
        var bias = Random(rng, cout);
        var expected = new float[cout * oh * ow];
        ReferenceKernels.Conv2D<TAct>(input, weight, bias, expected, cin, h, w, cout, k, s, pad, dil);
        var actual = new float[cout * oh * ow];
        var scratch = useScratch ? new float[Conv2D.ScratchLength(cin, k, oh, ow)] : Array.Empty<float>();
        Conv2D.RunIsa<TAct>(input, Conv2D.PackWeights(weight, cin, cout, k), bias, actual, cin, h, w, cout, k, s, pad, dil, scratch, isa);
        AssertClose(expected, actual, ReductionTol(cin * k * k),
            $"{isa} {typeof(TAct).Name} cin={cin} cout={cout} {h}x{w} k={k} s={s} p={pad} d={dil}");
    }

    [Theory]
    [MemberData(nameof(Isas))]
    public void StridesPaddingsDilationsAndTails(string isaName)
    {
        var isa = Parse(isaName);
        var rng = new Random(10);
        int n = 0;
        foreach (int k in new[] { 1, 3, 5 })
        foreach (int s in new[] { 1, 2 })
        foreach (int dil in new[] { 1, 2 })
        foreach (int pad in new[] { 0, 1, 2 })
        foreach (var (h, w) in new[] { (1, 1), (2, 3), (5, 4), (7, 9), (8, 8), (3, 13), (11, 6) })
        foreach (var (cin, cout) in new[] { (1, 1), (3, 16), (2, 9), (5, 3) })
        {
            n++;
            if (n % 2 == 0) Check<Silu>(isa, cin, cout, h, w, k, s, pad, dil, n % 3 == 0, rng);
            else Check<Identity>(isa, cin, cout, h, w, k, s, pad, dil, n % 3 == 0, rng);
        }
    }

    [Theory]
    [MemberData(nameof(Isas))]
    public void DirectKernelWidthsAndChannelGroups(string isaName)
    {
        // At most 32 taps and a row of at least one vector take the direct kernel: output widths past the vector width
        // with partial last vectors, 1-3 input channels, 5x5 and dilated taps, output channels in partial groups of 8.
        var isa = Parse(isaName);
        var rng = new Random(33);
        int n = 0;
        foreach (var (cin, k) in new[] { (3, 3), (1, 3), (2, 3), (1, 5) })
        foreach (int s in new[] { 1, 2 })
        foreach (int dil in new[] { 1, 2 })
        foreach (int w in new[] { 16, 17, 33, 40, 71 })
        foreach (int cout in new[] { 1, 8, 13 })
        {
            n++;
            int pad = n % 3;
            if (n % 2 == 0) Check<Silu>(isa, cin, cout, 5 + n % 4, w, k, s, pad, dil, n % 3 == 0, rng);
            else Check<Identity>(isa, cin, cout, 5 + n % 4, w, k, s, pad, dil, n % 3 == 0, rng);
        }
    }

    [Theory]
    [MemberData(nameof(Isas))]
    public void RowSegmentKernelWidthsPaddingsDilations(string isaName)
    {
        // Stride-1 3x3 with rows of two vectors or more takes the row-segment kernel (32 registers): equal segments of
        // 2-3 vectors with a partial last one, every padding, dilations up to DeepLab's 6, partial weight panels.
        var isa = Parse(isaName);
        var rng = new Random(34);
        int n = 0;
        foreach (int w in new[] { 32, 33, 47, 64, 65, 100 })
        foreach (int dil in new[] { 1, 2, 6 })
        foreach (int pad in new[] { 0, 1, 2, 6 })
        foreach (var (cin, cout) in new[] { (4, 8), (5, 13), (7, 3) })
        {
            n++;
            int h = 3 + n % 4;
            if (ReferenceKernels.ConvOutputSize(h, 3, 1, pad, dil) <= 0 || ReferenceKernels.ConvOutputSize(w, 3, 1, pad, dil) <= 0) continue;
            if (n % 2 == 0) Check<Silu>(isa, cin, cout, h + 2 * dil, w, 3, 1, pad, dil, n % 3 == 0, rng);
            else Check<Identity>(isa, cin, cout, h + 2 * dil, w, 3, 1, pad, dil, n % 3 == 0, rng);
        }
    }

    [Theory]
    [MemberData(nameof(Isas))]
    public void PaddedMapKernelRowWidthsPaddingsDilations(string isaName)
    {
        // Stride-1 3x3 with rows of at most one vector takes the padded-map kernel (32 registers): rows of 1-16 pixels
        // (8-lane vectors up to 8), 1-3 rows per tile, paddings up to past the taps' reach, dilations whose reach
        // (2 d + a vector) is wider than the padded row, partial weight panels.
        var isa = Parse(isaName);
        var rng = new Random(35);
        int n = 0;
        foreach (int w in new[] { 1, 3, 4, 7, 8, 9, 12, 15, 16 })
        foreach (int dil in new[] { 1, 2, 3 })
        foreach (int pad in new[] { 0, 1, 3 })
        foreach (var (cin, cout) in new[] { (4, 8), (5, 13), (9, 3) })
        {
            n++;
            int h = 1 + n % 8;
            if (ReferenceKernels.ConvOutputSize(h, 3, 1, pad, dil) <= 0 || ReferenceKernels.ConvOutputSize(w, 3, 1, pad, dil) <= 0) continue;
            if (n % 2 == 0) Check<Silu>(isa, cin, cout, h, w, 3, 1, pad, dil, n % 3 == 0, rng);
            else Check<Identity>(isa, cin, cout, h, w, 3, 1, pad, dil, n % 3 == 0, rng);
        }
    }

    [Theory]
    [MemberData(nameof(Isas))]
    public void RealShapes(string isaName)
    {
        var isa = Parse(isaName);
        var rng = new Random(11);
        Check<Silu>(isa, 3, 16, 256, 256, 3, 2, 1, 1, true, rng);     // stem
        Check<Silu>(isa, 96, 96, 32, 32, 3, 1, 1, 1, true, rng);      // MobileViT block local conv
        Check<Silu>(isa, 256, 128, 16, 16, 3, 1, 1, 1, false, rng);   // fusion conv 2C -> C
        Check<Silu>(isa, 320, 160, 8, 8, 3, 1, 1, 1, true, rng);
        Check<Silu>(isa, 128, 64, 16, 16, 3, 1, 1, 1, true, rng);
        Check<Relu>(isa, 160, 160, 32, 32, 3, 1, 2, 2, true, rng);    // dilated (DeepLab)
    }
}
