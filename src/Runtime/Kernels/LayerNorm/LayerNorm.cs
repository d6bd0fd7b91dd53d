using MobileViT.Compiled.Kernels.Reference;

namespace MobileViT.Compiled.Kernels;

/// <summary>LayerNorm over the channels of every pixel of a channel-major map (each pixel is a transformer token).</summary>
public static class LayerNorm
{
    public static void Channels(ReadOnlySpan<float> input, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta,
        Span<float> output, int channels, int pixels, float epsilon)
        => ReferenceKernels.LayerNormChannels(input, gamma, beta, output, channels, pixels, epsilon);
}
