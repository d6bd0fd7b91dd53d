using MobileViT.Compiled.Kernels.Reference;

namespace MobileViT.Compiled.Kernels;

/// <summary>Depthwise k x k convolution (groups = channels) with zero padding, stride 1 or 2, any dilation.</summary>
public static class DepthwiseConv2D
{
    public static void Run<TAct>(ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        Span<float> output, int channels, int inHeight, int inWidth, int kernelSize, int stride, int padding, int dilation)
        where TAct : struct, IActivation
        => ReferenceKernels.DepthwiseConv2D<TAct>(input, weight, bias, output, channels, inHeight, inWidth, kernelSize, stride, padding, dilation);
}
