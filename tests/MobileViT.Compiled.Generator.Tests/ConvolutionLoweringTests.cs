using MobileViT.Compiled.Generator.Lowering;
using MobileViT.Compiled.Generator.Model;
using MobileViT.Compiled.Kernels;

namespace MobileViT.Compiled.Generator.Tests;

/// <summary>Which dense convolutions the lowering runs by Winograd F(2x2, 3x3), and the scratch it plans for them.</summary>
public class ConvolutionLoweringTests
{
    [Theory]
    [InlineData(3, 1, 1, 96, 96, 32, 32, true)]     // local conv
    [InlineData(3, 1, 1, 320, 160, 8, 8, true)]     // fusion conv at 8x8: 16 tiles
    [InlineData(3, 1, 1, 160, 80, 7, 7, true)]      // 224x224 input: 7x7, 16 tiles with clipped edges
    [InlineData(3, 1, 1, 128, 64, 4, 4, false)]     // 4 tiles: slower than the direct kernels
    [InlineData(3, 1, 1, 160, 80, 6, 6, false)]     // 9 tiles
    [InlineData(3, 2, 1, 3, 16, 128, 128, false)]   // the stem: strided
    [InlineData(3, 1, 6, 160, 256, 32, 32, false)]  // DeepLab ASPP: dilated
    [InlineData(3, 1, 1, 8, 96, 32, 32, false)]     // few input channels
    [InlineData(3, 1, 1, 96, 8, 32, 32, false)]     // few output channels
    [InlineData(5, 1, 1, 96, 96, 32, 32, false)]
    public void WinogradOnlyForStrideOneUndilated3x3WithAVectorOfTiles(int k, int stride, int dilation, int inC, int outC, int outH, int outW, bool expected)
        => Assert.Equal(expected, NetworkBuilder.UsesWinograd(k, stride, dilation, inC, outC, new Shape(outC, outH, outW)));

    [Theory]
    [InlineData(96, 32, 32, 1)]
    [InlineData(320, 8, 8, 1)]
    [InlineData(160, 7, 7, 1)]
    [InlineData(17, 13, 9, 0)]
    [InlineData(16, 12, 30, 2)]
    [InlineData(96, 64, 64, 1)]     // 1024 tiles: no room for the shared transformed input
    [InlineData(48, 34, 32, 1)]     // 272 tiles
    public void PlannedScratchIsTheRuntimes(int inC, int h, int w, int padding)
    {
        int outH = h + 2 * padding - 2, outW = w + 2 * padding - 2;
        var step = new LayerStep(0, OpKind.WinogradConv2D, "", "f", WeightKind.Plain, default, 0, -1, 1,
            new Shape(inC, h, w), new Shape(32, outH, outW), 3, 1, padding, 1, "Identity", 0, 0, 0, 0);
        Assert.Equal(WinogradConv2D.ScratchLength(inC, h, w, padding), MemoryPlanner.WinogradScratch(step));
    }

    [Theory]
    [InlineData(96, 32, 32, 3, 1, 1, 1)]
    [InlineData(320, 8, 8, 3, 1, 1, 1)]
    [InlineData(160, 32, 32, 3, 1, 6, 6)]   // DeepLab ASPP
    [InlineData(7, 13, 10, 3, 2, 1, 1)]
    [InlineData(5, 7, 9, 5, 1, 2, 1)]
    public void PlannedInt8ScratchIsTheRuntimes(int inC, int h, int w, int k, int stride, int padding, int dilation)
    {
        int outH = (h + 2 * padding - dilation * (k - 1) - 1) / stride + 1, outW = (w + 2 * padding - dilation * (k - 1) - 1) / stride + 1;
        var step = new LayerStep(0, OpKind.Conv2D, "", "f", WeightKind.Plain, default, 0, -1, 1,
            new Shape(inC, h, w), new Shape(32, outH, outW), k, stride, padding, dilation, "Identity", 0, 0, 0, 0, Int8: true);
        Assert.Equal(QuantizedConv2D.ScratchLength(inC, h, w, k, padding, outH * outW), MemoryPlanner.QuantizedConvScratch(step));
    }
}
