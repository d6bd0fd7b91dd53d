using MobileViT.Compiled.Kernels;
using MobileViT.Compiled.Kernels.Reference;

namespace MobileViT.Compiled.Tests.Kernels;

public class ResizeBilinearTests
{
    [Theory]
    [InlineData(3, 7, 7, 8, 8)]      // a 224x224 input's last stage, up to the patch multiple
    [InlineData(3, 8, 8, 7, 7)]      // and back
    [InlineData(2, 1, 1, 32, 32)]    // the ASPP pooling branch: a broadcast
    [InlineData(4, 5, 9, 6, 10)]
    [InlineData(1, 13, 3, 4, 17)]
    [InlineData(2, 15, 15, 16, 16)]
    [InlineData(3, 16, 16, 32, 32)]  // 2x upsampling: each resampled input row serves two output rows
    [InlineData(2, 33, 40, 9, 11)]   // downsampling: rows skipped
    public void MatchesReferenceTwin(int channels, int inH, int inW, int outH, int outW)
    {
        var random = new Random(channels * 1000 + inH * 31 + outW);
        var input = new float[channels * inH * inW];
        for (int i = 0; i < input.Length; i++) input[i] = random.NextSingle() * 2 - 1;
        var reference = new float[channels * outH * outW];
        ReferenceKernels.ResizeBilinear(input, reference, channels, inH, inW, outH, outW);
        // The public entry point (this machine's path), then each path: bitwise the reference's arithmetic.
        var fast = new float[reference.Length];
        ResizeBilinear.Run(input, fast, channels, inH, inW, outH, outW);
        Assert.Equal(reference, fast);
        foreach (var isa in new[] { Isa.Scalar, Isa.Vector128 })
        {
            var actual = new float[reference.Length];
            ResizeBilinear.RunIsa(input, actual, channels, inH, inW, outH, outW, isa);
            Assert.Equal(reference, actual);
        }
    }

    [Fact]
    public void HalfPixelCentresAsTorch()
    {
        // torch: F.interpolate(torch.tensor([[[[0., 1.]]]]), size=(1, 4), mode="bilinear", align_corners=False)
        // -> [0, 0.25, 0.75, 1]
        var output = new float[4];
        ResizeBilinear.Run(new float[] { 0, 1 }, output, 1, 1, 2, 1, 4);
        Assert.Equal(new[] { 0f, 0.25f, 0.75f, 1f }, output);
    }

    [Fact]
    public void SameSizeIsIdentity()
    {
        var input = Enumerable.Range(0, 2 * 5 * 6).Select(i => (float)i).ToArray();
        var output = new float[input.Length];
        ResizeBilinear.Run(input, output, 2, 5, 6, 5, 6);
        Assert.Equal(input, output);
    }
}
