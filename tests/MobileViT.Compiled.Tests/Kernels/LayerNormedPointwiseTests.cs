using MobileViT.Compiled.Kernels;
using MobileViT.Compiled.Kernels.Reference;
using MobileViT.Compiled.Threading;
using static MobileViT.Compiled.Tests.Kernels.KernelTestUtil;

namespace MobileViT.Compiled.Tests.Kernels;

/// <summary>LayerNorm fused into the 1x1 convolution's input packing, against the reference LayerNorm then 1x1.</summary>
public class LayerNormedPointwiseTests
{
    public static TheoryData<string> Isas => AllIsas;

    private static void Check<TAct>(Isa isa, int cin, int cout, int pixels, bool inPlaceResidual, Random rng, float offset = 0f)
        where TAct : struct, IActivation
    {
        var input = Random(rng, cin * pixels);
        for (int i = 0; i < input.Length; i++) input[i] += offset; // a mean far from 0 tests the corrected variance
        var gamma = Random(rng, cin);
        var beta = Random(rng, cin);
        var weight = Random(rng, cin * cout);
        var bias = Random(rng, cout);
        var normalized = new float[cin * pixels];
        ReferenceKernels.LayerNormChannels(input, gamma, beta, normalized, cin, pixels, 1e-5f);
        var res = inPlaceResidual ? Random(rng, cout * pixels) : Array.Empty<float>();
        var expected = new float[cout * pixels];
        ReferenceKernels.PointwiseConv<TAct>(normalized, weight, bias, expected, cin, cout, pixels, res);
        var packed = PointwiseConv.PackWeights(weight, cin, cout);
        var actual = inPlaceResidual ? (float[])res.Clone() : new float[cout * pixels];
        PointwiseConv.RunLayerNormedIsa<TAct>(input, gamma, beta, 1e-5f, packed, bias, actual, cin, cout, pixels,
            inPlaceResidual ? actual : default, isa);
        AssertClose(expected, actual, 4 * ReductionTol(cin), $"{isa} {typeof(TAct).Name} cin={cin} cout={cout} p={pixels} res={inPlaceResidual} offset={offset}");
    }

    [Theory]
    [MemberData(nameof(Isas))]
    public void PixelTailsChannelCountsAndResiduals(string isaName)
    {
        // 1-4 pixels (the tiny-N path), partial blocks of 1-3 vectors, several chunks; channels 1..96.
        var isa = Parse(isaName);
        var rng = new Random(70);
        int n = 0;
        foreach (int pixels in new[] { 1, 3, 4, 5, 16, 17, 47, 48, 49, 100, 257, 1100 })
        foreach (var (cin, cout) in new[] { (1, 3), (8, 8), (13, 24), (64, 192), (96, 40) })
        {
            n++;
            if (n % 2 == 0) Check<Silu>(isa, cin, cout, pixels, false, rng);
            else Check<Identity>(isa, cin, cout, pixels, n % 3 == 0, rng);
        }
        Check<Identity>(isa, 80, 16, 64, false, rng, offset: 100f);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void ThreadsGiveBitwiseTheSameResult(int threads)
    {
        using var pool = new WorkerPool(threads);
        var rng = new Random(71);
        foreach (var (cin, cout, pixels) in new[] { (64, 192, 1024), (144, 288, 256), (96, 192, 64), (80, 80, 4), (240, 480, 17) })
        {
            var input = Random(rng, cin * pixels);
            var gamma = Random(rng, cin);
            var beta = Random(rng, cin);
            var packed = PointwiseConv.PackWeights(Random(rng, cin * cout), cin, cout);
            var bias = Random(rng, cout);
            var serial = new float[cout * pixels];
            var parallel = new float[cout * pixels];
            PointwiseConv.RunLayerNormed<Silu>(input, gamma, beta, 1e-5f, packed, bias, serial, cin, cout, pixels);
            PointwiseConv.RunLayerNormed<Silu>(input, gamma, beta, 1e-5f, packed, bias, parallel, cin, cout, pixels, default, pool);
            Assert.True(serial.AsSpan().SequenceEqual(parallel), $"{cin}->{cout} p={pixels}: {threads} threads differ from 1");
        }
    }
}
