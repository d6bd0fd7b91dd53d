using MobileViT.Compiled.Kernels.Reference;

namespace MobileViT.Compiled.Kernels;

/// <summary>Fully connected layer on one vector (the classifier head).</summary>
public static class Linear
{
    public static void Run(ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        Span<float> output, int inFeatures, int outFeatures)
        => ReferenceKernels.Linear(input, weight, bias, output, inFeatures, outFeatures);
}
