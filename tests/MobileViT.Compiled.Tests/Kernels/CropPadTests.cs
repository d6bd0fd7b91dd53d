using MobileViT.Compiled.Kernels;
using MobileViT.Compiled.Kernels.Reference;

namespace MobileViT.Compiled.Tests.Kernels;

public class CropPadTests
{
    [Theory]
    [InlineData(1, 3, 3, 2, 2)]
    [InlineData(4, 7, 7, 6, 6)]
    [InlineData(3, 9, 5, 8, 4)]
    [InlineData(2, 4, 4, 4, 4)]
    public void CropAndPadMatchTwins(int channels, int height, int width, int cropHeight, int cropWidth)
    {
        var input = Enumerable.Range(1, channels * height * width).Select(i => (float)i).ToArray();
        var fast = new float[channels * cropHeight * cropWidth];
        var reference = new float[fast.Length];
        CropPad.Crop(input, fast, channels, height, width, cropHeight, cropWidth);
        ReferenceKernels.Crop(input, reference, channels, height, width, cropHeight, cropWidth);
        Assert.Equal(reference, fast);

        var padded = Enumerable.Repeat(float.NaN, input.Length).ToArray(); // stale data must be overwritten
        var paddedReference = new float[input.Length];
        CropPad.Pad(fast, padded, channels, cropHeight, cropWidth, height, width);
        ReferenceKernels.Pad(fast, paddedReference, channels, cropHeight, cropWidth, height, width);
        Assert.Equal(paddedReference, padded);
    }
}
