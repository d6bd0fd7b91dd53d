namespace MobileViT.Compiled.Kernels.Reference;

public static partial class ReferenceKernels
{
    /// <summary>The top-left outHeight x outWidth region of every channel.</summary>
    public static void Crop(ReadOnlySpan<float> input, Span<float> output, int channels, int inHeight, int inWidth, int outHeight, int outWidth)
    {
        for (int c = 0; c < channels; c++)
        for (int y = 0; y < outHeight; y++)
        for (int x = 0; x < outWidth; x++)
            output[(c * outHeight + y) * outWidth + x] = input[(c * inHeight + y) * inWidth + x];
    }

    /// <summary>Every channel placed at the top-left of a zeroed outHeight x outWidth map.</summary>
    public static void Pad(ReadOnlySpan<float> input, Span<float> output, int channels, int inHeight, int inWidth, int outHeight, int outWidth)
    {
        for (int c = 0; c < channels; c++)
        for (int y = 0; y < outHeight; y++)
        for (int x = 0; x < outWidth; x++)
            output[(c * outHeight + y) * outWidth + x] = y < inHeight && x < inWidth ? input[(c * inHeight + y) * inWidth + x] : 0f;
    }
}
