using MobileViT.Compiled.Kernels.Reference;

namespace MobileViT.Compiled.Kernels;

/// <summary>Dense k x k convolution with zero padding (the stem, the MobileViT block's local and fusion convolutions).</summary>
public static class Conv2D
{
    /// <summary>Scratch floats <see cref="Run{TAct}"/> needs: inChannels * k * k * outHeight * outWidth (the generator uses the same formula).</summary>
    public static int ScratchLength(int inChannels, int kernelSize, int outHeight, int outWidth)
        => inChannels * kernelSize * kernelSize * outHeight * outWidth;

    /// <summary>Repacks a [outC, inC, k, k] weight into the layout <see cref="Run{TAct}"/> reads. Called once at load.</summary>
    public static float[] PackWeights(ReadOnlySpan<float> weight, int inChannels, int outChannels, int kernelSize) => weight.ToArray();

    public static void Run<TAct>(ReadOnlySpan<float> input, ReadOnlySpan<float> packedWeight, ReadOnlySpan<float> bias,
        Span<float> output, int inChannels, int inHeight, int inWidth, int outChannels,
        int kernelSize, int stride, int padding, int dilation, Span<float> scratch)
        where TAct : struct, IActivation
        => ReferenceKernels.Conv2D<TAct>(input, packedWeight, bias, output, inChannels, inHeight, inWidth, outChannels,
            kernelSize, stride, padding, dilation);
}
