using MobileViT.Compiled.Kernels;
using MobileViT.Compiled.Threading;
using static MobileViT.Compiled.Tests.Kernels.KernelTestUtil;

namespace MobileViT.Compiled.Tests.Kernels;

/// <summary>
/// Single-group GroupNorm fused into the 1x1 convolution's input packing, against GroupNorm.SingleGroup then the 1x1
/// (each checked against the reference elsewhere): bitwise the same on every path, for any thread count.
/// </summary>
public class GroupNormedPointwiseTests
{
    public static TheoryData<string> Isas => AllIsas;

    private static void Check<TAct>(Isa isa, int cin, int cout, int pixels, bool inPlaceResidual, Random rng, WorkerPool? pool = null)
        where TAct : struct, IActivation
    {
        var input = Random(rng, cin * pixels);
        for (int i = 0; i < input.Length; i++) input[i] += 3f; // a mean away from 0
        var gamma = Random(rng, cin);
        var beta = Random(rng, cin);
        var packed = PointwiseConv.PackWeights(Random(rng, cin * cout), cin, cout);
        var bias = Random(rng, cout);
        var res = inPlaceResidual ? Random(rng, cout * pixels) : Array.Empty<float>();
        var normalized = new float[cin * pixels];
        GroupNorm.SingleGroup(input, gamma, beta, normalized, cin, pixels, 1e-5f);
        var expected = inPlaceResidual ? (float[])res.Clone() : new float[cout * pixels];
        PointwiseConv.RunIsa<TAct>(normalized, packed, bias, expected, cin, cout, pixels, inPlaceResidual ? expected : default, isa);
        var actual = inPlaceResidual ? (float[])res.Clone() : new float[cout * pixels];
        PointwiseConv.RunGroupNormedIsa<TAct>(input, gamma, beta, 1e-5f, packed, bias, actual, cin, cout, pixels,
            inPlaceResidual ? actual : default, isa, pool);
        Assert.True(expected.AsSpan().SequenceEqual(actual),
            $"{isa} {typeof(TAct).Name} cin={cin} cout={cout} p={pixels} res={inPlaceResidual} pool={pool?.Threads}");
    }

    [Theory]
    [MemberData(nameof(Isas))]
    public void PixelTailsChannelCountsAndResiduals(string isaName)
    {
        // 1-4 pixels (the tiny-N path), partial blocks of 1-3 vectors, several chunks.
        var isa = Parse(isaName);
        var rng = new Random(80);
        int n = 0;
        foreach (int cin in new[] { 1, 3, 8, 17 })
        foreach (int p in new[] { 1, 2, 4, 5, 15, 16, 17, 33, 48, 49, 97, 800 })
        {
            if (n++ % 2 == 0) Check<Silu>(isa, cin, 9, p, false, rng);
            else Check<Identity>(isa, cin, 13, p, true, rng);
        }
    }

    [Theory]
    [MemberData(nameof(Isas))]
    public void MobileViTV2ShapesOnOneAndTwoThreads(string isaName)
    {
        // The statistics split over threads above 32 K elements; the sums are in block order either way.
        var isa = Parse(isaName);
        var rng = new Random(81);
        using var pool = new WorkerPool(2);
        foreach (var (cin, cout, p) in new[] { (64, 129, 1024), (64, 128, 1024), (96, 192, 256), (128, 256, 64) })
        {
            Check<Identity>(isa, cin, cout, p, false, rng);
            Check<Silu>(isa, cin, cout, p, false, rng, pool);
        }
    }

    [Fact]
    public void TooManyChannelsThrow()
    {
        int cin = PointwiseConv.MaxGroupNormedChannels + 1;
        var packed = PointwiseConv.PackWeights(new float[cin], cin, 1);
        Assert.Throws<ArgumentOutOfRangeException>(() => PointwiseConv.RunGroupNormed<Identity>(new float[cin], new float[cin],
            new float[cin], 1e-5f, packed, default, new float[1], cin, 1, 1));
    }
}
