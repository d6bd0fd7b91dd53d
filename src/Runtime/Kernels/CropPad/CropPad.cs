namespace MobileViT.Compiled.Kernels;

/// <summary>
/// MobileViTV2's unfold/fold when a feature map is not a multiple of the patch size: torch's unfold drops the
/// trailing rows and columns that do not fill a patch, and fold writes zeros there. Crop keeps the top-left
/// region; Pad puts it back into a zeroed map.
/// </summary>
public static class CropPad
{
    /// <summary>
    /// Rows are copied with Span.CopyTo and zeroed with Span.Clear: the runtime's memmove, which copies in SIMD blocks
    /// of at least 16 bytes wherever Vector128 is accelerated. Read by <see cref="KernelInfo"/>.
    /// </summary>
    internal static Isa Tier => System.Runtime.Intrinsics.Vector128.IsHardwareAccelerated ? Isa.Vector128 : Isa.Scalar;

    public static void Crop(ReadOnlySpan<float> input, Span<float> output, int channels, int inHeight, int inWidth, int outHeight, int outWidth)
    {
        for (int c = 0; c < channels; c++)
            for (int y = 0; y < outHeight; y++)
                input.Slice((c * inHeight + y) * inWidth, outWidth).CopyTo(output.Slice((c * outHeight + y) * outWidth, outWidth));
    }

    public static void Pad(ReadOnlySpan<float> input, Span<float> output, int channels, int inHeight, int inWidth, int outHeight, int outWidth)
    {
        output[..(channels * outHeight * outWidth)].Clear();
        for (int c = 0; c < channels; c++)
            for (int y = 0; y < inHeight; y++)
                input.Slice((c * inHeight + y) * inWidth, inWidth).CopyTo(output.Slice((c * outHeight + y) * outWidth, inWidth));
    }
}
