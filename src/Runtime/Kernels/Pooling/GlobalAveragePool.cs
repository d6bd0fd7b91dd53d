using MobileViT.Compiled.Kernels.Reference;

namespace MobileViT.Compiled.Kernels;

/// <summary>Mean over the pixels of each channel.</summary>
public static class GlobalAveragePool
{
    public static void Run(ReadOnlySpan<float> input, Span<float> output, int channels, int pixels)
        => ReferenceKernels.GlobalAveragePool(input, output, channels, pixels);
}
